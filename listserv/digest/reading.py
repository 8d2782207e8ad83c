"""What a digest needs from one post's message: its own text, the links it shares and the
names of its attachments. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from listserv.digest.trim import own_text
from listserv.mail.parse import decode_value
from listserv.mail.text import body_parts, decode_part, message_text

URL = re.compile(r"https?://[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
HREF = re.compile(r"""href\s*=\s*["'](https?://[^"'\s<>]+)["']""", re.IGNORECASE)
BLOCKQUOTE = re.compile(r"<blockquote.*?</blockquote\s*>", re.IGNORECASE | re.DOTALL)
TRAILING = ".,;:!?'\">*_"
IGNORED_FILES = ("signature.asc", "smime.p7s", "winmail.dat")
TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
MAX_LINKS = 50


@dataclass(frozen=True)
class Body:
    text: str  # the author's own words
    links: tuple[str, ...]
    attachments: tuple[str, ...]


def read_body(message: Message) -> Body:
    text = own_text(message_text(message, keep_quotes=False))
    links = list(links_in(text))
    if not any(part.get_content_type() == "text/plain" for part in body_parts(message)):
        for part in body_parts(message):
            if part.get_content_type() == "text/html":
                links += HREF.findall(BLOCKQUOTE.sub(" ", decode_part(part)))
    unique = list(dict.fromkeys(clean_url(link) for link in links))
    return Body(text, tuple(u for u in unique if u)[:MAX_LINKS], attachment_names(message))


def clean_url(url: str) -> str:
    """A URL as found in text, without the punctuation around it (and unbalanced ')')."""
    url = url.strip().rstrip(TRAILING)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(TRAILING)
    return url if len(url) > len("https://x") else ""


def links_in(text: str) -> list[str]:
    return [m.group(0) for m in URL.finditer(text)]


def url_key(url: str) -> str:
    """Two URLs with the same key are the same resource: scheme and host folded, tracking
    parameters, fragment and a trailing slash ignored."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.lower()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith(TRACKING)])  # fmt: skip
    host = (parts.hostname or "").lower().removeprefix("www.")
    return urlunsplit(("https", host, parts.path.rstrip("/"), query, ""))


def attachment_names(message: Message) -> tuple[str, ...]:
    names: list[str] = []
    stack = [message]
    while stack:
        part = stack.pop(0)
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack[0:0] = [p for p in payload if isinstance(p, Message)]
            continue
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        raw_name = part.get_filename()
        if raw_name is None or (disposition == "inline" and part.get_content_maintype() == "text"):
            continue
        name = decode_value(raw_name).replace("/", "_").replace("\\", "_").strip()[:200]
        if name and name.lower() not in IGNORED_FILES:
            names.append(name)
    return tuple(dict.fromkeys(names))
