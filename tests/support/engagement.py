"""A scripted community for the engagement tests: members, a facilitator, six weeks of posts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.message import Message

from sqlalchemy import func, select

from listserv.digest.schedule import Schedule, next_due
from listserv.engagement.jobs import run_engagement
from listserv.engagement.tables import EngagementRun
from listserv.engagement.weekly import run_reports
from support.digest_helpers import World

LIST = "team@lists.example.test"
MEMBERS = ["bob@example.com", "cat@example.com", "dan@example.com", "eve@example.com", "fay@example.com"]
FACILITATOR = "ann@example.com"


def ran_once(w: World) -> bool:
    with w.sessions() as session:
        return bool(session.scalar(select(func.count()).select_from(EngagementRun)))


def reply(w: World, sender: str, subject: str, msgid: str, parent: str) -> None:
    w.post(sender, f"Re: {subject}", "Thanks, here is what we do.\n", msgid,
           f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n")  # fmt: skip


def weeks_of_a_community(w: World, cli: Callable[..., str]) -> None:
    """Week 1: introductions and a question; week 3: another; week 5: a newcomer; week 6: a share."""
    w.at(timedelta(weeks=1))
    w.post("bob@example.com", "Hello from Bob", "Hi all, I run a maker space.\n", "<b1@example.com>")
    retro = "How do you run retrospectives?"
    w.post("cat@example.com", retro, "We are stuck. How do you do it?\n", "<c1@example.com>")
    reply(w, "dan@example.com", retro, "<d1@example.com>", "<c1@example.com>")
    reply(w, "bob@example.com", retro, "<b2@example.com>", "<c1@example.com>")
    reply(w, "cat@example.com", retro, "<c2@example.com>", "<d1@example.com>")
    reply(w, "dan@example.com", retro, "<d2@example.com>", "<c2@example.com>")
    run_engagement(w.work)
    w.at(timedelta(weeks=2))
    tools = "Which tools for remote workshops?"
    w.post("cat@example.com", tools, "Looking for recommendations.\n", "<c3@example.com>")
    for sender, msgid in (("dan", "d3"), ("eve", "e1"), ("bob", "b3")):
        reply(w, f"{sender}@example.com", tools, f"<{msgid}@example.com>", "<c3@example.com>")
    reply(w, "cat@example.com", tools, "<c4@example.com>", "<e1@example.com>")
    reply(w, "eve@example.com", tools, "<e2@example.com>", "<c4@example.com>")
    run_engagement(w.work)
    w.at(timedelta(weeks=2))
    cli("member", "add", LIST, "gus@example.com")
    start = "New here: where do I start?"
    w.post("gus@example.com", start, "I just joined.\n", "<g1@example.com>")
    reply(w, "cat@example.com", start, "<c5@example.com>", "<g1@example.com>")
    w.at(timedelta(weeks=1))
    share = "Our workshop template"
    w.post("cat@example.com", share, "Here it is, use it freely.\n", "<c6@example.com>")
    reply(w, "dan@example.com", share, "<d4@example.com>", "<c6@example.com>")
    reply(w, "bob@example.com", share, "<b4@example.com>", "<c6@example.com>")
    run_engagement(w.work)


def report_time(world: World) -> None:
    """A minute after the list's next weekly time (Monday 08:00 UTC by default)."""
    due = next_due(Schedule("weekly", "monday", 8, "UTC"), world.now())
    world.at(due - world.now() + timedelta(minutes=1))


def mails_to(world: World, mails: list[tuple[str, bytes]], rcpt: str, subject: str = "") -> list[Message]:
    return [m for m in world.mail_to(rcpt, mails) if subject in str(m["Subject"])]


def the_report(world: World) -> Message:
    assert run_reports(world.work) == 1
    [report] = [m for m in world.mail_to(FACILITATOR, world.settle()) if "the week to" in str(m["Subject"])]
    return report


def a_community_with_someone_ready(world: World, cli: Callable[..., str]) -> None:
    cli("list", "set", LIST, "stage_rules", "construction_exchanges=1")
    cli("member", "add", LIST, FACILITATOR, "--name", "Ann Lee", "--role", "facilitator")
    weeks_of_a_community(world, cli)
    reply(world, "dan@example.com", "New here: where do I start?", "<d9@example.com>", "<g1@example.com>")
    report_time(world)
