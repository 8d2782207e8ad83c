"""The facilitators' weekly report, end to end: sent once at the list's weekly time, read as
plain text and HTML with its chart inline, and acted on by reply (nudge, invite, accept)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from PIL import Image

from listserv.digest.schedule import Schedule, next_due
from listserv.engagement.report import SHOWN
from listserv.engagement.weekly import run_reports
from listserv.settings import Settings
from listserv.store import db
from support.clients import dkim_signed, gmail_reply, plain_reply, reply_address
from support.digest_helpers import LIST, World, text_of
from support.dkim_keys import OTHER_PUBLIC
from support.engagement import (
    FACILITATOR,
    a_community_with_someone_ready,
    mails_to,
    report_time,
    the_report,
    weeks_of_a_community,
)


def test_the_report_goes_to_each_facilitator_once_with_its_chart_inline(world: World, cli: Callable[..., str],
                                                                       settings: Settings) -> None:  # fmt: skip
    a_community_with_someone_ready(world, cli)
    engines = [db.open_engine(settings.database_url) for _ in range(2)]
    results: list[int] = []
    nodes = [replace(world.work, sessions=db.sessions(engine)) for engine in engines]
    threads = [threading.Thread(target=lambda w=w: results.append(run_reports(w))) for w in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert sorted(results) == [0, 1]  # two nodes, one report
    [report] = [m for m in world.mail_to(FACILITATOR, world.settle()) if "the week to" in str(m["Subject"])]
    assert report.get_content_type() == "multipart/related"
    text, html = text_of(report), text_of(report, "html")
    assert "Members by stage (7 in all)" in text and "  5 development: 2" in text
    assert "1. fay@example.com, joined" in text and "nudge N" in text
    assert "Ready to co-facilitate" in text and "1. dan@example.com: kept up 1 exchange" in text
    assert "the median wait for the first one was" in text
    [png] = [part for part in report.walk() if part.get_content_type() == "image/png"]
    assert f'src="cid:{png["Content-ID"].strip("<>")}"' in html and "<li>fay@example.com, joined" in html
    payload = png.get_payload(decode=True)
    assert isinstance(payload, bytes)
    from io import BytesIO

    image = Image.open(BytesIO(payload))
    assert image.size == (640, 280) and image.format == "PNG"
    assert run_reports(world.work) == 0  # this week's is sent


def test_nudge_and_invite_by_reply_and_the_invited_member_accepts(world: World, cli: Callable[..., str]) -> None:
    a_community_with_someone_ready(world, cli)
    report = the_report(world)
    world.send(FACILITATOR, reply_address(report), gmail_reply(report, FACILITATOR, "nudge 1\ninvite 1\nnudge 7"))
    mails = world.settle()
    [nudged] = mails_to(world, mails, "fay@example.com", "Ann Lee on Team")
    assert reply_address(nudged) == FACILITATOR and "I'm Ann Lee, one of the facilitators" in text_of(nudged)
    [done] = mails_to(world, mails, FACILITATOR, "Done")
    assert "fay@example.com: nudged" in text_of(done) and "dan@example.com: invited" in text_of(done)
    assert "number 7: no one has that number" in text_of(done)
    [invitation] = mails_to(world, mails, "dan@example.com", "Would you co-facilitate")
    world.send("dan@example.com", reply_address(invitation), plain_reply(invitation, "dan@example.com", "Yes, gladly!"))
    mails = world.settle()
    [fyi] = mails_to(world, mails, FACILITATOR, "dan@example.com accepted")
    [welcome] = mails_to(world, mails, "dan@example.com", "Welcome to the facilitators")
    assert "now a facilitator" in text_of(fyi)
    assert "You are now a facilitator of Team" in text_of(welcome)
    assert "dan@example.com\tfacilitator" in cli("member", "ls", LIST)


def test_a_large_lists_report_names_the_longest_stuck_and_counts_the_rest(world: World, cli: Callable[..., str],
                                                                          tmp_path: Path) -> None:  # fmt: skip
    world.at(timedelta(days=1))  # a day after the first members (fay is stuck among them)
    quiet = [f"quiet{n:02}@example.org" for n in range(SHOWN + 5)]
    (tmp_path / "quiet.csv").write_text("".join(f"{address}\n" for address in reversed(quiet)))
    cli("member", "import", LIST, str(tmp_path / "quiet.csv"))
    a_community_with_someone_ready(world, cli)
    report = the_report(world)
    text = text_of(report)
    named = ["fay@example.com", *quiet[: SHOWN - 1]]
    assert [f"{n}. {address}, joined" in text for n, address in enumerate(named, 1)] == [True] * SHOWN
    assert f"{SHOWN + 1}. " not in text and quiet[SHOWN - 1] not in text
    assert "and 6 more who joined later, not named here" in text
    assert "and 6 more who joined later" in text_of(report, "html")
    world.send(FACILITATOR, reply_address(report), gmail_reply(report, FACILITATOR, "nudge all"))
    mails = world.settle()
    assert sorted(rcpt for rcpt, _ in mails if rcpt in quiet or rcpt == "fay@example.com") == sorted(named)


def test_a_forged_or_failing_reply_does_nothing(world: World, cli: Callable[..., str], dns_server) -> None:  # type: ignore[no-untyped-def]
    a_community_with_someone_ready(world, cli)
    report = the_report(world)
    address = reply_address(report)
    world.send("mallory@example.net", address, gmail_reply(report, "mallory@example.net", "nudge all"))
    world.send("mallory@example.net", "team-report+notatoken@lists.example.test",
               gmail_reply(report, FACILITATOR, "nudge all", to="team-report+notatoken@lists.example.test"))  # fmt: skip
    assert world.settle() == []  # refused and logged, never answered
    dns_server.add({"s1._domainkey.example.com": f"v=DKIM1; k=rsa; p={OTHER_PUBLIC}"})
    forged = dkim_signed(gmail_reply(report, FACILITATOR, "nudge all"), "example.com")
    world.send(FACILITATOR, address, forged)
    mails = world.settle()
    [refused] = mails_to(world, mails, FACILITATOR, "Not done")
    assert "sender authentication failed for example.com" in text_of(refused)
    assert mails_to(world, mails, "fay@example.com") == []


def test_no_report_when_the_list_turns_it_off(world: World, cli: Callable[..., str]) -> None:
    cli("list", "set", LIST, "engagement_report", "off")
    weeks_of_a_community(world, cli)
    report_time(world)
    assert run_reports(world.work) == 0


def test_the_report_goes_out_at_the_lists_own_hour_in_its_zone(world: World, cli: Callable[..., str]) -> None:
    cli("list", "set", LIST, "timezone", "Europe/Paris")
    cli("list", "set", LIST, "digest_day", "sunday")
    weeks_of_a_community(world, cli)  # six weeks from the clock's start: across a DST change in March
    due = next_due(Schedule("weekly", "sunday", 8, "Europe/Paris"), world.now())
    world.at(due - world.now() - timedelta(minutes=1))
    assert run_reports(world.work) == 0  # a minute early
    world.at(timedelta(minutes=2))
    report = the_report(world)
    zone = "CEST" if 3 <= due.month <= 10 else "CET"
    assert text_of(report).splitlines()[1].endswith(f"08:00 {zone}")
    assert str(report["Subject"]).startswith("Team: the week to Sun ")
