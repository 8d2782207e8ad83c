"""Reverse aliases through the real engine: a member's reply to LIST-author+TOKEN reaches the author."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from support.mail import lmtp_send, make_post, parse

LIST = "team@lists.example.test"
MEMBERS = ["bob@example.net", "carol@example.org"]


def test_a_members_reply_to_the_alias_reaches_the_author_and_others_are_told_why_not(engine, sink, make_list, clock,
                                                                                    caplog):  # fmt: skip
    make_list("team", members=MEMBERS, nonmember_action="accept", dmarc_mitigation="always",
              dmarc_author_reply="alias")  # fmt: skip
    lmtp_send(engine.lmtp, "ana@yahoo.example", [LIST], make_post("Ana Lopez <ana@yahoo.example>"))
    post = parse(sink.wait_for(2)[0][1])
    assert post["From"] == "Ana Lopez via Team <team@lists.example.test>"
    match = re.fullmatch(r"Ana Lopez via Team <(team-author\+[\w-]+@lists\.example\.test)>", post["Reply-To"])
    assert match, post["Reply-To"]
    alias = match.group(1)

    reply = make_post("Bob <bob@example.net>", to=alias, subject="Re: Hello", msgid="<r1@example.net>",
                      extra="DKIM-Signature: v=1; d=example.net; s=s; b=abc\r\n")  # fmt: skip
    assert lmtp_send(engine.lmtp, "bob@example.net", [alias], reply)[alias].startswith("250")
    rcpt, data = sink.wait_for(3)[2]
    forwarded = parse(data)
    assert rcpt == "ana@yahoo.example"
    assert forwarded["From"] == "Bob <bob@example.net>" and forwarded["X-BeenThere"] == "team-author@lists.example.test"
    assert forwarded["DKIM-Signature"] and forwarded.get_payload() == parse(reply).get_payload()

    outsider = make_post("mallory@elsewhere.example", to=alias, subject="Buy now", msgid="<m1@elsewhere.example>")
    lmtp_send(engine.lmtp, "mallory@elsewhere.example", [alias], outsider)
    rcpt, data = sink.wait_for(4)[3]
    assert rcpt == "mallory@elsewhere.example"
    assert "only members of the list" in parse(data).get_payload(decode=True).decode()

    with caplog.at_level(logging.INFO, logger="listserv.worker.author"):
        automatic = make_post("Bob <bob@example.net>", to=alias, msgid="<a1@example.net>",
                              extra="Auto-Submitted: auto-replied\r\n")  # fmt: skip
        lmtp_send(engine.lmtp, "bob@example.net", [alias], automatic)
        clock.advance(timedelta(days=91))
        late = make_post("Bob <bob@example.net>", to=alias, subject="Re: Hello again", msgid="<r2@example.net>")
        lmtp_send(engine.lmtp, "bob@example.net", [alias], late)
        rcpt, data = sink.wait_for(5)[4]
    assert rcpt == "bob@example.net"
    assert "unknown or has expired" in parse(data).get_payload(decode=True).decode()
    assert "author alias dropped list=team@lists.example.test msgid=<a1@example.net>" in caplog.text
    assert len(sink.deliveries()) == 5
