"""DMARC mitigation through the real engine: policies served by a real DNS server on loopback,
posts in by LMTP, copies out to a real SMTP sink."""

from __future__ import annotations

import logging
import time

from support.mail import lmtp_send, make_post, parse

LIST = "team@lists.example.test"
MEMBERS = ["bob@example.net", "carol@example.org"]
THREAD = "In-Reply-To: <p0@example.net>\r\nReferences: <p0@example.net>\r\n"


def deliver(engine, sink, sender: str, count: int = 2, extra: str = THREAD):
    post = make_post(sender, extra=extra)
    replies = lmtp_send(engine.lmtp, sender.rpartition("<")[2].strip(">"), [LIST], post)
    assert replies[LIST].startswith("250")
    received = sink.wait_for(count)
    assert sorted(rcpt for rcpt, _ in received) == sorted(MEMBERS)
    return parse(received[0][1]), post


def test_a_post_from_a_reject_domain_comes_from_the_list_and_replies_reach_the_author(
    engine, sink, make_list, dns_server, caplog
):
    dns_server.serve({"_dmarc.yahoo.example": "v=DMARC1; p=reject; rua=mailto:d@yahoo.example"})
    make_list("team", members=MEMBERS, nonmember_action="accept")
    with caplog.at_level(logging.INFO, logger="listserv.dmarc"):
        message, _ = deliver(engine, sink, "Ana Lopez <ana@yahoo.example>")
    assert message["From"] == "Ana Lopez via Team <team@lists.example.test>"
    assert message["Reply-To"] == message["X-Original-From"] == "Ana Lopez <ana@yahoo.example>"
    assert (message["Message-ID"], message["In-Reply-To"]) == ("<p1@example.com>", "<p0@example.net>")
    assert message["Subject"] == "[team] Hello" and message["List-Id"] == '"Team" <team.lists.example.test>'
    assert "dmarc mitigated list=team@lists.example.test msgid=<p1@example.com> action=munge policy=reject" in (
        caplog.text
    )


def test_a_list_that_sets_reply_to_itself_copies_the_author(engine, sink, make_list, dns_server):
    dns_server.serve({"_dmarc.corp.example": "v=DMARC1; p=quarantine"})
    make_list("team", members=MEMBERS, nonmember_action="accept", reply_to="list")
    message, _ = deliver(engine, sink, "Ana <ana@corp.example>")
    assert message["From"] == "Ana via Team <team@lists.example.test>"
    assert message["Reply-To"] == LIST
    assert message["Cc"] == "Ana <ana@corp.example>"


def test_p_none_and_no_record_leave_the_from_alone(engine, sink, make_list, dns_server):
    dns_server.serve({"_dmarc.relaxed.example": "v=DMARC1; p=none; sp=reject"})
    make_list("team", members=MEMBERS, nonmember_action="accept")
    make_list("other", members=MEMBERS, nonmember_action="accept")  # known to the listener before it starts
    message, _ = deliver(engine, sink, "Ana <ana@relaxed.example>")
    assert message["From"] == "Ana <ana@relaxed.example>" and message["X-Original-From"] is None
    sink.handler.messages.clear()
    post = make_post("Ana <ana@nowhere.example>", to="other@lists.example.test", msgid="<p2@example.com>")
    lmtp_send(engine.lmtp, "ana@nowhere.example", ["other@lists.example.test"], post)
    assert parse(sink.wait_for(2)[0][1])["From"] == "Ana <ana@nowhere.example>"


def test_a_subdomain_takes_sp_from_its_organisational_domain(engine, sink, make_list, dns_server):
    # the Public Suffix List puts example.co.uk right under the public suffix co.uk
    dns_server.serve({"_dmarc.example.co.uk": "v=DMARC1; p=none; sp=reject"})
    make_list("team", members=MEMBERS, nonmember_action="accept")
    message, _ = deliver(engine, sink, "Ana <ana@mail.example.co.uk>")
    assert message["From"] == "Ana via Team <team@lists.example.test>"
    assert message["Reply-To"] == "Ana <ana@mail.example.co.uk>"


def test_a_subdomain_with_its_own_record_follows_it(engine, sink, make_list, dns_server):
    dns_server.serve({"_dmarc.example.co.uk": "v=DMARC1; p=reject", "_dmarc.news.example.co.uk": "v=DMARC1; p=none"})
    make_list("team", members=MEMBERS, nonmember_action="accept")
    message, _ = deliver(engine, sink, "Ana <ana@news.example.co.uk>")
    assert message["From"] == "Ana <ana@news.example.co.uk>"


def test_always_mitigates_without_a_record_and_never_leaves_a_reject_domain_alone(engine, sink, make_list,
                                                                                 dns_server):  # fmt: skip
    dns_server.serve({"_dmarc.yahoo.example": "v=DMARC1; p=reject"})
    make_list("team", members=MEMBERS, nonmember_action="accept", dmarc_mitigation="always", dmarc_author_reply="cc")
    make_list("other", members=MEMBERS, nonmember_action="accept", dmarc_mitigation="never")
    message, _ = deliver(engine, sink, "ana@nowhere.example")
    assert message["From"] == "ana via Team <team@lists.example.test>"
    assert message["Cc"] == "ana@nowhere.example" and message["Reply-To"] is None
    sink.handler.messages.clear()
    post = make_post("Ana <ana@yahoo.example>", to="other@lists.example.test", msgid="<p2@example.com>")
    lmtp_send(engine.lmtp, "ana@yahoo.example", ["other@lists.example.test"], post)
    message = parse(sink.wait_for(2)[0][1])
    assert message["From"] == "Ana <ana@yahoo.example>" and message["X-Original-From"] is None


def test_wrap_sends_the_original_whole_as_a_message_rfc822_part(engine, sink, make_list, dns_server):
    dns_server.serve({"_dmarc.yahoo.example": "v=DMARC1; p=reject"})
    make_list("team", members=MEMBERS, nonmember_action="accept", dmarc_action="wrap")
    message, post = deliver(engine, sink, "Ana Lopez <ana@yahoo.example>")
    original = parse(post)
    assert message.get_content_type() == "multipart/mixed"
    assert message["From"] == "Ana Lopez via Team <team@lists.example.test>"
    assert message["Reply-To"] == "Ana Lopez <ana@yahoo.example>"
    assert (message["Subject"], message["Message-ID"]) == ("[team] Hello", original["Message-ID"])
    assert message["References"] == original["References"]
    note, attached, footer = message.get_payload()
    assert attached.get_content_type() == "message/rfc822"
    [inner] = attached.get_payload()
    assert inner.items() == original.items()
    assert inner.get_payload(decode=True) == original.get_payload(decode=True)
    assert "team-request@lists.example.test" in footer.get_payload(decode=True).decode()


def test_a_silent_dns_server_delays_a_post_by_at_most_the_timeout_and_it_goes_out_mitigated(
    engine, sink, make_list, dns_server, caplog, settings
):
    make_list("team", members=MEMBERS, nonmember_action="accept")
    dns_server.stop()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="listserv.dmarc"):
        message, _ = deliver(engine, sink, "Ana <ana@somewhere.example>")
    assert time.monotonic() - started < settings.dns_timeout + 3
    assert message["From"] == "Ana via Team <team@lists.example.test>"
    assert message["Reply-To"] == "Ana <ana@somewhere.example>"
    assert "dmarc policy unknown, mitigating list=team@lists.example.test" in caplog.text
    assert "timeout" in caplog.text.lower()


def test_the_settings_refuse_what_they_do_not_know(cli):
    cli("list", "create", "team@lists.example.test", "--name", "Team")
    assert "dmarc_mitigation must be one of: policy, always, never" in cli(
        "list", "set", "team", "dmarc_mitigation", "sometimes", code=1
    )
    cli("list", "set", "team", "dmarc_action", "wrap")
    cli("list", "set", "team", "dmarc_author_reply", "cc")
    shown = cli("list", "show", "team").splitlines()
    assert {"dmarc_mitigation: policy", "dmarc_action: wrap", "dmarc_author_reply: cc"} <= set(shown)
