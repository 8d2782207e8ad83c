"""A parsed post -> the bytes members receive. Pure."""

from __future__ import annotations

import base64
import quopri
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

from listserv.message import ListInfo
from listserv.outbound.footer import add_footer
from listserv.outbound.headers import apply_list_headers
from listserv.outbound.render import Footer

WIRE = policy.compat32.clone(linesep="\r\n")
MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
UNENCODED = ("", "7bit", "8bit", "binary")


def serialize(message: Message) -> bytes:
    """CRLF everywhere, only over-long header lines refolded, no From_ mangling."""
    for part in message.walk():
        if not part.is_multipart():
            encode_long_lines(part)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=MAX_LINE, policy=WIRE).flatten(message)
    return out.getvalue()


def encode_long_lines(part: Message) -> None:
    """Re-encode an unencoded part with lines over 998 octets (QP for text, else base64)."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    payload = part.get_payload()
    if encoding not in UNENCODED or not isinstance(payload, str):
        return
    if all(len(line) <= MAX_LINE for line in payload.splitlines()):
        return
    data = payload.encode("ascii", "surrogateescape")
    del part["Content-Transfer-Encoding"]
    if part.get_content_maintype() == "text":
        part.set_payload(quopri.encodestring(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "quoted-printable"
    else:
        part.set_payload(base64.encodebytes(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "base64"


def decorate(message: Message, lst: ListInfo, footer: Footer) -> bytes:
    apply_list_headers(message, lst)
    return serialize(add_footer(message, footer.text, footer.html))
