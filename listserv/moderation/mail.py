"""Mail to facilitators about held posts: the hold notice (the original attached) and the
short answers to their replies. Pure."""

from __future__ import annotations

from datetime import datetime
from email.message import Message
from email.utils import make_msgid

from listserv.mail.message import ListInfo, Role
from listserv.mail.text import inline_text_part
from listserv.outbound.decorate import serialize
from listserv.outbound.notices import address_automatic


def moderate_address(lst: ListInfo, token: str) -> str:
    """LIST-moderate+TOKEN@domain: where a reply to a hold notice goes."""
    return f"{lst.local_part}-{Role.MODERATE.value}+{token}@{lst.domain}"


def attached_message(original: Message) -> Message:
    """A message/rfc822 part holding the original."""
    part = Message()
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = 'attachment; filename="held-message.eml"'
    part.set_payload([original])
    return part


def build_facilitator_mail(lst: ListInfo, to: str, subject: str, text: str, now: datetime, reply_to: str = "",
                           original: Message | None = None, references: str = "") -> bytes:  # fmt: skip
    """From the list's moderation address (or its owner address), marked automatic.

    With reply_to (a LIST-moderate+TOKEN address) a plain Reply in any client answers it.
    """
    body = inline_text_part(text)
    del body["Content-Disposition"]
    if original is not None:
        message = Message()
        message["Content-Type"] = "multipart/mixed"
        message.set_boundary(make_msgid("part", domain=lst.domain).strip("<>").replace("@", "."))
        body["Content-Disposition"] = "inline"
        message.attach(body)
        message.attach(original)
    else:
        message = body
    address_automatic(message, lst, now, sender=(f"{lst.name} moderation", reply_to or lst.service(Role.OWNER)),
                      to=to, subject=subject, loop_marker=lst.service(Role.OWNER), reply_to=reply_to,
                      in_reply_to=references, kind="moderation")  # fmt: skip
    return serialize(message)
