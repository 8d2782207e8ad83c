"""Posts for the archive search, feed and export tests, as an mbox `archive import` reads."""

from __future__ import annotations

from pathlib import Path

BASE_DATE = "Mon, 04 Nov 2024 10:{minute:02d}:00 +0000"


def message(msgid: str, subject: str, body: str, sender: str = "Alice Example <alice@example.com>",
            minute: int = 0, extra: str = "", content_type: str = "text/plain; charset=utf-8") -> bytes:  # fmt: skip
    headers = (f"From: {sender}\nTo: corpus@lists.example.test\nSubject: {subject}\nMessage-ID: <{msgid}>\n"
               f"Date: {BASE_DATE.format(minute=minute)}\nMIME-Version: 1.0\nContent-Type: {content_type}\n"
               "Content-Transfer-Encoding: 8bit\n" + extra)  # fmt: skip
    return (headers + "\n" + body).encode("utf-8")


def mbox(messages: list[bytes], path: Path) -> Path:
    """mboxrd, as the tests of `archive import` write it."""
    with open(path, "wb") as out:
        for raw in messages:
            lines = raw.rstrip(b"\n").split(b"\n")
            quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
            out.write(b"From archive@example.org Mon Nov  4 10:00:00 2024\n" + b"\n".join(quoted) + b"\n\n")
    return path


GARDEN = [
    message("seeds@example.com", "Seed exchange in spring", "Who wants to swap tomato seeds?\nI have heirlooms.\n"),
    message(
        "compost@example.com",
        "Composting basics",
        "Gardening starts with compost: leaves, coffee grounds and patience.\n",
        minute=1,
    ),
    message(
        "reply@example.com",
        "Re: Composting basics",
        "> Gardening starts with compost\n\nWorms help the compost too.\n",
        sender="Bob Builder <bob@example.org>",
        minute=2,
        extra="In-Reply-To: <compost@example.com>\nReferences: <compost@example.com>\n",
    ),
    message(
        "html@example.com",
        "Photos",
        "<html><head><style>p{color:red}</style><script>var secretword = 1;"
        "</script></head><body><p>Look at my <b>sunflowers</b> &amp; beans!</p></body></html>",
        sender="=?utf-8?q?Ren=C3=A9e_Dupr=C3=A9?= <renee@example.net>",
        minute=3,
        content_type="text/html; charset=utf-8",
    ),
    message(
        "from-line@example.com",
        "Quoting",
        "Some text.\n\nFrom the archive at 10:30 we learned to mulch.\n>From quoted already\n",
        minute=4,
    ),
    message("unicode@example.com", "Café garden", "Le café et les pommes de terre.\n", minute=5),
]
