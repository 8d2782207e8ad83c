"""RFC 8058 one-click unsubscribe: per-member links in list mail, served by `listserv serve`'s HTTP endpoint."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from support.conversation import Mailbox, body_of, send, settle, sql
from support.engine import RunningEngine

DOMAIN = "lists.example.test"
TEAM = f"team@{DOMAIN}"
PUBLIC = "https://lists.example.test/listserv"
URL = re.compile(r"<(https://[^>]+)>")


@pytest.fixture
def web_engine(settings):
    running = RunningEngine(replace(settings, public_url=PUBLIC + "/")).start()
    yield running
    running.stop()


def local(engine: RunningEngine, url: str) -> str:
    """The public link, as the TLS proxy in front would pass it on to our listener."""
    host, port = engine.service.web.address
    return f"http://{host}:{port}" + urlsplit(url).path.removeprefix("/listserv")


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def raw_http(engine: RunningEngine, data: bytes) -> bytes:
    with socket.create_connection(engine.service.web.address, timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def unsubscribe_link(message) -> str:
    return URL.search(" ".join(str(message["List-Unsubscribe"]).split()))[1]


def test_each_member_gets_their_own_one_click_link_and_a_post_unsubscribes(web_engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com", "carol@example.org"],
              one_click_unsubscribe="yes")  # fmt: skip
    box = Mailbox(sink)
    send(web_engine.lmtp, "alice@example.com", TEAM, "Retrospectives")
    bob, carol = box.expect("bob@example.com", "Retrospectives"), box.expect("carol@example.org", "Retrospectives")
    assert bob["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<mailto:team-leave@lists.example.test?subject=unsubscribe>" in str(bob["List-Unsubscribe"])
    bob_link, carol_link = unsubscribe_link(bob), unsubscribe_link(carol)
    assert bob_link.startswith(PUBLIC + "/unsubscribe/") and bob_link != carol_link and "%%" not in bob_link
    envelopes = {m.rcpts[0]: m.mail_from for m in sink.messages if len(m.rcpts) == 1}
    assert envelopes["bob@example.com"] == "team-bounces+bob=example.com@lists.example.test"  # personalised path

    status, page = fetch(local(web_engine, bob_link))  # a link scanner, or the member's browser
    assert status == 200 and "bob@example.com" in page and 'method="post"' in page
    assert 'action="/listserv/unsubscribe/' in page  # under public_url's path, where the proxy serves us
    status, _ = fetch(local(web_engine, bob_link), "HEAD")
    assert status == 200
    assert ("bob@example.com",) in sql(settings, "SELECT email FROM members")  # GET changes nothing

    status, page = fetch(local(web_engine, bob_link), "POST", b"List-Unsubscribe=One-Click")
    assert status == 200 and "has left Team" in page
    assert "has left the Team list" in body_of(box.expect("bob@example.com", "You have left Team"))
    assert ("bob@example.com",) not in sql(settings, "SELECT email FROM members")
    assert fetch(local(web_engine, bob_link), "POST", b"List-Unsubscribe=One-Click")[0] == 200  # again: harmless
    history = sql(settings, "SELECT event, detail FROM membership_events WHERE email = 'bob@example.com'")
    assert history == [("left", "one-click")]

    send(web_engine.lmtp, "alice@example.com", TEAM, "After bob left")
    box.expect("carol@example.org", "After bob left")
    settle(settings)
    assert box.unread() == []


def test_a_link_works_only_for_the_member_and_list_it_was_signed_for(web_engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com", "carol@example.org"],
              one_click_unsubscribe="yes")  # fmt: skip
    other = make_list("other", members=["bob@example.com"])
    box = Mailbox(sink)
    send(web_engine.lmtp, "alice@example.com", TEAM, "Hello")
    bob_link, carol_link = (unsubscribe_link(box.expect(a, "Hello")) for a in ("bob@example.com", "carol@example.org"))
    bob_name, bob_mac = bob_link.rsplit("/", 1)[1].split(".")
    carol_mac = carol_link.rsplit(".", 1)[1]
    [(team_id,)] = sql(settings, "SELECT id FROM lists WHERE address = :a", a=TEAM)
    [(other_id,)] = sql(settings, "SELECT id FROM lists WHERE address = :a", a=other)
    forged = [
        bob_link.rsplit("/", 1)[0] + f"/{bob_name}.{carol_mac}",  # carol's signature on bob's name
        bob_link.replace(f"/unsubscribe/{team_id}/", f"/unsubscribe/{other_id}/"),  # bob's link, another list
        bob_link[:-1] + ("a" if bob_link[-1] != "a" else "b"),  # one character changed
        bob_link.rsplit("/", 1)[0] + "/Ym9iQGV4YW1wbGUuY29t.aaaaaaaaaaaaaaaaaaaaaaaaaa",  # guessed
    ]
    for url in forged:
        status, page = fetch(local(web_engine, url), "POST", b"List-Unsubscribe=One-Click")
        assert status == 404 and "not valid" in page, url
    assert sorted(sql(settings, "SELECT email FROM members WHERE email = 'bob@example.com'")) == [
        ("bob@example.com",), ("bob@example.com",)]  # fmt: skip


def test_a_marker_a_poster_writes_stays_text_and_never_becomes_someone_elses_token(web_engine, sink, settings,
                                                                                 make_list):  # fmt: skip
    make_list("team", members=["alice@example.com", "bob@example.com"], one_click_unsubscribe="yes")
    [(team_id,)] = sql(settings, "SELECT id FROM lists WHERE address = :a", a=TEAM)
    marker = f"%%unsubscribe-token:{team_id}%%"
    send(
        web_engine.lmtp,
        "alice@example.com",
        TEAM,
        f"Look {marker}",
        f"body {marker}",
        extra=f"List-Unsubscribe: <https://evil.example/{marker}>\r\nX-Note: {marker}\r\n",
    )
    copy = Mailbox(sink).expect("bob@example.com", "Look")
    assert marker in str(copy["Subject"]) and marker in body_of(copy) and marker in str(copy["X-Note"])
    assert "evil.example" not in str(copy["List-Unsubscribe"]) and len(copy.get_all("List-Unsubscribe")) == 1


def test_lists_without_one_click_keep_the_shared_mailto_header(engine, sink, settings, make_list):
    make_list("team", members=["alice@example.com", "bob@example.com"])
    send(engine.lmtp, "alice@example.com", TEAM, "Plain")
    copy = Mailbox(sink).expect("bob@example.com", "Plain")
    assert copy["List-Unsubscribe"] == "<mailto:team-request@lists.example.test?subject=unsubscribe>"
    assert copy["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"GET /unsubscribe/1/x HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"PUT /unsubscribe/1/abc.def HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"405"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", b"400"),
        (b"GET /x HTTP/1.1\r\n\r\n", b"400"),  # RFC 9112 3.2: an HTTP/1.1 request without Host
        (b"POST /unsubscribe/1/a.b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"404"),
        (b"POST /unsubscribe/1/a.b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", b"400"),
        (b"POST /unsubscribe/1/a.b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", b"400"),
        (b"POST /unsubscribe/1/a.b HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", b"413"),
        (b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\nX-Big2: " + b"a" * 8000 + b"\r\n\r\n", b"431"),
        (b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", b"400"),
    ],
    ids=["root", "bad token", "put", "garbage", "bad header", "no host", "chunked", "other coding", "bad chunk",
         "big body", "big head", "huge header line"],
)  # fmt: skip
def test_the_http_endpoint_answers_bad_requests_briefly_and_keeps_serving(web_engine, make_list, request_bytes,
                                                                          status):  # fmt: skip
    """aiohttp answers what it cannot parse in HTTP/1.0 (which closes); everything else is HTTP/1.1
    with Connection: close. A POST's body is not read: the one-click action is the POST itself."""
    make_list("team")
    answer = raw_http(web_engine, request_bytes)
    assert re.match(rb"HTTP/1\.[01] " + status, answer), answer[:200]
    assert answer.startswith(b"HTTP/1.0") or b"Connection: close" in answer
    assert b"Traceback" not in answer
    assert raw_http(web_engine, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404")


def test_a_client_that_goes_quiet_does_not_keep_the_server_from_stopping(settings, make_list):
    running = RunningEngine(settings).start()
    quiet = socket.create_connection(running.service.web.address, timeout=10)
    quiet.sendall(b"GET /unsubscribe/1/")  # and nothing more
    try:
        running.stop()
    finally:
        quiet.close()


def test_a_chunked_one_click_post_from_a_proxy_unsubscribes(web_engine, sink, settings, make_list):
    """Caddy (and HTTP/2 clients) pass a POST on chunked, without Content-Length."""
    make_list("team", members=["alice@example.com", "bob@example.com"], one_click_unsubscribe="yes")
    box = Mailbox(sink)
    send(web_engine.lmtp, "alice@example.com", TEAM, "Hello")
    path = urlsplit(local(web_engine, unsubscribe_link(box.expect("bob@example.com", "Hello")))).path
    body = b"List-Unsubscribe=One-Click"
    request = (f"POST {path} HTTP/1.1\r\nHost: lists.example.test\r\nTransfer-Encoding: chunked\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n\r\n").encode()  # fmt: skip
    answer = raw_http(web_engine, request + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and b"has left Team" in answer
    assert ("bob@example.com",) not in sql(settings, "SELECT email FROM members")
