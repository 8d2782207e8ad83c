"""Mail the list itself writes (notices, help, forwards). Pure."""

from __future__ import annotations

from datetime import datetime
from email.message import Message
from email.utils import formataddr, make_msgid

from listserv.mail.message import ListInfo, ParsedMessage, Role
from listserv.mail.parse import clean_header_value
from listserv.mail.text import inline_text_part
from listserv.outbound.decorate import serialize
from listserv.outbound.headers import encode_value, list_headers, mail_date

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


def address_automatic(message: Message, lst: ListInfo, now: datetime, *, sender: tuple[str, str], to: str,
                      subject: str, loop_marker: str, reply_to: str = "", in_reply_to: str = "", kind: str = "notice",
                      auto: str = "auto-generated", precedence: str = "bulk") -> Message:  # fmt: skip
    """The headers of mail the list writes itself: automatic, list-marked, loop-marked."""
    name = clean_header_value(sender[0])
    message["MIME-Version"] = "1.0"
    message["From"] = formataddr((name, sender[1]))
    if reply_to:
        message["Reply-To"] = formataddr((name, reply_to))
    message["To"] = to
    message["Subject"] = encode_value(subject)
    message["Date"] = mail_date(now)
    message["Message-ID"] = make_msgid(kind, domain=lst.domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["Auto-Submitted"] = auto
    for header, value in list_headers(lst):
        if header not in ("X-BeenThere", "Precedence"):
            message[header] = value
    if precedence:
        message["Precedence"] = precedence  # vacation responders keep quiet
    message["X-BeenThere"] = loop_marker
    return message


def build_notice(lst: ListInfo, to: str, subject: str, text: str, now: datetime, in_reply_to: str = "") -> bytes:
    message = inline_text_part(text)
    del message["Content-Disposition"]
    address_automatic(message, lst, now, sender=(lst.name, lst.service(Role.OWNER)), to=to, subject=subject,
                      loop_marker=lst.service(Role.OWNER), in_reply_to=in_reply_to, auto="auto-replied",
                      precedence="list")  # fmt: skip
    return serialize(message)


def forward_to_facilitators(message: Message, lst: ListInfo) -> bytes:
    """Mail to LIST-owner, passed on unchanged but for a loop marker."""
    message["X-BeenThere"] = lst.service(Role.OWNER)
    return serialize(message)
