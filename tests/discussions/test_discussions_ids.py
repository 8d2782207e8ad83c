"""Message-IDs picked from the header forms real clients wrote (issue 13), by syntax and context:
never the author's address, never the sender's, never a bare address in a phrase."""

from __future__ import annotations

import pytest

from listserv.discussions.headers import thread_input
from listserv.discussions.ids import parse_msgids, pick_in_reply_to
from listserv.discussions.subjects import is_generic_title, normalize_subject

MH = (
    'Message from Jane Doe <jane@example.com> of "Mon, 02 Sep 2002 10:00:00 PDT." <20020902170000.ABC@host.example.com>'
)


@pytest.mark.parametrize(
    ("in_reply_to", "expected"),
    [
        (MH, "20020902170000.ABC@host.example.com"),  # exmh / nmh
        ('Message from "Martin J. Bligh" <mbligh@aracnet.com> \n   of "Mon, 14 Oct 2002 16:35:12 PDT."'
         " <2001880782.1034613312@[10.10.2.3]>", "2001880782.1034613312@[10.10.2.3]"),  # folded, literal host
        ("<jane@example.com>'s message of Mon, 2 Sep 2002 10:00:00 -0700", None),  # only an address
        ("<3D72BA8F.30303@barrera.org> (Jane Doe's message of \"Mon, 2 Sep <x@y.org>\")", "3D72BA8F.30303@barrera.org"),
        ('<E17tS0T-0001zD-00@rds059> from "Jane" at Sep 2, 2002 10:00:00 am', "E17tS0T-0001zD-00@rds059"),
        ("message from miguel@nuclecu.unam.mx of 10 Jul 1997 23:28:17 CDT", None),  # a bare address in a phrase
        ("message from Robert L. Harris on Tuesday July 29", None),  # Emacs VM: no id at all
        ("Your message from Mon, 2 Sep 2002 <1030015585.13258@munnari.OZ.AU>",
         "1030015585.13258@munnari.OZ.AU"),  # "from" a date: the group is the id
        ("Message from Jane Doe <jane.doe@example.com>", None),  # an address alone
        ('Message from fork-request@xent.com of "Wed, 21 Aug 2002 11:30:03 PDT."'
         " <20020821183003.25673.41476.Mailman@lair.xent.com>",
         "20020821183003.25673.41476.Mailman@lair.xent.com"),  # a bare address, then the id
        ("Message from pll@lanminds.com of Fri, 26 Jul 2002 10:06:41 EDT"
         " <200207252206.g6PM6lFw021279@fsck.intern.waldner.priv.at> <20020726140641.72641F6EB@tater>",
         "20020726140641.72641F6EB@tater"),  # two ids after a phrase: the last is the one replied to
        ('ralf@uni-koblenz.de "Re: SGI/Linux on a Challenge S series" (Jan 11, 21:12)', None),  # Elm: a bare address
        ("1030015585.13258@munnari.OZ.AU", "1030015585.13258@munnari.OZ.AU"),  # no angle brackets
        ("<Pine.LNX.4.33.0208240101180.25180-100000@watcher.mithral.c\n om>",
         "Pine.LNX.4.33.0208240101180.25180-100000@watcher.mithral.com"),  # folded inside the id
        ("<yes>", None),  # git-send-email's answer to "Message-ID to be used as In-Reply-To?"
        ("<20021003130229.6F0C716F16@spamass", None),  # cut off
    ],
)  # fmt: skip
def test_in_reply_to_forms(in_reply_to: str, expected: str | None) -> None:
    assert pick_in_reply_to(in_reply_to, (), addresses={"kre@munnari.oz.au"}) == expected


def test_the_messages_own_addresses_are_never_ids() -> None:
    assert pick_in_reply_to("<kre@munnari.OZ.AU> <9627.1029933001@munnari.OZ.AU>", (),
                            addresses={"kre@munnari.oz.au"}) == "9627.1029933001@munnari.OZ.AU"  # fmt: skip


def test_an_address_the_message_is_sent_to_is_not_an_id_in_references() -> None:
    headers = {"from": "Ralf <ralf@uni-koblenz.de>", "to": "adevries@engsoc.carleton.ca (Alex deVries)",
               "references": "<Pine.LNX.3.96.981222224859.1946C-100000@lager.engsoc.carleton.ca>\n"
                             " <adevries@engsoc.carleton.ca> <19981223181052.A1143@uni-koblenz.de>",
               "in-reply-to": "<19981223181052.A1143@uni-koblenz.de>"}  # fmt: skip
    msg = thread_input(headers, "19981224190545.A648@uni-koblenz.de", None)
    assert msg.references == ("Pine.LNX.3.96.981222224859.1946C-100000@lager.engsoc.carleton.ca",
                              "19981223181052.A1143@uni-koblenz.de")  # fmt: skip


def test_an_id_references_names_wins_and_a_lone_mailbox_gives_way_to_references() -> None:
    refs = ("1029945287.4797.TMDA@deepeddy.vircio.com",)
    assert pick_in_reply_to("<cwg@deepeddy.com> <1029945287.4797.TMDA@deepeddy.vircio.com>", refs) == refs[0]
    assert pick_in_reply_to("<jane.doe@example.com>", refs) is None  # References decides
    assert pick_in_reply_to("<jane.doe@example.com>", ()) == "jane.doe@example.com"  # nothing better


@pytest.mark.parametrize(
    ("references", "expected"),
    [
        ("<a.1@x.org> (Jane's message) <b.2@x.org>", ["a.1@x.org", "b.2@x.org"]),  # comments
        ("<a.1@x.org>\n\t<b.2@x.org>\n <c.3@x.org>", ["a.1@x.org", "b.2@x.org", "c.3@x.org"]),  # folded
        ("<a.1@x.org> <b.2@x.org> <c.3@x.", ["a.1@x.org", "b.2@x.org"]),  # truncated
        ("<a.1@x.org> <a.1@x.org> <b.2@x.org>", ["a.1@x.org", "a.1@x.org", "b.2@x.org"]),  # repeats: the chain dedupes
        ("a.1@x.org b.2@x.org", ["a.1@x.org", "b.2@x.org"]),  # no angle brackets
        ("<a.1@x.org> (nested (comment <z@z.org>) here)", ["a.1@x.org"]),
        ('"quoted <q@x.org>" <a.1@x.org>', ["a.1@x.org"]),
    ],
)
def test_references_forms(references: str, expected: list[str]) -> None:
    assert parse_msgids(references) == expected


def test_in_reply_to_disagreeing_with_references_keeps_both_the_references_chain_first() -> None:
    headers = {"from": "Kevin <kevin@x.org>", "references": "<root.1@x.org> <mid.2@x.org>",
               "in-reply-to": "<other.3@x.org>", "subject": "Re: plans"}  # fmt: skip
    msg = thread_input(headers, "me.4@x.org", None)
    assert (msg.references, msg.in_reply_to) == (("root.1@x.org", "mid.2@x.org"), "other.3@x.org")


@pytest.mark.parametrize(
    ("value", "count"),
    [("(" * 100_000 + "<a@b>", 1), ('"' * 100_001 + "<a@b>", 1), ("<" * 100_000 + "a@b>", 1),
     ('"' + '\\"' * 50_000, 0), ("from " * 20_000 + "<a@b>", 0), ("<a@b>" * 20_000, 20_000)],
)  # fmt: skip
def test_hostile_values(value: str, count: int) -> None:
    """Unclosed comments, quotes and brackets by the 100,000 (a quadratic scan would not finish)."""
    assert len(parse_msgids(value)) == count


@pytest.mark.parametrize(
    ("subject", "generic"),
    [("Re: Help!", True), ("Re: [ILUG]", True), ("RE: question?", True), ("Re: test", True), ("", True),
     ("Re: help with exmh sequences", False), ("Re: [ILUG] Dell GX260 V Redhat 7.3", False)],
)  # fmt: skip
def test_generic_titles(subject: str, generic: bool) -> None:
    assert is_generic_title(normalize_subject(subject)) is generic


def test_two_reply_posts_titled_help_never_merge_by_subject() -> None:
    from datetime import datetime

    from listserv.discussions.jwz import build_forest
    from listserv.discussions.model import ThreadInput

    forest = build_forest([
        ThreadInput("h1.1@x.org", None, (), "Re: [ILUG] Help!", datetime(2002, 9, 2, 10)),
        ThreadInput("h2.2@x.org", None, (), "Re: [ILUG] help", datetime(2002, 9, 2, 11)),
        ThreadInput("d1.3@x.org", None, (), "Dell GX260", datetime(2002, 9, 2, 9)),
        ThreadInput("d2.4@x.org", None, (), "RE: Dell GX260", datetime(2002, 9, 2, 12)),
    ], prefixes=("[ILUG]",))  # fmt: skip
    assert sorted(sorted(t.message_ids()) for t in forest.threads) == [
        ["d1.3@x.org", "d2.4@x.org"], ["h1.1@x.org"], ["h2.2@x.org"]]  # fmt: skip
