"""Atom feeds of a list and of a discussion, read back with feedparser: well-formed (bozo 0),
stable mid: ids, permalinks, text content escaped."""

from __future__ import annotations

from datetime import datetime

import feedparser
import pytest
from search_posts import GARDEN, mbox, message
from sqlalchemy import select

from listserv.archive.feed import Feed, FeedEntry, render_list_feed
from listserv.archive.feed_store import load_discussion_feed, load_list_feed
from listserv.discussions.tables import ThreadContainer
from listserv.mail.permalinks import permalink_path, post_token
from listserv.store import db, queries
from listserv.store.admin import get_list

BASE = "https://lists.example.test/archive"
HOSTILE = message("hostile@example.com", "<script>alert(1)</script> & \x07bell",
                  "Click <a href=javascript:alert(1)>here</a> ]]> &amp; done\n", minute=9)  # fmt: skip


@pytest.fixture
def sessions(cli, database_url, tmp_path):
    cli("list", "create", "corpus", "--name", "Corpus")
    cli("archive", "import", "corpus", str(mbox([*GARDEN, HOSTILE], tmp_path / "garden.mbox")))
    sql = db.open_engine(database_url)
    yield db.sessions(sql)
    sql.dispose()


def parsed_list_feed(sessions):
    with sessions() as session:
        lst = queries.list_info(get_list(session, "corpus@lists.example.test"))
        return feedparser.parse(render_list_feed(load_list_feed(session, lst, BASE)))


def test_the_list_feed_is_valid_atom_newest_first_with_permalinks(sessions):
    feed = parsed_list_feed(sessions)
    assert feed.bozo == 0 and feed.version == "atom10"
    assert feed.feed.title == "Corpus" and feed.feed.id.startswith("tag:lists.example.test,")
    assert [entry.id for entry in feed.entries] == [
        "mid:hostile@example.com", "mid:unicode@example.com", "mid:from-line@example.com", "mid:html@example.com",
        "mid:reply@example.com", "mid:compost@example.com", "mid:seeds@example.com"]  # fmt: skip
    html = feed.entries[3]
    assert (
        html.link == f"{BASE}/corpus/m/{post_token('html@example.com')}"
        and html.author_detail.email == "renee@example.net"
    )
    assert html.author_detail.name == "Renée Dupré" and html.content[0].value == "Look at my sunflowers & beans!"
    assert html.updated == "2024-11-04T10:03:00Z"
    assert parsed_list_feed(sessions).entries[0].id == "mid:hostile@example.com"  # the same ids every time


def test_text_from_mail_stays_text(sessions):
    hostile = parsed_list_feed(sessions).entries[0]
    assert hostile.title == "<script>alert(1)</script> &  bell"
    assert hostile.content[0].type == "text/plain"
    assert hostile.content[0].value == "Click <a href=javascript:alert(1)>here</a> ]]> &amp; done"


def test_the_discussion_feed_holds_its_posts(sessions):
    with sessions() as session:
        lst = queries.list_info(get_list(session, "corpus@lists.example.test"))
        key = select(ThreadContainer.discussion_id).where(ThreadContainer.message_id == "reply@example.com")
        discussion = session.scalar(key)
        feed = load_discussion_feed(session, lst, discussion, BASE)
        assert feed is not None and load_discussion_feed(session, lst, discussion + 100, BASE) is None
    parsed = feedparser.parse(render_list_feed(feed))
    assert parsed.bozo == 0 and parsed.feed.title == "Composting basics"
    assert [entry.id for entry in parsed.entries] == ["mid:reply@example.com", "mid:compost@example.com"]
    assert parsed.feed.link == f"{BASE}/corpus/d/{discussion}"


def test_permalinks_carry_any_message_id_in_one_path_segment():
    path = permalink_path("corpus", "<a/b?c#d%e f@x.example>")
    assert path == "/corpus/m/" + post_token("a/b?c#d%e f@x.example")
    assert path.count("/") == 3 and not set(path) & set("?#% ")
    entry = FeedEntry("odd/id@x", "t", "", "", datetime(2024, 1, 1), "")
    feed = Feed("tag:x,2024-01-01:l", "L", "", "https://x/l/feed.atom", "https://x/l/", "l", "https://x", datetime(2024, 1, 1),
                (entry,))  # fmt: skip
    parsed = feedparser.parse(render_list_feed(feed))
    assert parsed.bozo == 0 and parsed.entries[0].link == "https://x/l/m/" + post_token("odd/id@x")
    assert parsed.entries[0].author == "unknown"
