"""A parsed post -> the bytes members receive. Pure."""

from __future__ import annotations

import base64
import quopri
import re
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from html import escape
from io import BytesIO

from listserv.mail.message import ListInfo
from listserv.mail.parse import message_ids
from listserv.mail.permalinks import permalink
from listserv.outbound.footer import add_footer
from listserv.outbound.headers import apply_list_headers
from listserv.render import Footer

MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
UNENCODED = ("", "7bit", "8bit", "binary")
LINE_END = re.compile(r"\r\n|\r|\n")  # what the email package's generator splits on
BYTES_LINE_END = re.compile(rb"\r\n|\r|\n")


class WirePolicy(policy.Compat32):
    """compat32, but every header line ends in CRLF, fits in 998 octets and continues its field.

    compat32 writes raw 8-bit header values as they came, folds and all, and
    cannot fold a value without spaces; this fixes up what it wrote.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if self.unchanged(name, value):  # most headers: what compat32 and the fix-up below would write
            return f"{name}: {value}\r\n".encode("ascii", "surrogateescape")
        lines = [line for line in BYTES_LINE_END.split(super().fold_binary(name, value)) if line.strip()]
        out: list[bytes] = []
        for index, line in enumerate(lines):
            if index and line[:1] not in (b" ", b"\t"):
                line = b" " + line  # a line break inside a value must not start a new field
            out += cut_header_line(line)
        return b"".join(line + b"\r\n" for line in out)

    def unchanged(self, name: str, value: str) -> bool:
        """A short printable ASCII value without edge spaces: compat32 writes it as it is, unfolded."""
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            return False
        size = len(name) + 2 + len(value)
        limit = min(MAX_LINE, self.max_line_length or MAX_LINE)
        return value[:1] not in ("", " ") and value[-1] != " " and size <= limit


WIRE = WirePolicy(linesep="\r\n")


def cut_header_line(line: bytes) -> list[bytes]:
    """Fold a line over 998 octets at spaces, or hard (never inside a UTF-8 sequence) if it has none."""
    pieces: list[bytes] = []
    start, lead = 0, b""
    while len(lead) + len(line) - start > MAX_LINE:
        end = start + MAX_LINE - len(lead)
        at = max(line.rfind(b" ", start + 1, end + 1), line.rfind(b"\t", start + 1, end + 1))
        if at > start:
            pieces.append(lead + line[start:at])
            start, lead = at, b""
            continue
        while end > start + 1 and 0x80 <= line[end] < 0xC0:
            end -= 1
        pieces.append(lead + line[start:end])
        start, lead = end, b" "
    pieces.append(lead + line[start:])
    return pieces


def serialize(message: Message) -> bytes:
    """CRLF everywhere (a final one included), no line over 998 octets, no From_ mangling."""
    for part in message.walk():
        if part.is_multipart():
            part.preamble, part.epilogue = opaque_text(part.preamble), opaque_text(part.epilogue)
        elif part.get_content_maintype() == "multipart":
            # no boundary found: the generator writes this payload out verbatim
            part.set_payload(opaque_text(str(part.get_payload())) or "")
        else:
            encode_long_lines(part)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=MAX_LINE, policy=WIRE).flatten(message)
    data = out.getvalue()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def opaque_text(text: str | None) -> str | None:
    """Text no reader displays (preamble, epilogue, a broken multipart): CRLF lines of at most 998."""
    if text is None:
        return None
    lines = LINE_END.split(text)
    return "\r\n".join(line[i : i + MAX_LINE] for line in lines for i in range(0, len(line) or 1, MAX_LINE))


def encode_long_lines(part: Message) -> None:
    """Re-encode a part with lines over 998 octets: quoted-printable for text, else base64."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    data = part.get_payload(decode=True)  # for an unencoded part, the octets the generator writes
    if not isinstance(data, bytes):
        return
    # get_payload() without decode=True would decode 8-bit text with its charset: count octets instead
    written = data if encoding in UNENCODED else str(part.get_payload()).encode("utf-8", "surrogateescape")
    if all(len(line) <= MAX_LINE for line in BYTES_LINE_END.split(written)):
        return
    del part["Content-Transfer-Encoding"]
    if part.get_content_maintype() == "text" and encoding != "base64":
        part.set_payload(quopri.encodestring(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "quoted-printable"
    else:
        part.set_payload(base64.encodebytes(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "base64"


def decorate(message: Message, lst: ListInfo, footer: Footer) -> bytes:
    apply_list_headers(message, lst)
    ids = message_ids(message.get("Message-ID", ""))
    link = permalink(footer.archive, ids[0]) if ids else ""
    text, html = footer.text, footer.html
    if link:  # RFC 5064, and the same link for readers
        message["Archived-At"] = f"<{link}>"
        text = f"{text}Archived at {link}\n"
        html = (
            f'{html}<p style="font-size:smaller;color:#555">Archived at <a href="{escape(link)}">{escape(link)}</a></p>'
        )
    return serialize(add_footer(message, text, html))
