"""`listserv archive build LIST OUTDIR`: the same pages as static files, every relative link resolving."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import unquote

from listserv.mail.permalinks import post_token
from support.browser import PHONE


def message(mid: str, sender: str, subject: str, hour: int, parent: str = "", body: str = "body\n") -> bytes:
    headers = (
        f"From: {sender}\nSubject: {subject}\nMessage-ID: <{mid}>\nDate: Mon, 30 Nov 2009 {hour:02d}:00:00 +0000\n"
    )
    if parent:
        headers += f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
    return f"From {sender} Mon Nov 30 {hour:02d}:00:00 2009\n{headers}\n{body}\n".encode()


def with_attachment(mid: str) -> bytes:
    pdf = base64.encodebytes(b"%PDF-1.4 minutes").decode()
    return (f"From carol@x.org Mon Nov 30 09:00:00 2009\nFrom: carol@x.org\nSubject: Minutes\nMessage-ID: <{mid}>\n"
            "Date: Mon, 30 Nov 2009 09:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z\n\n"
            "--z\nContent-Type: text/plain\n\nThe minutes are attached.\n--z\nContent-Type: application/pdf\n"
            f"Content-Disposition: attachment; filename=\"minutes 2009.pdf\"\nContent-Transfer-Encoding: base64\n\n{pdf}"
            "--z--\n\n").encode()  # fmt: skip


ARCHIVE = b"".join([
    message("a@x.org", "alice@x.org", "Retrospectives", 1, body="How do you run them?\n"),
    message("a1@x.org", "bob@x.org", "Re: Retrospectives", 2, "a@x.org", "With sticky notes.\n> How do you run them?\n"),
    message("b@x.org", "bob@x.org", "Facilitation <b>tips</b>", 5),
    with_attachment("m@x.org"),
    *[message(f"n{i}@x.org", "dan@x.org", f"Topic {i}", 10) for i in range(60)],  # two index pages
])  # fmt: skip


def broken_links(out: Path) -> list[str]:
    broken = []
    for page in out.rglob("*.html"):
        for href in re.findall(r'href="([^"#]+)', page.read_text()):
            if not href.startswith(("http:", "https:", "mailto:")) and not (page.parent / unquote(href)).exists():
                broken.append(f"{page.relative_to(out)} -> {href}")
    return broken


def test_a_static_build_writes_every_page_and_attachment_with_working_relative_links(cli, tmp_path, browser):
    cli("list", "create", "team", "--name", "Team")
    (tmp_path / "team.mbox").write_bytes(ARCHIVE)
    cli("archive", "import", "team", str(tmp_path / "team.mbox"))
    out = tmp_path / "site"
    report = cli("archive", "build", "team", str(out))
    assert "63 discussions, 64 posts, 1 attachments" in report

    assert (out / "index.html").is_file() and (out / "page" / "2.html").is_file() and (out / "archive.css").is_file()
    post = out / "m" / f"{post_token('a1@x.org')}.html"
    assert "With sticky notes." in post.read_text() and "Retrospectives" in post.read_text()
    attachment = out / "a" / post_token("m@x.org")
    assert [p.read_bytes() for p in attachment.rglob("*.pdf")] == [b"%PDF-1.4 minutes"]
    assert "Facilitation &lt;b&gt;tips&lt;/b&gt;" in (out / "page" / "2.html").read_text()  # older: page 2
    assert broken_links(out) == []

    browser.open((out / "index.html").as_uri(), PHONE)
    browser.run("document.querySelector('a[rel=next]').click()")  # older discussions
    browser.run(
        "Array.from(document.querySelectorAll('ol.discussions a')).find(a => a.textContent == 'Retrospectives').click()"
    )
    assert "How do you run them?" in browser.text() and "With sticky notes." in browser.text()
    assert browser.run("return getComputedStyle(document.body).fontFamily").startswith("system-ui")
    assert not browser.overflows()


def test_building_an_unknown_list_is_one_clear_line(cli, tmp_path):
    output = cli("archive", "build", "nosuch", str(tmp_path / "x"), code=1)
    assert "nosuch" in output and "Traceback" not in output
