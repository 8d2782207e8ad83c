"""Every copy we send carries a DKIM signature that two independent verifiers accept, over the
per-member one-click headers; a list without a key says so plainly and sends the mailto link alone."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from listserv.dkim.keys import generate
from listserv.dns import Resolver
from listserv.inbound.arc_chain import validate_chain
from listserv.inbound.dnskeys import KeyLookup
from support.clock import signing_clock
from support.conversation import Mailbox, send, settle
from support.dkim_check import dkimpy_verifies, mail_dkim_says
from support.engine import RunningEngine

TEAM = "team@lists.example.test"
MEMBERS = ["alice@example.com", "bob@example.com", "carol@example.org"]


def signature_tags(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    field = re.search(r"^DKIM-Signature:(.*?)(?=\r\n\S)", head, re.S | re.M)
    assert field, "no DKIM-Signature"
    value = "".join(field[1].split())
    return dict(tag.partition("=")[::2] for tag in value.split(";") if tag)


def test_each_members_copy_is_signed_over_its_own_one_click_headers(signing_engine, signing_settings, sink, make_list,
                                                                      dns_server):  # fmt: skip
    make_list("team", members=MEMBERS)  # one-click unset: on, because mail is signed and public_url is set
    box = Mailbox(sink)
    send(signing_engine.lmtp, "alice@example.com", TEAM, "Signed retrospectives", "Two lines.\n\nOf text.  \n")
    bob, carol = box.expect("bob@example.com", "Signed retrospectives"), box.expect("carol@example.org")
    assert (
        bob["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        and bob["List-Unsubscribe"] != carol["List-Unsubscribe"]
    )
    copies = {m.rcpts[0]: m.data for m in sink.messages}
    for rcpt in ("bob@example.com", "carol@example.org"):
        tags = signature_tags(copies[rcpt])
        assert (tags["d"], tags["s"], tags["a"], tags["c"]) == (
            "lists.example.test",
            "listserv",
            "rsa-sha256",
            "relaxed/relaxed",
        )
        signed = Counter(tags["h"].split(":"))
        assert signed["list-unsubscribe"] == 2 and signed["list-unsubscribe-post"] == 2 and signed["from"] == 2
        assert {"to", "subject", "date", "message-id", "list-id", "list-post"} <= set(signed)
        assert dkimpy_verifies(copies[rcpt], dns_server)
        assert mail_dkim_says(copies[rcpt], dns_server).splitlines()[-1] == "result: pass"
    assert signature_tags(copies["bob@example.com"])["b"] != signature_tags(copies["carol@example.org"])["b"]
    assert signature_tags(copies["bob@example.com"])["bh"] == signature_tags(copies["carol@example.org"])["bh"]


def test_a_changed_or_added_header_breaks_the_signature(signing_engine, sink, make_list, dns_server):
    make_list("team", members=MEMBERS)
    box = Mailbox(sink)
    send(signing_engine.lmtp, "alice@example.com", TEAM, "Tamper with me")
    box.expect("bob@example.com", "Tamper with me")
    box.expect("carol@example.org", "Tamper with me")
    copies = {m.rcpts[0]: m.data for m in sink.messages}
    bob, carol = copies["bob@example.com"], copies["carol@example.org"]
    carol_link = re.search(rb"List-Unsubscribe: <([^>]+)>", carol)[1]  # type: ignore[index]
    swapped = re.sub(rb"(List-Unsubscribe: <)[^>]+", rb"\g<1>" + carol_link, bob)
    added = bob.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n", 1)
    body = bob.replace(b"\r\n\r\n", b"\r\n\r\nP.S. forged\r\n", 1)
    for forged in (swapped, added, body):
        assert not dkimpy_verifies(forged, dns_server)
        assert mail_dkim_says(forged, dns_server).splitlines()[-1] == "result: fail"


def test_shared_copies_and_notices_are_signed_too(signing_settings, sink, make_list, dns_server):
    engine = RunningEngine(
        replace(signing_settings, public_url=""), signing_clock()
    ).start()  # no one-click: the shared path
    try:
        make_list("team", members=MEMBERS)
        box = Mailbox(sink)
        send(engine.lmtp, "alice@example.com", TEAM, "Shared and signed")
        box.expect("bob@example.com", "Shared and signed")
        send(engine.lmtp, "stranger@example.net", "team-request@lists.example.test", "help")
        box.expect("stranger@example.net")
        settle(signing_settings)
    finally:
        engine.stop()
    shared = [m for m in sink.messages if len(m.rcpts) == 2]
    assert shared and "List-Unsubscribe-Post" not in shared[0].data.decode()
    for message in sink.messages:
        assert dkimpy_verifies(message.data, dns_server), message.rcpts
    assert mail_dkim_says(shared[0].data, dns_server).splitlines()[-1] == "result: pass"


def test_without_a_key_mail_goes_unsigned_with_the_mailto_link_alone(settings, sink, make_list):
    engine = RunningEngine(replace(settings, public_url="https://lists.example.test/"), signing_clock()).start()
    try:
        make_list("team", members=MEMBERS)
        box = Mailbox(sink)
        send(engine.lmtp, "alice@example.com", TEAM, "Unsigned")
        bob = box.expect("bob@example.com", "Unsigned")
    finally:
        engine.stop()
    assert bob["DKIM-Signature"] is None and bob["List-Unsubscribe-Post"] is None
    assert str(bob["List-Unsubscribe"]) == "<mailto:team-request@lists.example.test?subject=unsubscribe>"


def test_posts_are_arc_sealed_once_over_what_members_share_and_notices_are_not(settings, sink, make_list, dns_server):
    """The receiving MTA vouched for SPF; our seal carries that on (ARC-Authentication-Results), its
    chain validates, and each member's DKIM signature still verifies on top of it."""
    sealing = replace(settings, public_url="https://lists.example.test/", dns_resolver=dns_server.address,
                      authserv_ids="mx.lists.example.test")  # fmt: skip
    _, record = generate(sealing, "lists.example.test", "listserv")
    dns_server.serve({"listserv._domainkey.lists.example.test": record})
    engine = RunningEngine(sealing, signing_clock()).start()
    try:
        make_list("team", members=MEMBERS)
        box = Mailbox(sink)
        trusted = "Authentication-Results: mx.lists.example.test; spf=pass smtp.mailfrom=example.com\r\n"
        send(engine.lmtp, "alice@example.com", TEAM, "Sealed", "Forwarded faithfully.\n", extra=trusted)
        bob, carol = box.expect("bob@example.com", "Sealed"), box.expect("carol@example.org", "Sealed")
        send(engine.lmtp, "stranger@example.net", "team-request@lists.example.test", "help")
        notice = box.expect("stranger@example.net")
    finally:
        engine.stop()
    lookup = KeyLookup(Resolver(dns_server.address, 2.0))
    copies = {m.rcpts[0]: m.data for m in sink.messages}
    for copy, rcpt in ((bob, "bob@example.com"), (carol, "carol@example.org")):
        assert copy["ARC-Seal"] and " cv=none" in " ".join(str(copy["ARC-Seal"]).split())
        assert "spf=pass" in str(copy["ARC-Authentication-Results"])
        assert "list-unsubscribe" not in str(copy["ARC-Message-Signature"]).lower()
        assert validate_chain(copies[rcpt], lookup).status.value == "pass"
        assert dkimpy_verifies(copies[rcpt], dns_server)
    assert notice["ARC-Seal"] is None and notice["DKIM-Signature"] is not None
