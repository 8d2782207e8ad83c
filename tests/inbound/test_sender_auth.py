"""Sender authentication through the real engine: keys on a real DNS server (dnsmasq on loopback),
posts and by-mail commands over LMTP, answers read from the relay sink."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from listserv.outbound.arc import seal
from listserv.store import db
from listserv.store.schema import Member, Post
from support.clients import dkim_signed
from support.clock import DEFAULT_START
from support.dkim_keys import OTHER_PUBLIC, SIGNING_KEY, SIGNING_PUBLIC
from support.mail import lmtp_send, make_post
from support.moderation import FAC, LIST, body_text, wait_mail, wait_until

ALICE = "alice@example.com"
REQUEST = "team-request@lists.example.test"
ALICE_KEY = "s1._domainkey.example.com"
TRUSTED = "mx.lists.example.test"


@pytest.fixture
def settings(settings, dns_server):
    return replace(settings, dns_resolver=dns_server.address, dns_timeout=1.0, authserv_ids=TRUSTED)


@pytest.fixture
def team(make_list):
    return make_list("team", members=[ALICE, "bob@example.com"], facilitators=(FAC,))


def send(engine, raw: bytes, to: str, mail_from: str = ALICE) -> None:
    assert lmtp_send(engine.lmtp, mail_from, [to], raw)[to].startswith("250")


def decided(settings, msgid: str) -> Post:
    """The post's row, once the worker has decided it."""
    sql = db.open_engine(settings.database_url)

    def load() -> Post | None:
        with db.sessions(sql)() as session:
            return session.scalar(select(Post).where(Post.message_id == msgid))

    try:
        found = wait_until(load)
        assert isinstance(found, Post)
        return found
    finally:
        sql.dispose()


def delivery_of(settings, email: str) -> str:
    sql = db.open_engine(settings.database_url)
    with db.sessions(sql)() as session:
        member = session.scalar(select(Member).where(Member.email == email))
        found = member.delivery if member else "gone"
    sql.dispose()
    return found


def command(text: str, msgid: str) -> bytes:
    return make_post(ALICE, to=REQUEST, subject=text, body=f"{text}\n", msgid=msgid)


def test_a_post_whose_dkim_signature_fails_for_its_from_domain_is_held(engine, settings, dns_server, team):
    dns_server.serve({ALICE_KEY: f"v=DKIM1; k=rsa; p={OTHER_PUBLIC}"})
    send(engine, dkim_signed(make_post(ALICE, msgid="<forged@x>"), "example.com"), LIST)
    post = decided(settings, "<forged@x>")
    assert (post.decision, post.rules) == ("hold", "suspected-spam")
    assert "dkim=fail header.d=example.com" in post.reason


def test_a_good_signature_or_a_passing_arc_chain_from_a_forwarder_lets_a_post_through(engine, settings, dns_server,
                                                                                       team):  # fmt: skip
    dns_server.serve({ALICE_KEY: f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}",
                      "s1._domainkey.fwd.example": f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"})  # fmt: skip
    send(engine, dkim_signed(make_post(ALICE, msgid="<good@x>"), "example.com"), LIST)
    assert decided(settings, "<good@x>").decision == "accept"
    # A forwarder changed the subject (breaking the signature) and sealed what it received.
    changed = dkim_signed(make_post(ALICE, msgid="<fwd@x>"), "example.com").replace(
        b"Subject: Hello", b"Subject: [f] Hello"
    )
    sealed = seal(changed, "fwd.example", "s1", SIGNING_KEY, "mx.fwd.example", DEFAULT_START, chain="none",
                  results=("dkim=pass header.d=example.com",))  # fmt: skip
    send(engine, sealed, LIST)
    assert decided(settings, "<fwd@x>").decision == "accept"
    send(engine, changed.replace(b"<fwd@x>", b"<unsealed@x>"), LIST)
    assert decided(settings, "<unsealed@x>").rules == "suspected-spam"


def test_member_commands_whose_authentication_fails_are_refused_with_a_notice(engine, sink, settings, dns_server, team):
    dns_server.serve({ALICE_KEY: f"v=DKIM1; k=rsa; p={OTHER_PUBLIC}"})
    send(engine, dkim_signed(command("set delivery none", "<c1@x>"), "example.com"), REQUEST)
    [answer] = wait_mail(sink, ALICE, "Re: set delivery none")
    text = body_text(answer)
    assert "Not done: we could not confirm that this mail came from alice@example.com" in text
    assert "dkim=fail header.d=example.com" in text
    assert delivery_of(settings, ALICE) == "each"


def test_a_forged_unsubscribe_asks_the_address_to_confirm_instead(engine, sink, settings, team):
    forged = b"Authentication-Results: " + TRUSTED.encode() + b"; dmarc=fail header.from=example.com\r\n"
    send(engine, forged + command("unsubscribe", "<c2@x>"), REQUEST)
    [confirm] = wait_mail(sink, ALICE, "confirm ")
    assert "asked to remove alice@example.com" in body_text(confirm)
    assert delivery_of(settings, ALICE) == "each"  # still a member


def test_an_authenticated_command_acts(engine, sink, settings, dns_server, team):
    dns_server.serve({ALICE_KEY: f"v=DKIM1; k=rsa; p={SIGNING_PUBLIC}"})
    send(engine, dkim_signed(command("set delivery none", "<c3@x>"), "example.com"), REQUEST)
    [answer] = wait_mail(sink, ALICE, "Re: set delivery none")
    assert "Delivery is now: none" in body_text(answer)
    assert delivery_of(settings, ALICE) == "none"


def test_a_dns_outage_neither_stalls_nor_fails_the_worker(engine, settings, dns_server, team):
    dns_server.stop()
    started = time.monotonic()
    send(engine, dkim_signed(make_post(ALICE, msgid="<outage@x>"), "example.com"), LIST)
    post = decided(settings, "<outage@x>")
    assert post.decision == "accept"  # a temporary error is neither a pass nor a failure
    assert time.monotonic() - started < 10
