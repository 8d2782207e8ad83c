"""Mail the list itself writes (notices, help, forwards). Pure."""

from __future__ import annotations

from email.message import Message
from email.utils import formataddr, formatdate, make_msgid

from listserv.inbound.parse import clean_header_value
from listserv.message import ListInfo, ParsedMessage, Role
from listserv.outbound.decorate import serialize
from listserv.outbound.footer import footer_part
from listserv.outbound.headers import encode_value, list_headers

AUTOMATIC_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")


def is_automatic_address(address: str) -> bool:
    """Null senders, MTAs' daemons and list service addresses: never to be answered."""
    local = address.strip().strip("<>").rpartition("@")[0].lower()
    return (
        local in ("", "mailer-daemon", "postmaster")
        or local.endswith(("-bounces", "-request", "-owner", "-moderate"))
        or "-bounces+" in local
        or "-moderate+" in local
    )


def may_answer(envelope_sender: str, facts: ParsedMessage) -> bool:
    """Never answer null senders, bounces or automatic mail (RELIABILITY 10).

    Notices go to the From address, so it is checked as well as the envelope's.
    """
    return bool(
        facts.sender
        and not is_automatic_address(envelope_sender)
        and not is_automatic_address(facts.sender)
        and facts.auto_submitted in ("", "no")
        and facts.precedence not in AUTOMATIC_PRECEDENCE
    )


def build_notice(lst: ListInfo, to: str, subject: str, text: str, in_reply_to: str = "") -> bytes:
    message = footer_part(text)
    del message["Content-Disposition"]
    message["MIME-Version"] = "1.0"
    message["From"] = formataddr((clean_header_value(lst.name), lst.service(Role.OWNER)))
    message["To"] = to
    message["Subject"] = encode_value(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid("notice", domain=lst.domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["Auto-Submitted"] = "auto-replied"
    for name, value in list_headers(lst):
        if name not in ("X-BeenThere",):
            message[name] = value
    message["X-BeenThere"] = lst.service(Role.OWNER)
    return serialize(message)


def forward_to_facilitators(message: Message, lst: ListInfo) -> bytes:
    """Mail to LIST-owner, passed on unchanged but for a loop marker."""
    message["X-BeenThere"] = lst.service(Role.OWNER)
    return serialize(message)
