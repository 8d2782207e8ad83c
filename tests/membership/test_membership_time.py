"""Orientation steps, renewal reminders, expiry and vacations, with time passed to the jobs (no sleeping)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from listserv.membership.expiry import run_expiry
from listserv.membership.onboarding import run_onboarding
from support.conversation import Mailbox, body_of, reply_to, run_job, send, settle, sql

DOMAIN = "lists.example.test"
TEAM, JOIN, REQUEST = f"team@{DOMAIN}", f"team-join@{DOMAIN}", f"team-request@{DOMAIN}"


def join(engine, box, address):
    send(engine.lmtp, address, JOIN, "join")
    reply_to(engine.lmtp, box.expect(address, "confirm "), address)
    box.expect(address, "Welcome")


def later(start: datetime, days: float) -> datetime:
    return start + timedelta(days=days, minutes=5)


def test_orientation_steps_follow_the_days_since_joining_once_each(engine, sink, settings, make_list, clock):
    start = clock()
    make_list("team", members=["alice@example.com"], new_member_posts="0")  # newcomers post without review
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    join(engine, box, "dave@example.org")
    send(engine.lmtp, "alice@example.com", TEAM, "How do you run retrospectives?", "Tips welcome.")
    send(engine.lmtp, "dave@example.org", TEAM, "Hello from Dave", "I coach teams.")
    for rcpt in ("carol@example.org", "dave@example.org"):
        box.expect(rcpt, "How do you run retrospectives?")
    box.expect("carol@example.org", "Hello from Dave")
    box.expect("alice@example.com", "Hello from Dave")

    assert run_job(clock, settings, run_onboarding, later(start, 2)) == 0
    assert run_job(clock, settings, run_onboarding, later(start, 3)) == 1  # dave has posted: no "introduce yourself"
    intro = box.expect("carol@example.org", "Introduce yourself")
    assert "write a short hello to team@lists.example.test" in body_of(intro)
    assert run_job(clock, settings, run_onboarding, later(start, 3)) == 0  # once per member and step

    assert run_job(clock, settings, run_onboarding, later(start, 10)) == 2
    carol = body_of(box.expect("carol@example.org", "Discussions in Team you could help with"))
    dave = body_of(box.expect("dave@example.org", "Discussions in Team you could help with"))
    assert '"How do you run retrospectives?", from alice@example.com' in carol and "Hello from Dave" in carol
    assert "How do you run retrospectives?" in dave and "Hello from Dave" not in dave  # not his own
    settle(settings)
    assert box.unread() == []  # alice joined before onboarding and is not enrolled
    steps = sql(settings, "SELECT email, step, status FROM member_steps WHERE step LIKE 'onboard:3:%' ORDER BY email")
    assert steps == [("carol@example.org", "onboard:3:introduce", "sent"),
                     ("dave@example.org", "onboard:3:introduce", "skipped")]  # fmt: skip


def test_a_list_edits_its_steps_and_templates_and_late_steps_are_skipped(
    engine, sink, settings, make_list, tmp_path, clock
):
    start = clock()
    make_list("team", onboarding="0:welcome 1:tips 30:checkin")
    own = tmp_path / "templates" / "lists" / TEAM
    own.mkdir(parents=True)
    (own / "onboard-tips.txt.j2").write_text("Subject: Three tips for {{ list.name }}\n\nTip one: {{ post }}\n")
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    custom = replace(settings, templates_dir=str(tmp_path / "templates"))
    assert run_job(clock, custom, run_onboarding, later(start, 1)) == 1
    assert "Tip one: team@lists.example.test" in body_of(box.expect("carol@example.org", "Three tips for Team"))
    assert (
        run_job(clock, custom, run_onboarding, later(start, 50)) == 0
    )  # 30:checkin is 20 days late (and has no template)
    assert sql(settings, "SELECT status FROM member_steps WHERE step = 'onboard:30:checkin'") == []


def test_renewal_reminders_come_14_and_3_days_before_and_a_reply_renews(engine, sink, settings, make_list, clock):
    make_list("team", membership_days="30")
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    [(expires,)] = sql(settings, "SELECT expires_at FROM members WHERE email = 'carol@example.org'")
    expires = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
    assert timedelta(days=29) < expires - clock() <= timedelta(days=30)

    assert run_job(clock, settings, run_expiry, expires - timedelta(days=15)) == 0
    assert run_job(clock, settings, run_expiry, expires - timedelta(days=14)) == 1
    first = box.expect("carol@example.org", "ends on")
    assert f"ends on {expires:%Y-%m-%d}" in body_of(first) and first["Reply-To"].startswith("team-confirm+")
    assert run_job(clock, settings, run_expiry, expires - timedelta(days=13)) == 0
    assert run_job(clock, settings, run_expiry, expires - timedelta(days=2)) == 1
    reminder = box.expect("carol@example.org", "ends on")

    reply_to(engine.lmtp, reminder, "carol@example.org", "Yes please")
    renewed = expires + timedelta(days=30)
    assert f"renewed until {renewed:%Y-%m-%d}" in body_of(box.expect("carol@example.org", "Re: "))
    assert run_job(clock, settings, run_expiry, expires + timedelta(minutes=1)) == 0  # not expired any more
    assert run_job(clock, settings, run_expiry, renewed - timedelta(days=14)) == 1  # the next period's reminders
    box.expect("carol@example.org", "ends on")


def test_an_expired_member_stops_receiving_mail_and_is_told_how_to_rejoin(engine, sink, settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.com"], membership_days="30")
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    sql(settings, "UPDATE members SET expires_at = :past WHERE email = 'carol@example.org'",
        past=clock() - timedelta(minutes=1))  # fmt: skip
    send(engine.lmtp, "alice@example.com", TEAM, "After the end")
    box.expect("bob@example.com", "After the end")
    settle(settings)
    assert not [s for to, s in box.unread() if "After the end" in s]  # fan-out skipped her at once

    run_job(clock, settings, run_expiry, clock())  # (the engine's own run of the job may have been first)
    ended = body_of(box.expect("carol@example.org", "has ended"))
    assert "send a message to team-join@lists.example.test" in ended
    assert sql(settings, "SELECT email FROM members ORDER BY email") == [("alice@example.com",), ("bob@example.com",)]
    history = sql(settings, "SELECT event FROM membership_events WHERE email = 'carol@example.org' ORDER BY id")
    assert history[-1] == ("expired",)
    assert run_job(clock, settings, run_expiry, clock()) == 0


def test_renew_by_command_and_members_without_expiry_have_nothing_to_renew(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"], membership_days="30")
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    send(engine.lmtp, "carol@example.org", REQUEST, "renew")
    assert "renewed until" in body_of(box.expect("carol@example.org", "Re: renew"))
    send(engine.lmtp, "alice@example.com", REQUEST, "renew")  # added before the list had a length
    assert "does not expire" in body_of(box.expect("alice@example.com", "Re: renew"))


def test_a_vacation_pauses_delivery_and_it_resumes_by_itself(engine, sink, settings, make_list, clock):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    box = Mailbox(sink)
    back = clock().date() + timedelta(days=10)
    send(engine.lmtp, "alice@example.com", REQUEST, f"set vacation until {back.isoformat()}")
    assert f"No list mail until {back.isoformat()}" in body_of(box.expect("alice@example.com", "Re: set vacation"))
    send(engine.lmtp, "bob@example.com", TEAM, "While alice is away")
    settle(settings)
    assert box.unread() == []
    sql(settings, "UPDATE members SET vacation_until = :past WHERE email = 'alice@example.com'",
        past=clock() - timedelta(minutes=1))  # fmt: skip
    send(engine.lmtp, "bob@example.com", TEAM, "Welcome back")
    box.expect("alice@example.com", "Welcome back")
    send(engine.lmtp, "alice@example.com", REQUEST, "set vacation until 2001-01-01")
    assert "not in the future" in body_of(box.expect("alice@example.com", "Re: set vacation"))


def test_old_tokens_and_reply_counts_are_forgotten_but_the_history_stays(engine, sink, settings, make_list, clock):
    start = clock()
    make_list("team")
    box = Mailbox(sink)
    join(engine, box, "carol@example.org")
    send(engine.lmtp, "carol@example.org", REQUEST, "info")
    box.expect("carol@example.org", "Re: info")
    assert sql(settings, "SELECT count(*) FROM tokens") == [(1,)]
    run_job(clock, settings, run_expiry, later(start, 2))
    assert sql(settings, "SELECT count(*) FROM membership_mail") == [(0,)]
    assert sql(settings, "SELECT count(*) FROM tokens") == [(1,)]
    run_job(clock, settings, run_expiry, later(start, 31))
    assert sql(settings, "SELECT count(*) FROM tokens") == [(0,)]
    assert len(sql(settings, "SELECT event FROM membership_events WHERE email = 'carol@example.org'")) == 3
