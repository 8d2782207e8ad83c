"""When a list's digest is due: daily or weekly, at an hour in the list's time zone. Pure.

Times stored and passed around are naive UTC (as everywhere in listserv); the schedule is
read in the list's zone, so "Monday 08:00 Europe/Paris" stays 08:00 across daylight saving.
A wall-clock time that does not exist (skipped by a spring-forward) moves forward by the
gap (02:30 becomes 03:30); one that happens twice (fall-back) is its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERIODS = ("daily", "weekly")


@dataclass(frozen=True)
class Schedule:
    period: str = "weekly"  # daily | weekly
    day: str = "monday"  # weekly only
    hour: int = 8
    zone: str = "UTC"
    size_threshold: int = 0  # posts in the period that send the digest early; 0: off
    preview_hours: int = 24  # the facilitators' preview goes this long before; 0: no preview

    @property
    def length(self) -> timedelta:
        return timedelta(days=1 if self.period == "daily" else 7)


def timezone_problem(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}; use an IANA name such as Europe/Paris or UTC"
    return None


def hour_problem(value: str) -> str | None:
    return None if value.isdigit() and 0 <= int(value) <= 23 else "an hour from 0 to 23"


def zone_of(schedule: Schedule) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in zone -> naive UTC. fold=0: a repeated time is its first occurrence, a
    skipped one is read with the offset before the jump (02:30 in a 02:00-03:00 gap is 03:30)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc).replace(tzinfo=None)


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Naive UTC -> aware local time."""
    return moment.replace(tzinfo=timezone.utc).astimezone(zone)


def last_due(schedule: Schedule, now: datetime) -> datetime:
    """The latest scheduled send time at or before now (naive UTC)."""
    zone = zone_of(schedule)
    local = to_local(now, zone).replace(tzinfo=None)
    candidate = local.replace(hour=schedule.hour, minute=0, second=0, microsecond=0)
    if schedule.period == "weekly":
        candidate -= timedelta(days=(local.weekday() - DAYS.index(schedule.day)) % 7)
    step = timedelta(days=1 if schedule.period == "daily" else 7)
    while to_utc(candidate, zone) > now:
        candidate -= step
    return to_utc(candidate, zone)


def next_due(schedule: Schedule, now: datetime) -> datetime:
    """The first scheduled send time strictly after now (naive UTC)."""
    zone = zone_of(schedule)
    local = to_local(last_due(schedule, now), zone).replace(tzinfo=None)
    step = timedelta(days=1 if schedule.period == "daily" else 7)
    candidate = local + step
    while to_utc(candidate, zone) <= now:
        candidate += step
    return to_utc(candidate, zone)


FIRST_PERIOD_MAX = timedelta(days=31)


def first_start(schedule: Schedule, now: datetime, list_created: datetime) -> datetime:
    """Where a list's first period starts: when the list was created, but at most a month back
    (a list that existed before its first digest does not get its whole history in it)."""
    return max(list_created, now - FIRST_PERIOD_MAX)


def preview_at(schedule: Schedule, due: datetime, period_start: datetime) -> datetime | None:
    """When the facilitators' preview of the issue due at `due` goes out; None for no preview.

    At most half a period ahead, so a daily digest's preview comes after the previous issue."""
    if schedule.preview_hours <= 0:
        return None
    lead = min(timedelta(hours=schedule.preview_hours), (due - period_start) / 2)
    return due - lead


def local_text(moment: datetime, schedule: Schedule) -> str:
    """'Mon 7 Dec 2026, 08:00 CET' in the list's zone."""
    local = to_local(moment, zone_of(schedule))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def local_day(moment: datetime, schedule: Schedule) -> str:
    local = to_local(moment, zone_of(schedule))
    return f"{local:%a} {local.day} {local:%b}"


def parse_local(value: str, schedule: Schedule) -> datetime:
    """'2026-12-07 09:00' (or with T, or a date, or with an offset) in the list's zone -> naive UTC.

    Raises ValueError with a readable message."""
    text = value.strip().replace("T", " ")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date and time like 2026-12-07 09:00, got {value!r}") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return to_utc(parsed, zone_of(schedule))
