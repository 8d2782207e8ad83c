"""The archive's pure parts: permalink tokens, member keys, quote folding, file names, sanitising."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from listserv.archive.links import check_member_key, member_key
from listserv.archive.mailview import clean_html, safe_filename, text_blocks, view_message
from listserv.mail.permalinks import message_id_of, permalink, post_token

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 3, 2, 10, 0)


@pytest.mark.parametrize("message_id", ["a@b", "CAF=x+y/z@mail.gmail.com", "ünïcode@example.org", "x" * 180 + "@y"])
def test_a_permalink_token_is_url_and_file_safe_and_names_its_message_id(message_id):
    token = post_token(message_id)
    assert token == post_token(message_id) and len(token) <= 255 and "/" not in token and "=" not in token
    assert message_id_of(token) == (message_id if len(message_id.encode()) <= 180 else None)


def test_a_token_that_is_not_ours_names_nothing():
    assert [message_id_of(t) for t in ("", "%%%", "h-abc", "*bad*", "YUBi=")] == [None] * 5
    assert permalink("https://l.example/team", "a@b") == "https://l.example/team/m/YUBi"
    assert permalink("", "a@b") == ""


def test_a_member_key_holds_for_its_list_until_it_expires():
    key = member_key(SECRET, 1, "bob@example.com", NOW)
    assert check_member_key(SECRET, 1, key, NOW + timedelta(days=29)).email == "bob@example.com"
    assert check_member_key(SECRET, 1, key, NOW + timedelta(days=30)).expired
    assert check_member_key(SECRET, 2, key, NOW).email is None  # another list
    assert check_member_key(b"another secret, just as long....", 1, key, NOW).email is None


@pytest.mark.parametrize("tamper", [
    lambda k: k.replace(k.split(".")[1], str(int(k.split(".")[1]) + 86400 * 365)),  # a later expiry
    lambda k: "Ym9iQGV4YW1wbGUub3Jn" + k[k.index("."):].replace("Ym9i", ""),  # someone else's address
    lambda k: k[:-3], lambda k: k + "A", lambda k: "x.y.z", lambda k: "", lambda k: "a" * 700,
])  # fmt: skip
def test_a_changed_key_is_refused(tamper):
    key = member_key(SECRET, 1, "alice@example.com", NOW)
    assert check_member_key(SECRET, 1, tamper(key), NOW).email is None


def test_quotes_fold_with_the_line_that_introduces_them():
    blocks = text_blocks("Yes.\n\nOn Monday, Alice wrote:\n> Who?\n>> Me\nThanks\n")
    assert [(b.quoted, b.text) for b in blocks] == [(False, "Yes."), (True, "On Monday, Alice wrote:\n> Who?\n>> Me"),
                                                    (False, "Thanks")]  # fmt: skip


@pytest.mark.parametrize(("name", "safe"), [("../../etc/passwd", "passwd"), ("a b<c>.pdf", "a_b_c_.pdf"),
                                            ("C:\\x\\y.doc", "y.doc"), ("", "attachment-3.bin"), ("...", "attachment-3.bin")])  # fmt: skip
def test_attachment_names_are_safe_in_urls_and_file_systems(name, safe):
    assert safe_filename(name, 3) == safe


def test_html_keeps_text_and_links_but_no_script_style_images_or_handlers():
    cleaned = clean_html('<p onclick="x()">Hi <a href="https://ok.example/">ok</a><script>bad()</script>'
                         '<img src="https://t.example/p.png"><span style="color:red">s</span></p>')  # fmt: skip
    assert cleaned == '<p>Hi <a href="https://ok.example/" rel="nofollow noopener noreferrer">ok</a><span>s</span></p>'


def test_a_message_with_text_shows_the_text_and_lists_its_attachments():
    raw = (b"From: Ann <ann@example.org>\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
           b"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=pic.png\r\n\r\nPNG\r\n--b--\r\n")  # fmt: skip
    view = view_message(raw)
    assert (view.author, view.subject, view.blocks[0].text, view.html) == ("Ann", "Café", "Hello", "")
    assert [(a.filename, a.content_type) for a in view.attachments] == [("pic.png", "image/png")]
