"""Mail to LIST-bounces and LIST-bounces+alice=example.org (VERP): read it, then count it.

Gather (the report, the member the VERP tag names), decide (detect.py), apply (act.py), all in
the worker's transaction. The raw message stays in `inbound` either way.
"""

from __future__ import annotations

import logging

from listserv.bounces.act import count_bounce, unsubscribe_complainant
from listserv.bounces.detect import BounceReport, ReportKind, classify, member_of_tag
from listserv.bounces.tables import BounceKind
from listserv.mail.message import ListInfo
from listserv.membership.mail import scope_of
from listserv.outbound.headers import list_id
from listserv.received import Received

log = logging.getLogger(__name__)


def handle_bounce_report(received: Received) -> int:
    """Count what the report says against members of the list; returns how many were counted."""
    lst, tagged = received.lst, member_of_tag(received.tag) if received.tag else None
    report = classify(received.message)
    log.info("bounce report list=%s inbound=%s kind=%s verp=%s", lst.address, received.inbound.id,
             report.kind.value, "yes" if tagged else "no")  # fmt: skip
    if report.kind is ReportKind.COMPLAINT:
        complainant = tagged or report.complainant
        if not complainant or not (tagged or about_this_list(report, lst)):
            log.info("complaint not acted on list=%s reason=%s", lst.address,
                     "names nobody" if not complainant else "not about this list's mail")  # fmt: skip
            return 0
        return int(unsubscribe_complainant(scope_of(received), complainant, report.reason))
    if report.kind is not ReportKind.BOUNCE:
        return 0
    scope = scope_of(received)
    return sum(count_bounce(scope, email, kind, "report", report.reason) for email, kind in blamed(report, tagged))


def about_this_list(report: BounceReport, lst: ListInfo) -> bool:
    """A complaint without VERP counts only when the original it carries is our list's mail: our
    List-Id or our X-BeenThere. A complaint about someone else's mail unsubscribes nobody here."""
    return bool(report.lists & {list_id(lst), lst.address})


def blamed(report: BounceReport, tagged: str | None) -> list[tuple[str, BounceKind]]:
    """With VERP the tag names the member whatever address the report gives (forwarding); without
    it, each failed recipient of the report, hard when the address itself is bad."""
    if tagged:
        hard = bool(report.hard) and (tagged in report.hard or tagged not in report.failed)
        return [(tagged, BounceKind.HARD if hard else BounceKind.SOFT)]
    return [(email, BounceKind.HARD if email in report.hard else BounceKind.SOFT) for email in sorted(report.failed)]
