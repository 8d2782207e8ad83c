"""`listserv archive export LIST --mbox FILE`: mboxrd that `archive import` reads back into the
same posts, Message-IDs and discussions, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from search_posts import GARDEN, mbox, message

from listserv.discussions.mbox import split_mbox

CRLF = message("crlf@example.com", "Re: Seed exchange in spring", "Line one\nFrom here on, CRLF\n", minute=6,
               extra="In-Reply-To: <seeds@example.com>\n").replace(b"\n", b"\r\n")  # fmt: skip


def shape(cli, address: str) -> list[tuple[str, int, list[str]]]:
    return sorted((d["subject"], d["post_count"], d["message_ids"]) for d in json.loads(cli("thread", "ls", address,
                                                                                             "--json")))  # fmt: skip


def test_an_export_imports_into_another_list_with_the_same_posts_and_discussions(cli, tmp_path):
    cli("list", "create", "corpus", "--name", "Corpus")
    cli("list", "create", "copy", "--name", "Copy")
    cli("archive", "import", "corpus", str(mbox([*GARDEN, CRLF], tmp_path / "garden.mbox")))
    exported = tmp_path / "export.mbox"
    cli("archive", "export", "corpus", "--mbox", str(exported))
    data = exported.read_bytes()
    assert b"\n>From the archive at 10:30 we learned to mulch.\n>>From quoted already\n" in data
    assert b"\nLine one\n>From here on, CRLF\n" in data and b"\r" not in data  # mboxrd quotes every "From " line
    assert data.startswith(b"From alice@example.com Mon Nov  4 10:00:00 2024\n")
    assert [m.raw.split(b"Message-ID: ")[1].split(b"\n")[0] for m in split_mbox(data.splitlines(keepends=True))] == [
        b"<seeds@example.com>", b"<compost@example.com>", b"<reply@example.com>", b"<html@example.com>",
        b"<from-line@example.com>", b"<unicode@example.com>", b"<crlf@example.com>"]  # fmt: skip

    output = cli("archive", "import", "copy", str(exported))
    assert "7 imported, 0 already stored, 0 duplicate Message-IDs, 0 malformed" in output
    assert shape(cli, "copy") == shape(cli, "corpus") and len(shape(cli, "corpus")) == 5
    again = tmp_path / "again.mbox"
    cli("archive", "export", "copy", "--mbox", str(again))
    assert again.read_bytes() == data  # the same bytes, dates and senders


def test_an_export_to_standard_output_and_of_an_empty_list(cli, tmp_path):
    cli("list", "create", "corpus", "--name", "Corpus")
    assert cli("archive", "export", "corpus") == "exported 0 posts\n"
    cli("archive", "import", "corpus", str(mbox(GARDEN[:2], tmp_path / "two.mbox")))
    output = cli("archive", "export", "corpus", "--mbox", "-")
    assert output.count("\nFrom alice@example.com ") == 1 and output.endswith("exported 2 posts\n")
    assert "cannot write" in cli("archive", "export", "corpus", "--mbox", str(tmp_path / "no" / "dir.mbox"), code=1)
