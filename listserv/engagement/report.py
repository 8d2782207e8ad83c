"""The facilitators' weekly report: what it holds, and the mail that carries it. Pure.

One mail per facilitator: multipart/related around a multipart/alternative (text/plain,
text/html), with the stage chart as an inline PNG that the HTML names by Content-ID. The
numbered people in "stuck" and "ready" are what a facilitator's reply refers to ("nudge 2").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart

from listserv.digest.mime import utf8_part
from listserv.digest.model import PollItem
from listserv.engagement.chart import Week, stage_chart
from listserv.engagement.rules import Assessment, Facts, Rules, Stage, is_stuck
from listserv.mail.message import ListInfo, Role
from listserv.outbound.decorate import serialize
from listserv.outbound.notices import address_automatic
from listserv.render import Templates

CHART_ID = "stages@listserv"
SHOWN = 25  # people named under "stuck" and under "ready"; the rest are counted


def ready_for_development(facts: Facts, rules: Rules) -> bool:
    """At stage 4 and half-way through stage 5's test: worth inviting to co-facilitate."""
    return facts.started_joined >= max(rules.development_started, 1) or facts.newcomers_answered >= max(
        rules.development_newcomers, 1
    )


@dataclass(frozen=True)
class Person:
    email: str
    detail: str  # "joined 3 Nov", or the reasons of their stage


@dataclass
class StageRoll:
    """What the report keeps of each member's assessment, seen one at a time (in address order):
    the count per stage, and the SHOWN longest stuck and first SHOWN ready, with how many in all.
    Its memory does not grow with the list."""

    rules: Rules
    end: datetime
    counts: Counter[Stage] = field(default_factory=Counter)
    stuck_total: int = 0
    ready_total: int = 0
    _stuck: list[tuple[datetime, str]] = field(default_factory=list)
    _ready: list[Person] = field(default_factory=list)

    def __call__(self, facts: Facts, assessment: Assessment) -> None:
        self.counts[assessment.stage] += 1
        if is_stuck(assessment, facts.joined, self.end, self.rules):
            self.stuck_total += 1
            self._stuck.append((facts.joined, facts.email))
            if len(self._stuck) >= 2 * SHOWN:
                self._stuck = sorted(self._stuck)[:SHOWN]
        if assessment.stage is Stage.CONSTRUCTION and ready_for_development(facts, self.rules):
            self.ready_total += 1
            if len(self._ready) < SHOWN:
                self._ready.append(Person(facts.email, "; ".join(assessment.reasons)))

    def stuck(self) -> list[tuple[datetime, str]]:
        """(joined, address) of the SHOWN who joined first."""
        return sorted(self._stuck)[:SHOWN]

    def ready(self) -> tuple[Person, ...]:
        return tuple(self._ready)


@dataclass(frozen=True)
class Discussed:
    subject: str
    by: str
    when: str  # in the list's zone
    posts: int = 0
    control: str = ""  # LIST-do+REF of one of its posts: steer it by reply (close, highlight ...)


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int
    paused: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    complained: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    period: str
    counts: dict[Stage, int]
    weeks: tuple[Week, ...]
    joined: tuple[Person, ...] = ()
    left: tuple[Person, ...] = ()
    stuck: tuple[Person, ...] = ()
    ready: tuple[Person, ...] = ()
    stuck_more: int = 0  # stuck members not named (past SHOWN)
    ready_more: int = 0
    unanswered: tuple[Discussed, ...] = ()
    first_reply: str = ""  # the median time to a first reply, in words; "" when nothing was answered
    answered: int = 0  # discussions of the period that got a reply
    quiet: tuple[Discussed, ...] = ()
    delivery: Delivery = field(default_factory=lambda: Delivery(0, 0, 0))
    polls: tuple[PollItem, ...] = ()
    stuck_weeks: int = 3

    @property
    def members(self) -> int:
        return sum(self.counts.values())

    @property
    def stages(self) -> list[tuple[int, str, int]]:
        return [(int(stage), stage.label, self.counts.get(stage, 0)) for stage in Stage]


def duration_words(seconds: float) -> str:
    """'40 min', '5 h 20 min', '2 days 3 h'."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} day{'s' if days != 1 else ''} {hours} h" if hours else f"{days} day{'s' if days != 1 else ''}"


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report_mail(templates: Templates, lst: ListInfo, report: Report, to: str, reply_to: str,
                now: datetime) -> bytes:  # fmt: skip
    context = dict(report=report, reply_to=reply_to, chart_id=CHART_ID)
    text = templates.render_for(lst, "engagement-report.txt.j2", **context)
    html = templates.render_for(lst, "engagement-report.html.j2", **context)
    alternative = MIMEMultipart("alternative")
    alternative.attach(utf8_part(text))
    alternative.attach(utf8_part(html, "html"))
    message: Message = MIMEMultipart("related", type="multipart/alternative")
    del message["MIME-Version"]  # address_automatic writes it
    message.attach(alternative)
    chart = MIMEImage(stage_chart(report.weeks), "png")
    del chart["MIME-Version"]
    chart["Content-ID"] = f"<{CHART_ID}>"
    chart["Content-Disposition"] = 'inline; filename="stages.png"'
    message.attach(chart)
    for part in (alternative, *alternative.get_payload()):
        if isinstance(part, Message):
            del part["MIME-Version"]
    address_automatic(message, lst, now, sender=(f"{lst.name} report", reply_to), to=to, subject=report.title,
                      loop_marker=lst.service(Role.REPORT), reply_to=reply_to, kind="report")  # fmt: skip
    return serialize(message)
