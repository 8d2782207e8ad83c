"""The library page over real HTTP against `listserv serve`: it follows the archive's access and
links each resource back to the post that shared it."""

from __future__ import annotations

import pytest

from listserv.mail.permalinks import permalink_path
from support.archive import http_get, start_archive_engine
from support.conversation import send, settle

TEAM = "team@lists.example.test"


@pytest.fixture
def running(settings, clock):
    engine = start_archive_engine(settings, clock)
    yield engine
    engine.stop()


def test_the_library_page_is_served_with_the_archive_and_links_back(running, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"], archive_access="public")
    first = send(running.lmtp, "alice@example.com", TEAM, "A guide",
                 "The retro guide I swear by: https://example.org/retro?utm_source=x <script>x</script>\n")  # fmt: skip
    settle(settings)
    page = http_get(running, "/team/library")
    assert page.status == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert 'href="https://example.org/retro"' in page.text and "<script>" not in page.text
    assert f'href="https://lists.example.test/listserv{permalink_path("team", first)}"' in page.text


def test_the_library_page_is_closed_with_a_private_archive(running, settings, make_list):
    make_list("team", members=["alice@example.com"], archive_access="private")
    assert http_get(running, "/team/library").status == 404


def test_a_members_library_asks_for_a_link(running, settings, make_list):
    make_list("team", members=["alice@example.com"], archive_access="members")
    page = http_get(running, "/team/library")
    assert page.status == 403 and "<form" in page.text
