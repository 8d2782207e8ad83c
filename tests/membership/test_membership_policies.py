"""Who may join: approval by a facilitator's reply, invitations, and a maximum number of members."""

from __future__ import annotations

from support.cli import invoke
from support.conversation import Mailbox, body_of, reply_to, send, settle, sql

DOMAIN = "lists.example.test"
TEAM = f"team@{DOMAIN}"
JOIN, LEAVE = f"team-join@{DOMAIN}", f"team-leave@{DOMAIN}"
FAC = "fac@example.com"


def members(settings):
    return [r[0] for r in sql(settings, "SELECT email FROM members WHERE role = 'member' ORDER BY email")]


def confirmed_request(engine, box, address):
    send(engine.lmtp, address, JOIN, "join")
    reply_to(engine.lmtp, box.expect(address, "confirm "), address)


def test_an_approval_list_admits_after_a_facilitator_replies_approve(engine, sink, settings, make_list):
    make_list("team", facilitators=(FAC,), subscription_policy="approval")
    box = Mailbox(sink)
    confirmed_request(engine, box, "carol@example.org")
    assert "a facilitator has looked" in body_of(box.expect("carol@example.org", "is with its facilitators"))
    request = box.expect(FAC, "Approve carol@example.org")
    assert request["Reply-To"].startswith("team-confirm+") and '"reject" and a reason' in body_of(request)
    settle(settings)
    assert members(settings) == []

    reply_to(engine.lmtp, request, FAC, "Approve")
    box.expect("carol@example.org", "Welcome to Team")
    assert "Approved: carol@example.org (joined)." in body_of(box.expect(FAC, "Membership request"))
    assert members(settings) == ["carol@example.org"]
    events = [r[0] for r in sql(settings, "SELECT event FROM membership_events ORDER BY id")]
    assert events == ["requested", "confirmed", "approval-requested", "approved", "joined"]


def test_a_facilitator_can_refuse_with_a_reason_that_is_passed_on(engine, sink, settings, make_list):
    make_list("team", facilitators=(FAC,), subscription_policy="approval")
    box = Mailbox(sink)
    confirmed_request(engine, box, "carol@example.org")
    request = box.expect(FAC, "Approve carol@example.org")
    reply_to(engine.lmtp, request, FAC, "reject: this list is for nurses only")
    box.expect("carol@example.org", "is with its facilitators")
    refusal = body_of(box.expect("carol@example.org", "was not accepted"))
    assert "was not accepted" in refusal and "this list is for nurses only" in refusal
    assert "Refused: carol@example.org." in body_of(box.expect(FAC, "Membership request"))
    reply_to(engine.lmtp, request, FAC, "approve")  # too late: decided
    assert "decided already" in body_of(box.expect(FAC, "Membership request"))
    assert members(settings) == []


def test_only_the_facilitator_the_request_went_to_can_approve_it(engine, sink, settings, make_list):
    make_list("team", facilitators=(FAC,), subscription_policy="approval")
    box = Mailbox(sink)
    confirmed_request(engine, box, "mallory@example.net")
    box.expect("mallory@example.net", "is with its facilitators")
    request = box.expect(FAC, "Approve mallory@example.net")
    reply_to(engine.lmtp, request, "mallory@example.net", "approve")  # the token, leaked, used by the applicant
    refused = body_of(box.expect(FAC, "Membership request"))
    assert "Not done: the reply came from mallory@example.net, not from fac@example.com" in refused
    forged = "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
    reply_to(engine.lmtp, request, FAC, "approve", extra=forged)  # From: forged, and the MTA says so
    assert "sender authentication failed for example.com" in body_of(box.expect(FAC, "Membership request"))
    settle(settings)
    assert members(settings) == [] and box.unread() == []


def test_an_invitation_is_accepted_by_replying_to_it(engine, sink, settings, make_list, monkeypatch, clock):
    make_list("team", subscription_policy="invitation", guidelines="Be kind.")
    monkeypatch.setenv("LISTSERV_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LISTSERV_DOMAIN", DOMAIN)
    monkeypatch.setenv("LISTSERV_SECRET_FILE", settings.secret_file)
    result = invoke(["member", "invite", "team", "Dana@Example.org", "--name", "Dana",
                                       "--note", "We met at the spring meetup."])  # fmt: skip
    assert result.exit_code == 0 and "invitation to dana@example.org queued" in result.output
    again = invoke(["member", "invite", "team", "dana@example.org"], clock)
    assert again.exit_code == 1 and "still valid" in again.output
    box = Mailbox(sink)
    invitation = box.expect("dana@example.org", "Invitation to Team")
    text = body_of(invitation)
    assert "Hello Dana" in text and "spring meetup" in text and "Be kind." in text
    reply_to(engine.lmtp, invitation, "dana@example.org", "Happy to!")
    box.expect("dana@example.org", "Welcome to Team")
    assert members(settings) == ["dana@example.org"]
    events = [r[0] for r in sql(settings, "SELECT event FROM membership_events ORDER BY id")]
    assert events == ["invited", "accepted-invitation", "accepted-guidelines", "joined"]


def test_a_full_list_refuses_new_requests_politely(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"], max_members="1")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    assert "maximum number of members" in body_of(box.expect("carol@example.org", "Re: join"))
    settle(settings)
    assert box.unread() == [] and sql(settings, "SELECT count(*) FROM tokens") == [(0,)]


def test_a_list_that_fills_up_before_someone_confirms_tells_them_so(engine, sink, settings, make_list):
    make_list("team", max_members="1")
    box = Mailbox(sink)
    send(engine.lmtp, "carol@example.org", JOIN, "join")
    send(engine.lmtp, "dave@example.org", JOIN, "join")
    carol, dave = box.expect("carol@example.org", "confirm "), box.expect("dave@example.org", "confirm ")
    reply_to(engine.lmtp, carol, "carol@example.org")
    box.expect("carol@example.org", "Welcome")
    reply_to(engine.lmtp, dave, "dave@example.org")
    assert "reached its maximum" in body_of(box.expect("dave@example.org", "Team is full"))
    assert members(settings) == ["carol@example.org"]


def test_a_waitlist_list_admits_the_next_person_when_someone_leaves(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com"], max_members="1", when_full="waitlist")
    box = Mailbox(sink)
    confirmed_request(engine, box, "carol@example.org")
    assert "You are number 1" in body_of(box.expect("carol@example.org", "wait-list"))
    confirmed_request(engine, box, "dave@example.org")
    assert "You are number 2" in body_of(box.expect("dave@example.org", "wait-list"))
    assert members(settings) == ["alice@example.com"]
    send(engine.lmtp, "alice@example.com", LEAVE, "leave")
    box.expect("alice@example.com", "You have left")
    box.expect("carol@example.org", "Welcome to Team")
    assert members(settings) == ["carol@example.org"]
    send(engine.lmtp, "dave@example.org", LEAVE, "changed my mind")  # leaving the wait-list
    assert "no longer on the wait-list" in body_of(box.expect("dave@example.org", "Re: changed my mind"))
    assert sql(settings, "SELECT count(*) FROM waitlist") == [(0,)]
