"""What a post shares: links (text and HTML parts), attached documents, DOIs and ISBNs,
each with the sentence its author wrote around it. Pure.

Quoted text is left out (a reply that quotes a link does not share it again). URLs are
deduplicated by their normalised form (normalise_url): tracking parameters, fragments and
default ports dropped, scheme and host in lower case, nothing else reordered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import Message
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from listserv.mail.text import body_parts, decode_part, html_to_text
from listserv.moderation.approve import own_lines

MAX_URL = 2000  # longer links are not kept (and would not fit the unique key)
MAX_SAID = 400
MAX_ITEMS = 50  # per post: a link farm is not a library
TRACKING = frozenset({"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
                      "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
                      "ref_src", "spm", "si"})  # fmt: skip
DEFAULT_PORTS = {"http": 80, "https": 443}
URL = re.compile(r"""\bhttps?://[^\s<>"'`{}|\\^\[\]]+""", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)")
DOI_HOSTS = ("doi.org", "dx.doi.org", "www.doi.org")
ISBN = re.compile(r"\bISBN(?:-1[03])?:?\s*((?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dXx])\b")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n\s*\n")
DOCUMENT_TYPES = frozenset({
    "application/pdf", "application/msword", "application/rtf", "application/epub+zip", "text/csv",
    "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "text/markdown",
})  # fmt: skip
DOCUMENT_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".odt", ".ods", ".odp", ".ppt", ".pptx", ".xls", ".xlsx", ".epub",
                     ".rtf", ".csv", ".md", ".txt")  # fmt: skip


class Kind(StrEnum):
    LINK = "link"
    DOCUMENT = "document"
    DOI = "doi"
    ISBN = "isbn"


@dataclass(frozen=True)
class Found:
    """One resource a post shares. `key` identifies it within a list (the dedup key)."""

    kind: Kind
    key: str
    url: str  # where it is: the normalised link, https://doi.org/DOI, "" for ISBNs and documents
    label: str  # the document's filename, the DOI, the ISBN-13, or the link as written
    said: str  # the sentence around it, as the author wrote it
    part: int = -1  # a document's MIME part (walk order), for a link to the archive's download
    size: int = 0
    content_type: str = ""


# -- URLs ------------------------------------------------------------------------------------------


def normalise_url(url: str) -> str | None:
    """The form two links to the same page share, or None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host or len(url) > MAX_URL:
        return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" + ("" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}")
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not tracking(k)]
    query = urlencode(kept, quote_via=quote, safe="/:@!$'()*,;") if kept else ""
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith(("utm_", "pk_", "mtm_")) or name in TRACKING


def doi_of_url(url: str) -> str | None:
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in DOI_HOSTS and DOI.match(unquote(parts.path.lstrip("/"))):
        return unquote(parts.path.lstrip("/"))
    return None


# -- ISBNs -----------------------------------------------------------------------------------------


def isbn13(text: str) -> str | None:
    """The ISBN-13 of an ISBN-10 or -13 with a valid check digit, else None."""
    digits = re.sub(r"[\s-]", "", text).upper()
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        values = [int(c) for c in digits[:9]] + [10 if digits[9] == "X" else int(digits[9])]
        if sum((10 - i) * v for i, v in enumerate(values)) % 11:
            return None
        digits = "978" + digits[:9]
        return digits + str((10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10) % 10)
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        if sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10 == 0:
            return digits
    return None


# -- the sentence around a resource ----------------------------------------------------------------


def sentence_around(text: str, needle: str) -> str:
    """The sentence of `text` holding `needle`, without it (the previous one when it stands alone)."""
    at = text.find(needle)
    if at < 0 or not needle:
        return ""
    sentences = [(m.start(), m.end()) for m in SENTENCE_END.finditer(text)]
    starts = [0] + [end for _, end in sentences]
    ends = [start for start, _ in sentences] + [len(text)]
    index = max(i for i, start in enumerate(starts) if start <= at)
    said = tidy(text[starts[index] : ends[index]].replace(needle, " "))
    if len(said) < 3 and index > 0:
        said = tidy(text[starts[index - 1] : ends[index - 1]])
    return said[:MAX_SAID]


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", URL.sub(" ", text.replace("<>", ""))).strip(" :-–—<>()")
    return text if re.search(r"\w", text) else ""


# -- reading a message -----------------------------------------------------------------------------


class Hrefs(HTMLParser):
    """The links of an HTML part, outside quoted blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote":
            self.quoted += 1
        elif tag == "a" and not self.quoted:
            href = dict(attrs).get("href") or ""
            if href.lower().startswith(("http://", "https://")):
                self.links.append(href.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote" and self.quoted:
            self.quoted -= 1


def own_text(text: str) -> str:
    """The lines the author wrote (quotes, attributions and signature left out)."""
    return "\n".join(own_lines(text))


def own_words_and_links(message: Message) -> tuple[str, list[str]]:
    """The post's own text (first text part, quotes and signature left out) and its links in order."""
    text, links, html_links = "", [], []
    for part in body_parts(message):
        kind = part.get_content_type()
        if kind == "text/plain" and not text:
            text = own_text(decode_part(part))
        elif kind == "text/html":
            parser = Hrefs()
            html = decode_part(part)
            parser.feed(html)
            html_links += parser.links
            text = text or own_text(html_to_text(html, keep_quotes=False))
    links = [m.group(0).rstrip(TRAILING) for m in URL.finditer(text)]
    return text, links + html_links


def harvest(message: Message) -> tuple[Found, ...]:
    """Every resource the post shares, first mention first, each once."""
    text, links = own_words_and_links(message)
    found: dict[str, Found] = {}
    attached = (replace(d, said=sentence_around(text, d.label)) for d in documents(message))
    for item in [*from_links(text, links), *from_text(text), *attached]:
        if item.key not in found and len(found) < MAX_ITEMS:
            found[item.key] = item
    return tuple(found.values())


def from_links(text: str, links: list[str]) -> Iterator[Found]:
    for link in links:
        doi = doi_of_url(link)
        if doi is not None:
            yield Found(Kind.DOI, f"doi:{doi.lower()}", f"https://doi.org/{doi}", doi, sentence_around(text, link))
            continue
        url = normalise_url(link)
        if url is not None:
            yield Found(Kind.LINK, url, url, link, sentence_around(text, link))


def from_text(text: str) -> Iterator[Found]:
    bare = URL.sub(" ", text)  # DOIs inside links were read from the links
    for match in DOI.finditer(bare):
        doi = match.group(1).rstrip(TRAILING)
        yield Found(Kind.DOI, f"doi:{doi.lower()}", f"https://doi.org/{doi}", doi, sentence_around(text, doi))
    for match in ISBN.finditer(text):
        number = isbn13(match.group(1))
        if number is not None:
            yield Found(Kind.ISBN, f"isbn:{number}", "", number, sentence_around(text, match.group(0)))


def documents(message: Message) -> Iterator[Found]:
    """Attached documents (by content type or filename), keyed by their content's SHA-256."""
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        kind = part.get_content_type()
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        document = kind in DOCUMENT_TYPES or kind.startswith(DOCUMENT_PREFIXES)
        if not name or disposition == "inline" or not (document or name.lower().endswith(DOCUMENT_SUFFIXES)):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        digest = hashlib.sha256(payload).hexdigest()
        yield Found(Kind.DOCUMENT, f"sha256:{digest}", "", name[:255], "", index, len(payload), kind)


def resource_of(text: str) -> Found | None:
    """The resource a command names: a link, a DOI (bare, doi:... or a doi.org link) or an ISBN."""
    text = text.strip().strip("<>")
    doi = doi_of_url(text) or (m.group(1).rstrip(TRAILING) if (m := DOI.match(text.removeprefix("doi:"))) else None)
    if doi:
        return Found(Kind.DOI, f"doi:{doi.lower()}", f"https://doi.org/{doi}", doi, "")
    number = isbn13(text.upper().removeprefix("ISBN").lstrip(":- "))
    if number:
        return Found(Kind.ISBN, f"isbn:{number}", "", number, "")
    url = normalise_url(text)
    return Found(Kind.LINK, url, url, text, "") if url else None
