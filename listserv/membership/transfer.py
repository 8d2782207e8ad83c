"""Member lists in and out of files. Pure: text in, rows out; cli.py does the database.

Written (`member export`): CSV with a header row, or a JSON array with one object a line; every
field of a member, times in ISO 8601 UTC (`2026-03-18T10:00:00Z`), booleans `true`/`false`.

Read (`member import`), told apart by their content:
- what `member export` wrote (CSV with a header row naming the columns, or a JSON array);
- GNU Mailman 3 `mailman members LIST` and Mailman 2 `list_members [-f] LIST`: one member a
  line, `Anne Person <anne@example.com>`, `"Person, Anne" <anne@example.com>`, an RFC 2047
  encoded name, `anne@example.com (Anne Person)` or a bare address;
- CSV `email,name` without a header, and one address a line.
Blank lines and lines starting with `#` are skipped everywhere. A field a file does not give is
not `given`: a new member gets its default, an existing member keeps what they have.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import parseaddr
from itertools import chain
from typing import Any

from listserv.errors import Invalid
from listserv.mail.addresses import address_problem, normalize_address

FIELDS = ("email", "display_name", "role", "delivery", "created_at", "expires_at", "vacation_until",
          "receive_own_posts", "moderation", "posts_approved", "profiled")  # fmt: skip
TIMES = ("created_at", "expires_at", "vacation_until")
NULLABLE_TIMES = ("expires_at", "vacation_until")  # empty: no expiry, no vacation
CHOICES = ("role", "delivery", "moderation")  # checked against the settings registry
BLANK_MEANS_ABSENT = ("role", "delivery", "created_at", "receive_own_posts", "posts_approved", "profiled")
ALIASES = {"address": "email", "e_mail": "email", "email_address": "email", "name": "display_name",
           "full_name": "display_name", "fullname": "display_name"}  # fmt: skip
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
MAX_ELEMENT = 1 << 20  # characters a JSON element may span before we call the file broken
JSON_SPACE = re.compile(r"[ \t\r\n]*")
NAME_IN_PARENS = re.compile(r"\S+@\S+\s*\(.*\)")  # anne@example.com (Anne Person)
NO_MEMBERS = re.compile(r"\S+ has no members")  # what `mailman members` prints for an empty list
JSON_DECODER = json.JSONDecoder()

Vocabulary = Mapping[str, Sequence[str]]  # the values a field accepts (role, delivery, moderation)


@dataclass(frozen=True)
class MemberRow:
    """One member as a file carries it; `given` names the fields the file gave."""

    email: str
    display_name: str = ""
    role: str = "member"
    delivery: str = "each"
    created_at: datetime | None = None  # None: now, for a new member
    expires_at: datetime | None = None
    vacation_until: datetime | None = None
    receive_own_posts: bool = False
    moderation: str = ""
    posts_approved: int = 0
    profiled: bool = True  # engagement: the member's stage is worked out and kept
    given: frozenset[str] = field(default=frozenset({"email"}))

    def value(self, name: str) -> object:
        return getattr(self, name)


@dataclass(frozen=True)
class Read:
    """What one line (or JSON element) of a file held: a row, or the problem with it."""

    line: int
    text: str  # the address, or what stood in its place, for the report
    row: MemberRow | None = None
    problem: str = ""


# -- writing ----------------------------------------------------------------------------------------


def format_time(value: datetime | None) -> str:
    """ISO 8601 UTC with a Z (microseconds only when there are any); '' for none."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime) or value is None:
        return format_time(value)
    return str(value)


def _csv(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def csv_header() -> str:
    return _csv(FIELDS)


def csv_line(row: MemberRow) -> str:
    """One CSV line (quoted as needed, ending in a newline) with every field of the row."""
    return _csv([_cell(row.value(name)) for name in FIELDS])


def json_object(row: MemberRow) -> dict[str, object]:
    """Every field of the row: times as ISO 8601 UTC strings or null, booleans and numbers as such."""
    values = {name: row.value(name) for name in FIELDS}
    return {name: format_time(value) if isinstance(value, datetime) else value for name, value in values.items()}


# -- reading ----------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """ISO 8601 (a date, or a time with Z, an offset or none: UTC) -> naive UTC; ValueError if not."""
    value = datetime.fromisoformat(text.strip())
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def read_members(chunks: Iterable[str], vocabulary: Vocabulary) -> Iterator[Read]:
    """Each member row of a file given as text chunks, in order, with its line number. Reads as it
    goes (a JSON element or a CSV record at a time). A file that cannot be read on (a broken JSON
    array, an unknown CSV column) raises Invalid."""
    stream = iter(chunks)
    head = ""
    for piece in stream:
        head += piece
        if head.strip():
            break
    source = chain([head], stream)
    if head.lstrip().startswith("["):
        return _read_json(source, vocabulary)
    return _read_text(_lines(source), vocabulary)


def with_defaults(row: MemberRow, defaults: Mapping[str, str]) -> MemberRow:
    """The row with `defaults` (role, delivery) for the fields it does not give."""
    missing = {name: value for name, value in defaults.items() if name not in row.given}
    if not missing:
        return row
    return MemberRow(
        email=row.email, display_name=row.display_name, role=missing.get("role", row.role),
        delivery=missing.get("delivery", row.delivery), created_at=row.created_at, expires_at=row.expires_at,
        vacation_until=row.vacation_until, receive_own_posts=row.receive_own_posts, moderation=row.moderation,
        posts_approved=row.posts_approved, profiled=row.profiled, given=row.given | missing.keys(),
    )  # fmt: skip


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines (each with its newline) from text chunks, split on \\n only."""
    rest = ""
    for piece in chunks:
        *complete, rest = (rest + piece).split("\n")
        yield from (line + "\n" for line in complete)
    if rest:
        yield rest


def _skipped(line: str) -> bool:
    text = line.strip()
    return not text or text.startswith("#")


def _read_text(lines: Iterator[str], vocabulary: Vocabulary) -> Iterator[Read]:
    peeked: list[str] = []
    for line in lines:
        peeked.append(line)
        if not _skipped(line):
            break
    source = chain(peeked, lines)
    if peeked and _column(_first_cell(peeked[-1])) == "email":
        return _read_table(source, vocabulary)
    return _read_lines(source)


def _first_cell(line: str) -> str:
    try:
        return next(csv.reader([line]), [""])[0]
    except (csv.Error, IndexError):
        return ""


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


# -- our CSV, with a header row ---------------------------------------------------------------------


def _read_table(lines: Iterable[str], vocabulary: Vocabulary) -> Iterator[Read]:
    reader = csv.reader(lines)
    columns: list[str] | None = None
    while True:
        start = reader.line_num + 1  # a quoted cell may run over several lines: report the first
        try:
            record = next(reader, None)
        except csv.Error as error:
            raise Invalid(f"line {reader.line_num}: {error}") from None
        if record is None:
            return
        if not record or not "".join(record).strip() or record[0].strip().startswith("#"):
            continue
        if columns is None:
            columns = _header(record, start)
            continue
        yield _table_row(start, columns, record, vocabulary)


def _header(record: list[str], line: int) -> list[str]:
    columns = [_column(name) for name in record]
    unknown = [name for name, column in zip(record, columns, strict=True) if column not in FIELDS]
    if unknown:
        raise Invalid(f"line {line}: unknown column {unknown[0]!r}; the columns are {', '.join(FIELDS)} "
                      "(name and address are understood too)")  # fmt: skip
    doubled = sorted({column for column in columns if columns.count(column) > 1})
    if doubled:
        raise Invalid(f"line {line}: column {doubled[0]} appears twice")
    return columns


def _table_row(line: int, columns: list[str], record: list[str], vocabulary: Vocabulary) -> Read:
    if any(cell.strip() for cell in record[len(columns) :]):
        return Read(line, record[0].strip(), problem=f"{len(record)} cells for {len(columns)} columns")
    return _build(line, dict(zip(columns, record, strict=False)), vocabulary)


# -- other list managers: one member a line -----------------------------------------------------------


def _read_lines(lines: Iterable[str]) -> Iterator[Read]:
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if _skipped(text) or NO_MEMBERS.fullmatch(text):
            continue
        name, address = split_line(text)
        email = normalize_address(address)
        problem = address_problem(email)
        if problem:
            yield Read(number, email, problem=problem)
            continue
        given = frozenset({"email", "display_name"} if name else {"email"})
        yield Read(number, email, MemberRow(email=email, display_name=name, given=given))


def split_line(text: str) -> tuple[str, str]:
    """(name, address) from `Name <address>`, `address (Name)`, CSV `address,name` or an address."""
    if text.endswith(">") or NAME_IN_PARENS.fullmatch(text):
        name, address = parseaddr(text)
        if address:
            return decode_name(name), address
    try:
        cells = next(csv.reader([text]), [""])
    except csv.Error:
        return "", text
    return (cells[1].strip() if len(cells) > 1 else ""), (cells[0] if cells else "")


def decode_name(name: str) -> str:
    """A display name with RFC 2047 encoded words (`=?utf-8?q?Ren=C3=A9e?=`) decoded."""
    if "=?" not in name:
        return name.strip()
    try:
        return str(make_header(decode_header(name))).strip()
    except (ValueError, LookupError, UnicodeError):
        return name.strip()


# -- our JSON array -----------------------------------------------------------------------------------


class _JsonCursor:
    """A position in a JSON text read chunk by chunk, with its line number."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self.chunks = iter(chunks)
        self.buffer, self.pos, self.line = "", 0, 1

    def _fill(self) -> bool:
        piece = next(self.chunks, "")
        if not piece:
            return False
        self.buffer, self.pos = self.buffer[self.pos :] + piece, 0
        return True

    def advance(self, end: int) -> None:
        self.line += self.buffer.count("\n", self.pos, end)
        self.pos = end

    def peek(self) -> str:
        """The next character after white space ('' at the end)."""
        while True:
            match = JSON_SPACE.match(self.buffer, self.pos)
            self.advance(match.end() if match else self.pos)
            if self.pos < len(self.buffer) or not self._fill():
                return self.buffer[self.pos : self.pos + 1]

    def value(self) -> tuple[int, object]:
        """The JSON value here, and the line it starts on."""
        while True:
            try:
                value, end = JSON_DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if len(self.buffer) - self.pos < MAX_ELEMENT and self._fill():
                    continue
                raise Invalid(f"line {self.line}: not a JSON array of members ({error.msg})") from None
            line = self.line
            self.advance(end)
            return line, value


def _read_json(chunks: Iterable[str], vocabulary: Vocabulary) -> Iterator[Read]:
    cursor = _JsonCursor(chunks)
    cursor.peek()
    cursor.advance(cursor.pos + 1)  # the [
    first = True
    while (next_char := cursor.peek()) != "]":
        if not next_char:
            raise Invalid(f"line {cursor.line}: the JSON array is not closed")
        if not first:
            if next_char != ",":
                raise Invalid(f"line {cursor.line}: expected ',' or ']' between members")
            cursor.advance(cursor.pos + 1)
            if cursor.peek() == "]":
                break
        first = False
        line, value = cursor.value()
        yield _json_row(line, value, vocabulary)


def _json_row(line: int, value: object, vocabulary: Vocabulary) -> Read:
    if not isinstance(value, dict):
        return Read(line, json.dumps(value)[:60], problem="not an object")
    values = {_column(str(key)): item for key, item in value.items()}
    unknown = [str(key) for key in value if _column(str(key)) not in FIELDS]
    if unknown or len(values) < len(value):
        problem = f"unknown field {unknown[0]!r}" if unknown else "a field given twice"
        return Read(line, str(values.get("email", "")), problem=problem)
    return _build(line, values, vocabulary)


# -- one row from named values (CSV cells or JSON values) ---------------------------------------------


def _build(line: int, values: Mapping[str, object], vocabulary: Vocabulary) -> Read:
    raw = values.get("email")
    if not isinstance(raw, str) or not raw.strip():
        return Read(line, "" if raw is None else str(raw), problem="no address")
    email = normalize_address(raw)
    problem = address_problem(email)
    if problem:
        return Read(line, email, problem=problem)
    present = {name: value for name, value in values.items() if name != "email" and not _absent(name, value)}
    try:
        fields: dict[str, Any] = {name: _field(name, value, vocabulary) for name, value in present.items()}
    except ValueError as error:
        return Read(line, email, problem=str(error))
    return Read(line, email, MemberRow(email=email, given=frozenset({"email"} | present.keys()), **fields))


def _absent(name: str, value: object) -> bool:
    if value is None:
        return name not in NULLABLE_TIMES
    return isinstance(value, str) and not value.strip() and name in BLANK_MEANS_ABSENT


def _field(name: str, value: object, vocabulary: Vocabulary) -> object:
    """One field the file gave, checked; ValueError says what is wrong with it."""
    if name in TIMES:
        return _time(name, value)
    if name in ("receive_own_posts", "profiled"):
        return _flag(name, value)
    if name == "posts_approved":
        return _count(name, value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return _choice(name, value.strip(), vocabulary) if name in CHOICES else value


def _choice(name: str, value: str, vocabulary: Vocabulary) -> str:
    allowed = vocabulary.get(name)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{name} must be one of: {', '.join(choice or '(empty)' for choice in allowed)}")
    return value


def _time(name: str, value: object) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a time such as 2026-03-18T10:00:00Z")
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{name} must be a time such as 2026-03-18T10:00:00Z, not {value!r}") from None


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ValueError(f"{name} must be true or false")


def _count(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"{name} must be a whole number")
