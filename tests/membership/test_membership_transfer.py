"""`member export` and `member import`: a lossless round trip (CSV and JSON), imports from other list
managers (Mailman 3, Mailman 2, an address a line), bad rows; and `member set --help` naming every key."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from listserv.features import MEMBER_SETTINGS
from listserv.membership import cli as member_cli
from listserv.membership import transfer
from listserv.membership.transfer import FIELDS, MemberRow, Read
from listserv.store import db
from listserv.store.schema import MailingList, Member

DOMAIN = "lists.example.test"
VOCABULARY = {"role": ("member", "facilitator"), "delivery": ("each", "summary", "mime-digest", "plain-digest", "none"),
              "moderation": ("", "new", "accept", "hold", "reject", "discard")}  # fmt: skip
NAMES = ['Anne "Nan" Person', "Person, Bart", "Renée Müller", "李雷", "", "  Spaced, \"quoted\" and 'single'  "]


# -- helpers: the database as it is, read directly ----------------------------------------------------


def members_of(database_url: str, name: str) -> dict[str, tuple[object, ...]]:
    """email -> every exported field, straight from the members table."""
    engine = db.open_engine(database_url)
    try:
        with db.sessions(engine)() as session:
            list_id = session.scalar(select(MailingList.id).where(MailingList.address == f"{name}@{DOMAIN}"))
            rows = session.scalars(select(Member).where(Member.list_id == list_id).order_by(Member.id))
            return {m.email: tuple(getattr(m, f) for f in FIELDS) for m in rows}
    finally:
        engine.dispose()


def put_members(database_url: str, name: str, members: list[dict[str, object]]) -> None:
    engine = db.open_engine(database_url)
    try:
        with db.sessions(engine)() as session, session.begin():
            list_id = session.scalar(select(MailingList.id).where(MailingList.address == f"{name}@{DOMAIN}"))
            session.add_all(Member(list_id=list_id, **values) for values in members)
    finally:
        engine.dispose()


def every_kind_of_member(now: datetime) -> list[dict[str, object]]:
    """Every role, delivery mode and moderation value; vacations, expiries, odd names, exact times."""
    roles, deliveries, moderations = VOCABULARY["role"], VOCABULARY["delivery"], VOCABULARY["moderation"]
    return [
        dict(email=f"m{i}@example.org", display_name=NAMES[i], role=roles[i % 2], delivery=deliveries[i % 5],
             moderation=moderations[i], receive_own_posts=i % 3 == 0, posts_approved=i * 7,
             created_at=now - timedelta(days=400 - i, microseconds=123457 * i),
             vacation_until=None if i % 2 else now + timedelta(days=10, hours=i),
             expires_at=None if i % 3 == 1 else now + timedelta(days=365 * i + 1, seconds=i, microseconds=i))
        for i in range(6)
    ]  # fmt: skip


def summary(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(("imported", "sent")))


@pytest.fixture
def lists(cli):
    for name in ("team", "copy"):
        cli("list", "create", name, "--name", name.title())
    return cli


# -- the round trip -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_restores_every_field_of_every_member(lists, database_url, clock, tmp_path, fmt):
    cli = lists
    put_members(database_url, "team", every_kind_of_member(clock()))
    exported = cli("member", "export", "team", "--format", fmt)
    (tmp_path / f"team.{fmt}").write_text(exported, encoding="utf-8")

    output = cli("member", "import", "copy", str(tmp_path / f"team.{fmt}"))
    assert summary(output) == "imported 6 new members (0 already members, 0 bad rows); updated 0 existing members"
    original, restored = members_of(database_url, "team"), members_of(database_url, "copy")
    assert list(restored) == list(original)  # the same members, in the same order
    for email, fields in original.items():
        assert dict(zip(FIELDS, restored[email], strict=True)) == dict(zip(FIELDS, fields, strict=True)), email

    again = cli("member", "import", "copy", str(tmp_path / f"team.{fmt}"))  # idempotent
    assert summary(again) == "imported 0 new members (6 already members, 0 bad rows); updated 0 existing members"
    assert members_of(database_url, "copy") == original
    assert cli("member", "export", "copy", "--format", fmt) == exported  # and exported again, byte for byte


def test_the_csv_export_has_a_header_row_iso_times_in_utc_and_true_or_false(lists, database_url, clock):
    now = clock().replace(microsecond=0)
    put_members(database_url, "team", [dict(email="anne@example.org", display_name="Person, Anne", role="facilitator",
                                            delivery="summary", receive_own_posts=True, moderation="hold",
                                            posts_approved=3, created_at=datetime(2026, 3, 18, 10, 0),
                                            vacation_until=None, expires_at=now + timedelta(days=1))])  # fmt: skip
    lines = lists("member", "export", "team").splitlines()
    assert lines[0] == ("email,display_name,role,delivery,created_at,expires_at,vacation_until,receive_own_posts,"
                        "moderation,posts_approved,profiled")  # fmt: skip
    expires = (now + timedelta(days=1)).isoformat() + "Z"
    assert (
        lines[1]
        == f'anne@example.org,"Person, Anne",facilitator,summary,2026-03-18T10:00:00Z,{expires},,true,hold,3,true'
    )
    [anne] = json.loads(lists("member", "export", "team", "--format", "json"))
    assert list(anne) == list(FIELDS)
    assert anne["receive_own_posts"] is True and anne["vacation_until"] is None and anne["posts_approved"] == 3
    assert anne["created_at"] == "2026-03-18T10:00:00Z" and anne["expires_at"] == expires


def test_import_updates_existing_members_chunk_by_chunk_and_says_so(lists, database_url, clock, tmp_path, monkeypatch):
    cli = lists
    monkeypatch.setattr(member_cli, "IMPORT_CHUNK", 2)  # the chunk boundaries fall between members
    put_members(database_url, "team", every_kind_of_member(clock()))
    (tmp_path / "team.json").write_text(cli("member", "export", "team", "--format", "json"), encoding="utf-8")
    cli("member", "add", "copy", "m1@example.org", "--name", "Someone Else", "--delivery", "none")
    cli("member", "add", "copy", "m4@example.org", "--role", "facilitator")

    output = cli("member", "import", "copy", str(tmp_path / "team.json"))
    assert summary(output) == "imported 4 new members (2 already members, 0 bad rows); updated 2 existing members"
    assert members_of(database_url, "copy") == members_of(database_url, "team")
    history = json.loads(cli("member", "show", "copy", "m1@example.org", "--json"))["history"]
    assert history[-1]["event"] == "updated" and "display_name" in history[-1]["detail"]


def test_plain_rows_change_only_what_they_give(lists, database_url, tmp_path):
    cli = lists
    cli("member", "add", "team", "anne@example.org", "--name", "Anne", "--role", "facilitator", "--delivery", "summary")
    (tmp_path / "plain.csv").write_text("email,name\nANNE@example.org,Anne Person\nbart@example.org\n")
    output = cli("member", "import", "team", str(tmp_path / "plain.csv"))
    assert summary(output) == "imported 1 new member (1 already a member, 0 bad rows); updated 1 existing member"
    anne = dict(zip(FIELDS, members_of(database_url, "team")["anne@example.org"], strict=True))
    assert (anne["display_name"], anne["role"], anne["delivery"]) == ("Anne Person", "facilitator", "summary")


# -- other list managers ------------------------------------------------------------------------------

MAILMAN3_MEMBERS = """\
Anne Person <anne@example.com>
"Person, Bart" <bart@example.com>
=?utf-8?b?UmVuw6llIE3DvGxsZXI=?= <renee@example.com>
cris@example.com
Dave Person <Dave.Person@Example.COM>
"""  # `mailman members ant.example.com`: formataddr((display_name, original_email)), sorted by address
MAILMAN3_OWNERS = "Fay Facilitator <fay@example.com>\n"  # `mailman members --role owner ant.example.com`
MAILMAN3_DIGEST = "Gus Digest <gus@example.com>\nhal@example.com\n"  # `mailman members --digest mime ...`
MAILMAN3_EMPTY = "ant.example.com has no members\n"
MAILMAN2_FULLNAMES = """\
ida@example.net
Jan Jansen <jan@example.net>
"O'Neil, Kim" <kim@example.net>
"""  # Mailman 2.1 `list_members -f ant`: regular members first, then digest members


def test_a_mailman3_roster_imports_with_names_roles_and_digests(lists, database_url, tmp_path):
    cli = lists
    for name, text in [("members", MAILMAN3_MEMBERS), ("owners", MAILMAN3_OWNERS), ("digest", MAILMAN3_DIGEST),
                       ("empty", MAILMAN3_EMPTY)]:  # fmt: skip
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    assert "imported 5 new members (0 already members, 0 bad rows)" in cli("member", "import", "team",
                                                                          str(tmp_path / "members.txt"))  # fmt: skip
    cli("member", "import", "team", str(tmp_path / "owners.txt"), "--role", "facilitator")
    cli("member", "import", "team", str(tmp_path / "digest.txt"), "--delivery", "mime-digest")
    assert "imported 0 new members (0 already members, 0 bad rows)" in cli("member", "import", "team",
                                                                          str(tmp_path / "empty.txt"))  # fmt: skip
    got = {email: (f[1], f[2], f[3]) for email, f in members_of(database_url, "team").items()}
    assert got == {
        "anne@example.com": ("Anne Person", "member", "each"),
        "bart@example.com": ("Person, Bart", "member", "each"),
        "renee@example.com": ("Renée Müller", "member", "each"),
        "cris@example.com": ("", "member", "each"),
        "dave.person@example.com": ("Dave Person", "member", "each"),
        "fay@example.com": ("Fay Facilitator", "facilitator", "each"),
        "gus@example.com": ("Gus Digest", "member", "mime-digest"),
        "hal@example.com": ("", "member", "mime-digest"),
    }


def test_mailman2_list_members_and_an_address_a_line_import_with_bad_lines_reported(lists, database_url, tmp_path):
    cli = lists
    (tmp_path / "mm2.txt").write_text(MAILMAN2_FULLNAMES, encoding="utf-8")
    (tmp_path / "addresses.txt").write_text(
        "# exported 2026-03-01\nlee@example.org\n\nMAX@Example.org\nnot-an-address\nnia@example..org\n"
        "lee@example.org\n",
        encoding="utf-8",
    )
    assert "imported 3 new members" in cli("member", "import", "team", str(tmp_path / "mm2.txt"))
    output = cli("member", "import", "team", str(tmp_path / "addresses.txt"))
    assert summary(output) == "imported 2 new members (1 already a member, 2 bad rows); updated 0 existing members"
    assert "line 5: not-an-address: not an address" in output and "line 6: nia@example..org: " in output
    got = members_of(database_url, "team")
    assert got["kim@example.net"][1] == "O'Neil, Kim" and got["jan@example.net"][1] == "Jan Jansen"
    assert {"ida@example.net", "lee@example.org", "max@example.org"} <= set(got)


def test_bad_rows_of_an_export_are_reported_by_line_and_skipped(lists, database_url, tmp_path):
    cli = lists
    (tmp_path / "bad.csv").write_text(
        "email,display_name,role,delivery,created_at,expires_at,vacation_until,receive_own_posts\n"
        "ok@example.org,Fine,member,each,2026-01-02T03:04:05Z,,,false\n"
        "boss@example.org,Boss,owner,each,,,,\n"
        "late@example.org,Late,member,each,,next week,,\n"
        'multi@example.org,"Two\nlines",member,weekly,,,,\n'
        "flag@example.org,Flag,member,each,,,,maybe\n"
        "@example.org,Nobody,member,each,,,,\n",
        encoding="utf-8",
    )
    output = cli("member", "import", "team", str(tmp_path / "bad.csv"))
    assert summary(output) == "imported 1 new member (0 already members, 5 bad rows); updated 0 existing members"
    assert "line 3: boss@example.org: role must be one of: member, facilitator" in output
    assert "line 4: late@example.org: expires_at must be a time such as 2026-03-18T10:00:00Z" in output
    assert "line 5: multi@example.org: delivery must be one of" in output  # the record starts on line 5
    assert "line 7: flag@example.org: receive_own_posts must be true or false" in output
    assert "line 8: @example.org: not an address" in output
    [ok] = members_of(database_url, "team").values()
    assert ok[:5] == ("ok@example.org", "Fine", "member", "each", datetime(2026, 1, 2, 3, 4, 5))

    (tmp_path / "bad.json").write_text(
        '[\n{"email": "j1@example.org", "moderation": "sometimes"},\n"j2@example.org",\n'
        '{"email": "j3@example.org", "colour": "blue"},\n{"email": "j4@example.org", "posts_approved": 2}\n]\n'
    )
    output = cli("member", "import", "team", str(tmp_path / "bad.json"))
    assert summary(output) == "imported 1 new member (0 already members, 3 bad rows); updated 0 existing members"
    assert "line 2: j1@example.org: moderation must be one of: (empty), new, accept" in output
    assert 'line 3: "j2@example.org": not an object' in output and "line 4: j3@example.org: unknown field" in output

    (tmp_path / "typo.csv").write_text("email,nmae\nx@example.org,X\n")
    assert "line 1: unknown column 'nmae'" in cli("member", "import", "team", str(tmp_path / "typo.csv"), code=1)
    (tmp_path / "cut.json").write_text('[{"email": "k@example.org"},\n{"email": ')
    assert "line 2: not a JSON array of members" in cli("member", "import", "team", str(tmp_path / "cut.json"), code=1)


# -- member set --help ---------------------------------------------------------------------------------


def test_member_set_help_names_every_key_with_its_values(lists):
    text = " ".join(lists("member", "set", "--help").split())
    described = member_cli.member_set.help  # as the root command prepared it
    for key, setting in (MEMBER_SETTINGS | member_cli.MEMBERSHIP_KEYS).items():
        assert f"- `{key}` ({member_cli.accepted_values(setting)}): {setting.help}" in described, key
        assert f"`{key}` (" in text, key  # and --help shows it
    assert '`moderation` (""|new|accept|hold|reject|discard)' in text and "`receive_own_posts` (yes|no)" in text
    assert "`expires` (YYYY-MM-DD|never)" in described and "`vacation_until` (YYYY-MM-DD|off)" in described
    assert "`delivery` (each|summary|mime-digest|plain-digest|none)" in described
    assert "unknown member setting colour; known: display_name, role" in lists(
        "member", "set", "team", "x@example.org", "colour", "blue", code=1)  # fmt: skip


# -- the pure reader and writer ------------------------------------------------------------------------


def rows(text: str, piece: int = 0) -> list[Read]:
    chunks = [text[i : i + piece] for i in range(0, len(text), piece)] if piece else [text]
    return list(transfer.read_members(chunks, VOCABULARY))


def test_the_export_carries_every_column_of_a_member():
    columns = {column.name for column in Member.__table__.columns} - {"id", "list_id"}
    assert set(FIELDS) == columns


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Anne Person <anne@example.com>", ("Anne Person", "anne@example.com")),
        ('"Person, Anne" <anne@example.com>', ("Person, Anne", "anne@example.com")),
        ("=?utf-8?q?Ren=C3=A9e?= <renee@example.com>", ("Renée", "renee@example.com")),
        ("anne@example.com (Anne Person)", ("Anne Person", "anne@example.com")),
        ("<anne@example.com>", ("", "anne@example.com")),
        ("anne@example.com", ("", "anne@example.com")),
        ("anne@example.com,Anne Person", ("Anne Person", "anne@example.com")),
        ('anne@example.com,"Person, Anne"', ("Person, Anne", "anne@example.com")),
    ],
)
def test_one_member_a_line_in_every_shape_list_managers_write(line, expected):
    assert transfer.split_line(line) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-18T10:00:00Z", datetime(2026, 3, 18, 10, 0)),
        ("2026-03-18T10:00:00.000250Z", datetime(2026, 3, 18, 10, 0, 0, 250)),
        ("2026-03-18T12:00:00+02:00", datetime(2026, 3, 18, 10, 0)),
        ("2026-03-18T10:00:00", datetime(2026, 3, 18, 10, 0)),
        ("2026-03-18", datetime(2026, 3, 18)),
    ],
)
def test_times_read_back_to_naive_utc(text, expected):
    assert transfer.parse_time(text) == expected
    assert transfer.parse_time(transfer.format_time(expected)) == expected


def test_json_is_read_an_element_at_a_time_with_line_numbers():
    text = "[\n" + ",\n".join(json.dumps(transfer.json_object(MemberRow(f"m{i}@example.org"))) for i in range(1000))
    text += "\n]\n"
    consumed = 0

    def pieces() -> Iterator[str]:
        nonlocal consumed
        for start in range(0, len(text), 100):
            consumed += 1
            yield text[start : start + 100]

    reads = transfer.read_members(pieces(), VOCABULARY)
    first = next(reads)
    assert first.line == 2 and first.row is not None and first.row.email == "m0@example.org"
    assert consumed < 5  # not the whole file
    rest = list(reads)
    assert len(rest) == 999 and rest[-1].line == 1001 and all(r.row for r in rest)
    assert rows(text, piece=7) == [first, *rest]  # whatever the chunk size
    pretty = json.dumps([transfer.json_object(MemberRow(f"m{i}@example.org", display_name="é")) for i in range(3)],
                        indent=2, ensure_ascii=False)  # fmt: skip
    assert [(r.line, r.row.display_name if r.row else r.problem) for r in rows(pretty, piece=5)] == [
        (2, "é"), (15, "é"), (28, "é")]  # fmt: skip


def test_a_field_the_file_does_not_give_is_not_given():
    [plain] = rows("email,name\nanne@example.org,Anne\n")
    assert plain.row is not None and plain.row.given == {"email", "display_name"}
    filled = transfer.with_defaults(plain.row, {"role": "facilitator", "delivery": "none"})
    assert (filled.role, filled.delivery, filled.given) == ("facilitator", "none", {"email", "display_name", "role",
                                                                                   "delivery"})  # fmt: skip
    bart = MemberRow("bart@example.org", role="facilitator", created_at=datetime(2026, 3, 18))
    [full] = rows(transfer.csv_header() + transfer.csv_line(bart))
    assert full.row is not None and full.row.given == set(FIELDS)
    [unknown_join] = rows(transfer.csv_header() + transfer.csv_line(MemberRow("cleo@example.org")))
    assert unknown_join.row is not None and "created_at" not in unknown_join.row.given  # empty: joins now
    assert transfer.with_defaults(full.row, {"role": "member"}).role == "facilitator"  # the file's own role wins
    header, line = transfer.csv_header(), transfer.csv_line(MemberRow("c@example.org", display_name='a "b", c'))
    assert next(csv.DictReader(io.StringIO(header + line)))["display_name"] == 'a "b", c'
