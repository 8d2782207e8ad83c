"""The library from real posts through LMTP: links, attachments, duplicates, DOIs and ISBNs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timezone
from email.message import EmailMessage
from email.utils import format_datetime

from listserv.library.approved import run_approved
from listserv.mail.permalinks import permalink_path
from support.digest_helpers import LIST, World
from support.library import ANN, BOB, CAT, resources


def with_attachment(world: World, sender: str, text: str, name: str, data: bytes, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, LIST, "Our toolkit", msgid
    msg["Date"] = format_datetime(world.now().replace(tzinfo=timezone.utc))
    msg.set_content(text)
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def test_posts_build_the_library_with_shares_again_and_what_was_said(world: World, cli: Callable[..., str]) -> None:
    world.post(ANN, "Retros", "The guide I swear by is https://Example.org/retro?utm_source=news#top for "
               "first retros.\nAlso the book ISBN 0-306-40615-2 and doi:10.1234/cop.42 on communities.\n", "<a1@x>")  # fmt: skip
    world.post(BOB, "Re: Retros", "> https://example.org/retro\nAgreed!\n", "<b1@x>", "In-Reply-To: <a1@x>\r\n")
    world.post(CAT, "Facilitation", "Same guide, cleaner link: https://example.org/retro?fbclid=abc works.\n"
               "Not a book: ISBN 978-0-306-40615-8.\n", "<c1@x>")  # fmt: skip
    world.send(BOB, LIST, with_attachment(world, BOB, "The checklist is in toolkit.pdf, page 2.\n", "toolkit.pdf",
                                          b"%PDF-1.4 our toolkit", "<b2@x>"))  # fmt: skip
    found = {r["url"] or r["label"]: r for r in resources(cli)}
    assert set(found) == {"https://example.org/retro", "9780306406157", "https://doi.org/10.1234/cop.42",
                          "toolkit.pdf"}  # fmt: skip
    guide = found["https://example.org/retro"]
    assert [(s["by"], s["again"], s["message_id"]) for s in guide["shares"]] == [  # type: ignore[index, union-attr]
        (ANN, False, "<a1@x>"), (CAT, True, "<c1@x>")]  # fmt: skip
    assert guide["shares"][0]["said"] == "The guide I swear by is for first retros."  # type: ignore[index]
    assert guide["shares"][0]["permalink"] == permalink_path("team", "<a1@x>")  # type: ignore[index]
    doc = found["toolkit.pdf"]
    assert doc["kind"] == "document" and doc["size"] == 20 and doc["content_type"] == "application/pdf"
    assert "page 2" in doc["shares"][0]["said"]  # type: ignore[index]
    assert "toolkit.pdf" in cli("resource", "ls", LIST)


def test_a_held_post_is_not_in_the_library(world: World, cli: Callable[..., str]) -> None:
    world.post("stranger@example.net", "Spam", "Buy at https://spam.example/now\n", "<s1@x>")
    assert resources(cli) == []


def test_a_held_post_joins_the_library_once_approved(world: World, cli: Callable[..., str]) -> None:
    world.post("guest@example.net", "A toolkit", "Our open toolkit: https://example.net/toolkit\n", "<s2@x>")
    assert resources(cli) == [] and run_approved(world.work) == 0
    held = json.loads(cli("held", "ls", LIST, "--json"))
    cli("held", "approve", str(held[0]["id"]))
    world.wait_processed()
    assert run_approved(world.work) == 1
    assert run_approved(world.work) == 0  # once
    [found] = resources(cli)
    assert (found["url"], found["shares"][0]["by"]) == ("https://example.net/toolkit", "guest@example.net")  # type: ignore[index]
