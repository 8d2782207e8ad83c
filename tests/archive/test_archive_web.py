"""The web archive over real HTTP against `listserv serve`: pages, permalinks, the three access modes."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import pytest

from listserv.mail.permalinks import post_token
from support.archive import cookie_of, http_get, local_path, start_archive_engine
from support.conversation import Mailbox, body_of, send, settle, sql
from support.mail import lmtp_send

TEAM = "team@lists.example.test"
CSP = "default-src 'none'; style-src 'self'"


@pytest.fixture
def running(settings, clock):
    engine = start_archive_engine(settings, clock)
    yield engine
    engine.stop()


def converse(running, settings) -> tuple[str, str]:
    """Alice starts a discussion, Bob replies quoting her; returns both Message-IDs."""
    first = send(running.lmtp, "alice@example.com", TEAM, "Field notes on composting", "Our pile got hot at last.\n")
    reply = send(running.lmtp, "bob@example.com", TEAM, "Re: Field notes on composting",
                 "Great news! How long did it take?\n\nOn Monday, Alice wrote:\n> Our pile got hot at last.\n",
                 extra=f"In-Reply-To: {first}\r\nReferences: {first}\r\n")  # fmt: skip
    settle(settings)
    return first, reply


def test_a_public_archive_lists_discussions_and_threads_posts_with_quotes_folded(running, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    first, reply = converse(running, settings)

    index = http_get(running, "/team/")
    assert index.status == 200 and CSP in index.headers["Content-Security-Policy"]
    assert "Field notes on composting" in index.text and "2 posts, 2 participants" in index.text
    assert '<html lang="en">' in index.text and "<main" in index.text and 'href="archive.css"' in index.text
    (discussion,) = index.links(r"d/\d+")
    page = http_get(running, "/team/" + discussion)
    assert page.status == 200
    assert page.text.index("Our pile got hot") < page.text.index("How long did it take")  # thread order
    assert re.search(r"<details class=\"quote\"><summary>Quoted text \(2 lines\)</summary>\s*<pre>On Monday, "
                     r"Alice wrote:\n&gt; Our pile got hot at last.</pre>", page.text)  # fmt: skip
    assert 'class="post depth-1"' in page.text and "in reply to" in page.text
    assert http_get(running, "/team/archive.css").headers["Content-Type"].startswith("text/css")
    assert http_get(running, "/team").status == 301


def test_delivered_posts_carry_their_permalink_and_it_opens_the_post(running, settings, make_list, sink):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    box = Mailbox(sink)
    first, _ = converse(running, settings)
    copy = box.expect("bob@example.com", "Field notes on composting")
    url = copy["Archived-At"].strip("<>")
    assert url == f"https://lists.example.test/listserv/team/m/{post_token(first.strip('<>'))}"
    assert f"Archived at {url}" in body_of(copy)
    page = http_get(running, local_path(url))
    assert page.status == 200 and "Our pile got hot at last." in page.text and "alice" in page.text.lower()
    assert http_get(running, "/team/m/" + post_token("never@example.com")).status == 404
    assert http_get(running, "/team/m/%%%").status == 404


def test_a_permalink_survives_a_rename_of_the_list_and_its_rethreading(running, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    first, reply = converse(running, settings)
    path = "/team/m/" + post_token(reply.strip("<>"))
    before = http_get(running, path)
    sql(settings, "UPDATE lists SET name = 'Growers' WHERE address = :a", a=TEAM)
    sql(settings, "UPDATE thread_containers SET parent_id = NULL")  # a moderator's split, say
    after = http_get(running, path)
    assert before.status == after.status == 200 and "How long did it take?" in after.text and "Growers" in after.text


def test_a_private_archive_has_no_pages(running, settings, make_list, sink):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="private")
    box = Mailbox(sink)
    first, _ = converse(running, settings)
    assert box.expect("bob@example.com", "Field notes")["Archived-At"] is None
    for path in ("/team/", "/team/d/1", "/team/m/" + post_token(first.strip("<>")), "/nosuchlist/"):
        assert http_get(running, path).status == 404, path


def test_a_members_archive_needs_a_mailed_link_that_expires_and_cannot_be_forged(running, settings, make_list,
                                                                                sink, clock):  # fmt: skip
    make_list("team", members=["alice@example.com", "bob@example.com"])  # members: the default
    box = Mailbox(sink)
    converse(running, settings)
    closed = http_get(running, "/team/")
    assert (
        closed.status == 403 and "team-request@lists.example.test" in closed.text and 'action="access"' in closed.text
    )
    assert "Field notes" not in closed.text

    asked = http_get(running, "/team/access", form={"email": "Bob@Example.com"})
    stranger = http_get(running, "/team/access", form={"email": "mallory@example.net"})
    assert asked.status == stranger.status == 200 and asked.body == stranger.body  # says nothing about who is a member
    mail = box.expect("bob@example.com", "Your link to the Team archive")
    link = re.search(r"https://\S+", body_of(mail))[0]
    settle(settings)
    assert not [m for m in sink.messages if "mallory@example.net" in m.rcpts]

    traded = http_get(running, local_path(link))
    assert traded.status == 303 and traded.headers["Location"] == "/listserv/team/"
    set_cookie = traded.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Secure" in set_cookie
    cookie = cookie_of(traded)
    page = http_get(running, "/team/", cookie=cookie)
    assert page.status == 200 and "Field notes on composting" in page.text
    assert page.headers["Cache-Control"].startswith("private")

    name, _, key = cookie.partition("=")
    tampered = key.replace(key.split(".")[0], key.split(".")[0][:-2] + "QQ")
    forged = http_get(running, "/team/", cookie=f"{name}={tampered}")
    assert forged.status == 403 and "This link is not valid" in forged.text and "Field notes" not in forged.text

    clock.advance(timedelta(days=31))
    expired = http_get(running, "/team/", cookie=cookie)
    assert expired.status == 403 and "This link has expired" in expired.text and "archive" in expired.text


def test_a_member_who_left_loses_the_archive(running, settings, make_list, sink):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="members")
    box = Mailbox(sink)
    converse(running, settings)
    http_get(running, "/team/access", form={"email": "bob@example.com"})
    link = re.search(r"https://\S+", body_of(box.expect("bob@example.com", "Your link")))[0]
    cookie = cookie_of(http_get(running, local_path(link)))
    assert http_get(running, "/team/", cookie=cookie).status == 200
    sql(settings, "DELETE FROM members WHERE email = 'bob@example.com'")
    assert http_get(running, "/team/", cookie=cookie).status == 403


def test_a_member_mails_archive_to_the_request_address_and_gets_a_working_link(running, settings, make_list, sink):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    box = Mailbox(sink)
    converse(running, settings)
    send(running.lmtp, "bob@example.com", "team-request@lists.example.test", "archive")
    box.expect("bob@example.com", "Field notes")
    answer = body_of(box.expect("bob@example.com"))
    link = re.search(r"https://lists\.example\.test/listserv/team/\?key=\S+", answer)[0]
    cookie = cookie_of(http_get(running, local_path(link)))
    assert "Field notes on composting" in http_get(running, "/team/", cookie=cookie).text

    box.expect("alice@example.com", "Field notes")
    send(running.lmtp, "mallory@example.net", "team-request@lists.example.test", "archive")
    assert "?key=" not in body_of(box.expect("mallory@example.net"))


def test_a_message_id_too_long_for_a_file_name_still_has_a_working_permalink(running, settings, make_list):
    make_list("team", members=["alice@example.com"], archive_access="public")
    long_id = "x" * 200 + "@example.com"
    raw = (f"From: alice@example.com\r\nTo: {TEAM}\r\nSubject: Long one\r\nMessage-ID: <{long_id}>\r\n"
           "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nA long Message-ID.\r\n").encode()  # fmt: skip
    assert lmtp_send(running.lmtp, "alice@example.com", [TEAM], raw)[TEAM].startswith("250")
    settle(settings)
    token = post_token(long_id)
    assert token.startswith("h-")
    page = http_get(running, f"/team/m/{token}")
    assert page.status == 200 and "A long Message-ID." in page.text
    assert http_get(running, "/team/m/h-" + "0" * 40).status == 404


def test_search_and_feeds_over_http_follow_the_archive(running, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    first, reply = converse(running, settings)
    found = http_get(running, "/team/search?q=pile")  # the search catches up with the index first
    assert "2 posts match" in found.text and "Field notes on composting" in found.text
    assert "<mark>pile</mark>" in found.text
    assert f'href="m/{post_token(first.strip("<>"))}"' in found.text
    assert "0 posts match" in http_get(running, "/team/search?q=%22nothing+like+this%22").text
    assert http_get(running, "/team/search?q=NEAR(%22&from=x").status == 200
    feed = feedparser.parse(http_get(running, "/team/feed.atom").text)
    assert feed.bozo == 0 and len(feed.entries) == 2
    assert feed.entries[0].link.endswith(post_token(reply.strip("<>")))
    (discussion,) = http_get(running, "/team/").links(r"d/\d+")
    thread = http_get(running, f"/team/{discussion}/feed.atom")
    assert thread.headers["Content-Type"].startswith("application/atom+xml")
    assert feedparser.parse(thread.text).bozo == 0
    assert http_get(running, "/team/d/999999/feed.atom").status == 404


def test_search_is_closed_with_the_archive(running, settings, make_list):
    make_list("team", members=["alice@example.com"], archive_access="members")
    assert http_get(running, "/team/search?q=x").status == 403
    assert http_get(running, "/team/feed.atom").status == 403
