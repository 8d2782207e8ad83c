"""What came back to LIST-bounces (pure): a bounce (permanent or temporary, for whom), an
auto-reply, a complaint, or none of these.

- ARF feedback reports (RFC 5965: multipart/report; report-type=feedback-report) are complaints.
- RFC 3834 auto-replies and out-of-office mail are never bounces.
- RFC 3464 delivery-status parts are read field by field (dsn.py); everything else, the many
  non-standard formats, goes to flufl.bounce, Mailman's detector (about 40 MTA dialects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from enum import StrEnum

import flufl.bounce

from listserv.bounces.dsn import RecipientStatus, recipient_statuses, text_statuses
from listserv.mail.addresses import address_problem, normalize_address

AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische)?[ _-]?(reply|response|respons|antwort|answer)|out of (the )?office|away\b|abwesen"
    r"|vacation|absence|on leave|r[ée]ponse automatique|risposta automatica|respuesta autom)",
    re.IGNORECASE,
)
ADDRESS_STATUS = re.compile(r"\b5\.1\.(1|2|3|6|10)\b")
UNKNOWN_USER = re.compile(
    r"(user|mailbox|recipient|address|account)( name)? (is )?(unknown|not found|does not exist|doesn.t exist"
    r"|invalid|unavailable|not exist)|no such (user|mailbox|recipient|address|domain)|unknown (user|recipient|local"
    r"|mailbox)|host (or domain name )?not found|domain (not found|does not exist)|user doesn.t have|invalid recipient",
    re.IGNORECASE,
)
LIST_ID = re.compile(r"<[^<>\s]+>")
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon", "bounce", "bounces")


class ReportKind(StrEnum):
    BOUNCE = "bounce"
    AUTO_REPLY = "auto-reply"
    COMPLAINT = "complaint"
    OTHER = "other"  # not a report we can read: kept, never counted


@dataclass(frozen=True)
class BounceReport:
    kind: ReportKind
    permanent: frozenset[str] = frozenset()
    temporary: frozenset[str] = frozenset()
    hard: frozenset[str] = frozenset()  # permanent, and the address itself is the problem (X.1.x)
    reason: str = ""  # a status code and diagnostic, or why it is not a bounce
    complainant: str = ""  # a complaint: whom the report names (Original-Rcpt-To or the original's To)
    lists: frozenset[str] = frozenset()  # the original's List-Id and X-BeenThere: whose mail it was

    @property
    def failed(self) -> frozenset[str]:
        return self.permanent | self.temporary


def classify(message: Message) -> BounceReport:
    """Complaint, auto-reply, bounce or other, in that order of precedence."""
    if is_feedback_report(message):
        return BounceReport(ReportKind.COMPLAINT, reason=feedback_type(message), complainant=complainant(message),
                            lists=lists_of(original_of(message)))  # fmt: skip
    if is_auto_reply(message):
        return BounceReport(ReportKind.AUTO_REPLY, reason="auto-reply (RFC 3834)")
    statuses = [s for s in recipient_statuses(message) if s.failed]
    if statuses:
        return from_statuses(statuses)
    temporary, permanent = scan(message)
    if permanent or temporary:
        hard = permanent if address_problem_status("", body_text(message)) else frozenset()
        return BounceReport(ReportKind.BOUNCE, permanent, temporary - permanent, hard, "detected by flufl.bounce")
    statuses = [s for s in text_statuses(message) if s.failed]
    if statuses:
        return from_statuses(statuses)
    return BounceReport(ReportKind.OTHER, reason="no failed recipient found")


def from_statuses(statuses: list[RecipientStatus]) -> BounceReport:
    permanent = frozenset(s.address for s in statuses if s.permanent)
    temporary = frozenset(s.address for s in statuses if not s.permanent) - permanent
    hard = frozenset(s.address for s in statuses if s.permanent and address_problem_status(s.status, s.diagnostic))
    first = statuses[0]
    return BounceReport(ReportKind.BOUNCE, permanent, temporary, hard, f"{first.status} {first.diagnostic}".strip())


def address_problem_status(status: str, diagnostic: str) -> bool:
    """The address itself is bad (RFC 3463 X.1.x: no such mailbox or domain, moved), as opposed
    to a full mailbox, a policy block or a spam filter, which say nothing about the address."""
    if status:
        return bool(ADDRESS_STATUS.fullmatch(status)) or bool(UNKNOWN_USER.search(diagnostic))
    return bool(ADDRESS_STATUS.search(diagnostic) or UNKNOWN_USER.search(diagnostic))


def body_text(message: Message, limit: int = 20_000) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload[:limit].decode("utf-8", "replace"))
    return " ".join(texts)[:limit]


def scan(message: Message) -> tuple[frozenset[str], frozenset[str]]:
    """flufl.bounce's (temporary, permanent); its detectors raise on some broken mail: then nothing."""
    try:
        temporary, permanent = flufl.bounce.all_failures(message)
    except Exception:  # third-party heuristics over hostile input: no answer rather than a crash
        return frozenset(), frozenset()
    return addresses(temporary), addresses(permanent)


def addresses(found: Iterable[object]) -> frozenset[str]:
    texts = (item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in found)
    return frozenset(a for a in map(normalize_address, texts) if address_problem(a) is None)  # heuristics misfire


def is_feedback_report(message: Message) -> bool:
    if message.get_content_type() == "multipart/report":
        if str(message.get_param("report-type", "", header="content-type")).lower() == "feedback-report":
            return True
    return any(part.get_content_type() == "message/feedback-report" for part in message.walk())


def part_fields(message: Message, types: tuple[str, ...]) -> Message | None:
    """The header fields a part of one of these types carries (parsed, or read from its text)."""
    for part in message.walk():
        if part.get_content_type() not in types:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):
            return HeaderParser().parsestr(payload.lstrip())
    return None


def feedback_fields(message: Message) -> Message | None:
    """The message/feedback-report part's fields (Feedback-Type, Original-Rcpt-To, ...)."""
    return part_fields(message, ("message/feedback-report",))


def feedback_type(message: Message) -> str:
    fields = feedback_fields(message)
    kind = str(fields.get("Feedback-Type", "")).strip().lower() if fields is not None else ""
    return f"feedback report ({kind or 'abuse'})"


def complainant(message: Message) -> str:
    """Original-Rcpt-To, else the To of the original message the report carries."""
    fields = feedback_fields(message)
    if fields is not None and "@" in str(fields.get("Original-Rcpt-To", "")):
        return normalize_address(str(fields["Original-Rcpt-To"]))
    original = original_of(message)
    return first_address(str(original["To"])) if original is not None and "To" in original else ""


def original_of(message: Message) -> Message | None:
    """The headers of the original message a report carries (message/rfc822 or text/rfc822-headers)."""
    return part_fields(message, ("message/rfc822", "text/rfc822-headers"))


def lists_of(original: Message | None) -> frozenset[str]:
    """`<team.lists.example.org>` from List-Id and `team@lists.example.org` from X-BeenThere, lower case."""
    if original is None:
        return frozenset()
    ids = {match.lower() for value in original.get_all("List-Id", []) for match in LIST_ID.findall(str(value))}
    return frozenset(ids | {normalize_address(str(v)) for v in original.get_all("X-BeenThere", []) if "@" in str(v)})


def first_address(value: str) -> str:
    from email.utils import getaddresses

    found = [address for _, address in getaddresses([value]) if "@" in address]
    return normalize_address(found[0]) if found else ""


def is_auto_reply(message: Message) -> bool:
    """RFC 3834 markers, or a vacation subject, on mail that is not a delivery report from an MTA."""
    if any(True for _ in recipient_statuses(message)) or from_daemon(message):
        return False
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto.startswith("auto-replied")
        or any(name in message for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"))
        or precedence == "auto_reply"
        or bool(AUTO_SUBJECT.match(str(message.get("Subject", ""))))
    )


def from_daemon(message: Message) -> bool:
    sender = first_address(str(message.get("From", ""))) or str(message.get("From", "")).lower()
    local = sender.partition("@")[0]
    return local in DAEMONS or "mailer-daemon" in sender or "mail delivery" in str(message.get("From", "")).lower()


def member_of_tag(tag: str) -> str | None:
    """The VERP tag alice=example.org -> alice@example.org. The last '=' is the '@': domains
    never hold '=', local parts may (a=b=example.org is a=b@example.org)."""
    local, sep, domain = tag.rpartition("=")
    if not sep or not local or "." not in domain or any(c in domain for c in "@ <>"):
        return None
    return normalize_address(f"{local}@{domain}")
