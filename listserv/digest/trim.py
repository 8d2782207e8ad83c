"""A post's own words for an excerpt: quoted text, attributions, signatures and list
footers taken away. Pure.

Built on the reply reader the hold queue uses (moderation.approve.own_lines: quoted
lines, "On ... wrote:" attributions, Outlook's unquoted original under a From:/Sent:
block, "-- " signatures, "Sent from my ..." lines), plus what only a digest meets:
list footers (a line of ten or more underscores, ours and Mailman's), forwarded-message
banners and runs of blank lines. We looked at the reply-trimming libraries on PyPI
(email-reply-parser, talon): neither is kept up any more, so this stays ours.
"""

from __future__ import annotations

import re

from listserv.moderation.approve import own_lines

FOOTER = re.compile(r"^\s*_{10,}\s*$")
MORE_SIGNATURES = re.compile(
    r"^\s*(sent from my \w+|sent from (yahoo|proton|gmail|outlook)|get outlook for \w+|"
    r"sent with proton mail|envoyé de mon \w+|von meinem \w+ gesendet)", re.IGNORECASE)  # fmt: skip
URL_ONLY = re.compile(r"^\s*<?https?://\S+>?\s*$")


def own_text(text: str) -> str:
    """What the author wrote in this post, as lines (blank runs folded to one)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        if FOOTER.match(line) or MORE_SIGNATURES.match(line):
            lines = lines[:index]
            break
    kept = own_lines("\n".join(lines))
    folded: list[str] = []
    for line in kept:
        if not line.strip() and folded and not folded[-1].strip():
            continue
        folded.append(line.rstrip())
    return "\n".join(folded).strip()


def digest_excerpt(text: str, max_chars: int = 320, max_lines: int = 6) -> str:
    """The first lines of a post's own text as one paragraph, cut at a word with an ellipsis."""
    lines = [line.strip() for line in own_text(text).split("\n")]
    words = " ".join(line for line in lines[: max_lines * 2] if line and not line.startswith(">")).split()
    joined = ""
    for word in words:
        if len(joined) + len(word) + 1 > max_chars:
            return joined.rstrip(",;:-") + " …"
        joined = f"{joined} {word}" if joined else word
    more = len([line for line in lines if line]) > max_lines * 2
    return joined + (" …" if more else "")
