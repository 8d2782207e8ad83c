"""The digest's pure core: trimming, question heuristics, links, schedule, orders and votes,
re-threading, composition and the three message formats parsed back; and a real corpus."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_pure_imports import FORBIDDEN, PACKAGE, environment_reads, imports_of

from listserv.digest.compose import compose_digest
from listserv.digest.gather import post_item
from listserv.digest.model import (
    MIME,
    PLAIN,
    SUMMARY,
    DiscussionInfo,
    Gathered,
    Newcomer,
    PostItem,
    mailto,
    reply_address,
)
from listserv.digest.orders import next_occurrence, read_order, read_vote
from listserv.digest.questions import looks_like_question
from listserv.digest.reading import read_body, url_key
from listserv.digest.render import build_message, render_summary
from listserv.digest.rethread import rethread
from listserv.digest.schedule import (
    Schedule,
    last_due,
    next_due,
    parse_local,
    preview_at,
    to_utc,
)
from listserv.digest.trim import digest_excerpt, own_text
from listserv.mail.message import ListInfo
from listserv.mail.parse import parse_bytes
from listserv.render import Templates

LST = ListInfo(7, "team@lists.example.test", "Team", "Retrospectives", "[team]")
PURE = ("trim.py", "reading.py", "questions.py", "model.py", "compose.py", "schedule.py", "orders.py", "mime.py",
        "rethread.py")  # fmt: skip


@pytest.mark.parametrize("name", PURE)
def test_the_digests_pure_modules_do_no_io(name):
    path = PACKAGE / "digest" / name
    assert not [m for m in imports_of(path) if m.startswith(FORBIDDEN)]
    assert not environment_reads(path)


@pytest.mark.parametrize("text, expected", [
    ("Yes, starfish.\n\nOn Mon, 1 Dec 2026, Alice <a@x> wrote:\n> how?\n> really\n", "Yes, starfish."),
    ("Agreed.\n-- \nBob Smith\nACME Corp\n", "Agreed."),
    ("Top post.\n\n-----Original Message-----\nFrom: x\nSent: y\n", "Top post."),
    ("Short.\n\nFrom: Alice <a@x>\nSent: Monday\nTo: team\nSubject: Re\n\nOld text\n", "Short."),
    ("Answer\n\nSent from my iPhone\n", "Answer"),
    ("Text\n\n_______________________________________________\nTeam mailing list\n", "Text"),
    ("> quoted first\nmy inline answer\n> more quote\nsecond answer\n", "my inline answer\nsecond answer"),
    ("Line one\n\n\n\nLine two\n", "Line one\n\nLine two"),
])  # fmt: skip
def test_own_text_drops_quotes_attributions_signatures_and_footers(text, expected):
    assert own_text(text) == expected


def test_an_excerpt_is_the_first_words_cut_at_a_word():
    text = "word " * 200
    cut = digest_excerpt(text, max_chars=50)
    assert cut.endswith(" …") and len(cut) <= 52 and not cut[:-2].endswith(" ")


@pytest.mark.parametrize("subject, text, expected", [
    ("How do you run retros?", "", True),
    ("Re: [team] Which whiteboard tool", "", True),
    ("Anyone using Miro for retros", "", True),
    ("Retro formats", "I wonder: do you timebox? Thanks", True),
    ("Retro formats", "Any advice welcome.", True),
    ("Our team charter", "Sharing it with you all.", False),
    ("[ANN] Meetup next week?", "", False),
    ("Reminder: call tomorrow", "Will you join?", False),
    ("Thanks", "Great thread.", False),
])  # fmt: skip
def test_question_heuristics(subject, text, expected):
    assert looks_like_question(subject, text) is expected


def test_links_are_found_cleaned_and_keyed_and_attachments_named():
    raw = (
        b"From: a@x.example\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee (https://en.wikipedia.org/wiki/Retro_(agile)), and "
        b"https://Example.org/a/?utm_source=x.\r\n> https://quoted.example/old\r\n--b\r\n"
        b"Content-Type: application/pdf; name=charter.pdf\r\nContent-Disposition: attachment; filename=charter.pdf"
        b"\r\n\r\nJVBERi0=\r\n--b\r\nContent-Type: application/pgp-signature; name=signature.asc\r\n\r\nx\r\n--b--\r\n"
    )
    body = read_body(parse_bytes(raw))
    assert body.links == ("https://en.wikipedia.org/wiki/Retro_(agile)", "https://Example.org/a/?utm_source=x")
    assert body.attachments == ("charter.pdf",)
    assert url_key("https://Example.org/a/?utm_source=x") == url_key("https://www.example.org/a")


def test_the_schedule_keeps_local_time_across_daylight_saving():
    paris = Schedule("weekly", "monday", 8, "Europe/Paris")
    winter = next_due(paris, datetime(2026, 3, 20))
    summer = next_due(paris, winter)
    assert winter == datetime(2026, 3, 23, 7, 0) and summer == datetime(2026, 3, 30, 6, 0)  # CET, then CEST
    assert last_due(paris, summer) == summer and last_due(paris, summer - timedelta(seconds=1)) == winter
    daily = Schedule("daily", hour=23, zone="America/New_York")
    assert next_due(daily, datetime(2026, 11, 1, 12, 0)) == datetime(2026, 11, 2, 4, 0)
    assert to_utc(datetime(2026, 3, 29, 2, 30), ZoneInfo("Europe/Paris")) == datetime(
        2026, 3, 29, 1, 30
    )  # a gap: 03:30
    assert preview_at(daily, datetime(2026, 11, 2, 4), datetime(2026, 11, 1, 4)) == datetime(2026, 11, 1, 16)
    assert parse_local("2026-12-07 09:00", paris) == datetime(2026, 12, 7, 8, 0)


def test_orders_by_mail_and_votes_are_read():
    now = datetime(2026, 12, 1, 12, 0)
    order = read_order("Feedback", "Kind: poll\nCloses: 2026-12-08 17:00\n\nHow useful?\n1. Not\n2) Somewhat\n3. Very\n",
                       Schedule(), now)  # fmt: skip
    assert (order.kind, order.options, order.body, order.problems) == (
        "poll",
        ("Not", "Somewhat", "Very"),
        "How useful?",
        (),
    )
    bad = read_order("", "At: tomorrow\nEvery: sometimes\n\nText", Schedule(), now)
    assert len(bad.problems) == 3
    assert read_order("Q", "Every: monday\n\nText", Schedule(), now).every == "weekly"
    options = ("Not", "Somewhat", "Very")
    assert [read_vote(v, options) for v in ("3", "b) ok", "(1)", "very", "C.", "4", "maybe", "")] == [
        3,
        2,
        1,
        3,
        3,
        None,
        None,
        None,
    ]
    assert next_occurrence(datetime(2026, 1, 31, 9), "monthly", Schedule()) == datetime(2026, 2, 28, 9)


def test_a_reply_is_rethreaded_under_the_post_and_its_digest_subject_replaced():
    raw = (
        b"From: c@x\r\nSubject: Re: Team summary, Vol 1, Issue 3\r\nIn-Reply-To: <digest@l>\r\n"
        b"References: <digest@l>\r\n <older@l>\r\nMessage-ID: <r@x>\r\n\r\nBody\r\n"
    )
    out = rethread(raw, "<p@x>", "<root@x>", "Re: Retros")
    message = parse_bytes(out)
    assert message["In-Reply-To"] == "<p@x>" and message["References"].split() == ["<root@x>", "<p@x>"]
    assert message["Subject"] == "Re: Retros" and message.get_payload() == "Body\r\n"
    assert b"digest@l" not in out and out.count(b"\r\n") == out.count(b"\n")


def post(pid: int, discussion: int, subject: str, author: str, day: int, text: str, links: tuple[str, ...] = (),
         attachments: tuple[str, ...] = ()) -> PostItem:  # fmt: skip
    return PostItem(pid, discussion, subject, author, author.split("@")[0].title(), datetime(2026, 12, day, 10),
                    text, f"<{pid}@x>", "", attachments, links)  # fmt: skip


def gathered() -> Gathered:
    posts = (
        post(1, 1, "Retro formats?", "alice@x.example", 1, "Which formats do you use?"),
        post(
            2, 1, "Re: Retro formats?", "bob@x.example", 2, "Starfish https://example.net/s", ("https://example.net/s",)
        ),
        post(3, 2, "<script>alert(1)</script> tools", "carol@x.example", 3, "Miro & co", (), ("board.png",)),
        post(4, 3, "Re: Old thread", "dan@x.example", 4, "Still relevant", ("https://example.net/s/",)),
    )
    old = post(9, 4, "How to handle silence?", "erin@x.example", 1, "How do you handle silence?")
    return Gathered(LST, datetime(2026, 11, 30, 8), datetime(2026, 12, 7, 8), posts, candidates=(old,),
                    newcomers=(Newcomer("new@x.example", "Nina"), Newcomer("anon@x.example", "")))  # fmt: skip


def test_compose_fills_each_section_with_reply_addresses():
    digest = compose_digest(gathered(), Schedule(), 1, 3, 2)
    assert [i.subject for i in digest.new] == ["Retro formats?", "<script>alert(1)</script> tools", "Old thread"]
    assert digest.new[0].replies == 1 and digest.new[0].participants == 2
    assert digest.new[0].reply_address == reply_address(LST, 1) == "team-reply+1@lists.example.test"
    assert digest.new[0].reply_mailto == mailto("team-reply+1@lists.example.test", "Re: Retro formats?")
    assert [i.subject for i in digest.unanswered] == ["How to handle silence?"]
    assert [r.name for r in digest.resources] == ["https://example.net/s", "board.png"]  # the slash variant is a repeat
    assert digest.welcome == ("Nina",) and digest.more_welcome == 1 and digest.welcomed == ("new@x.example",)
    assert [(s.who, s.excerpt) for s in digest.new[0].said] == [("Bob", "Starfish https://example.net/s")]
    assert digest.period == "30 Nov – 7 Dec 2026" and digest.title == "Team summary, Vol 1, Issue 3"


def test_the_html_summary_is_escaped_and_every_format_parses_back():
    templates = Templates()
    digest = compose_digest(gathered(), Schedule(), 1, 3, 2)
    text, html = render_summary(templates, LST, digest)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<script>alert(1)</script>" in text
    raws = [
        f"From: {p.author}\r\nSubject: {p.subject}\r\nMessage-ID: {p.message_id}\r\n\r\n{p.text}\r\n".encode()
        for p in digest.posts
    ]
    summary = email.message_from_bytes(build_message(templates, LST, digest, SUMMARY, raws), policy=policy.default)
    assert [p.get_content_type() for p in summary.iter_parts()] == ["text/plain", "text/html"]
    mime = email.message_from_bytes(build_message(templates, LST, digest, MIME, raws), policy=policy.default)
    parts = list(mime.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "multipart/digest", "text/plain"]
    embedded = [p.get_content() for p in parts[1].iter_parts()]
    assert [m["Reply-To"] for m in embedded] == [f"team-reply+{n}@lists.example.test" for n in (1, 2, 3, 4)]
    plain = email.message_from_bytes(build_message(templates, LST, digest, PLAIN, raws), policy=policy.default)
    body = plain.get_content().replace("\r\n", "\n")
    assert body.count("\n" + "-" * 30 + "\n") == 4 and body.count("\n" + "-" * 70 + "\n") == 1


def corpus_files() -> list[Path]:
    from support.corpora import corpora

    root = corpora() / "notmuch_test_corpora" / "test" / "corpora"
    return sorted(p for folder in ("default", "lkml") for p in (root / folder).rglob("*") if p.is_file())


def test_a_real_corpus_renders_as_a_digest_without_quotes_and_parses_back():
    files = corpus_files()
    by_id: dict[str, int] = {}
    posts, raws = [], []
    for number, path in enumerate(files, start=1):
        raw = path.read_bytes()
        message = parse_bytes(raw)
        parents = (str(message.get("References", "")) + " " + str(message.get("In-Reply-To", ""))).split()
        root = next((by_id[p] for p in parents if p in by_id), number)
        item = post_item(number, root, datetime(2026, 12, 1) + timedelta(minutes=number), raw)
        by_id.setdefault(item.message_id, root)
        posts.append(item)
        raws.append(raw)
    assert len(posts) > 200
    half = len(posts) // 2  # the second half is this period; threads begun in the first half are ongoing
    period, raws = posts[half:], raws[half:]
    openings = {p.discussion_id: posts[p.discussion_id - 1] for p in period}
    discussions = {key: DiscussionInfo(key, o.subject, o.author, o.date, 0, o) for key, o in openings.items()}
    gathered = Gathered(LST, datetime(2026, 11, 30), datetime(2026, 12, 8), tuple(period), discussions)
    digest = compose_digest(gathered, Schedule(), 1, 1, 2)
    posts = period
    assert digest.new and digest.active and digest.resources
    for item in digest.new + digest.active:
        assert ">" not in item.excerpt[:1] and "\n" not in item.excerpt and len(item.excerpt) <= 330
        assert all(">" not in s.excerpt[:1] and "\n" not in s.excerpt and len(s.excerpt) <= 210 for s in item.said)
    assert all(i.continuing and not i.excerpt and i.said for i in digest.active)
    templates = Templates()
    text, html = render_summary(templates, LST, digest)
    assert "NEW DISCUSSIONS" in text and "CONTINUING DISCUSSIONS" in text and "RESOURCES SHARED" in text
    mime = email.message_from_bytes(build_message(templates, LST, digest, MIME, raws), policy=policy.compat32)
    assert len(mime.get_payload()[1].get_payload()) == len(posts)
    plain = build_message(templates, LST, digest, PLAIN, raws).decode("utf-8", "replace")
    assert "End of Team Digest, Vol 1, Issue 1" in plain
