"""`listserv archive import`: store a list's history raw, record its posts, thread them; send nothing.

Each message becomes an `inbound` row with status `archived` (the worker only takes
`received`, so nothing is ever distributed) holding the exact bytes, and, when it has a
header block and a Message-ID the list has not seen, a `posts` row with decision `imported`
threaded like a live post. Messages are taken in runs of CHUNK (one transaction each), so
an interrupted import keeps whole runs and a re-run skips them: the inbound dedupe key
(Message-ID + content hash, as at intake) finds what is already stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from listserv.discussions.headers import (
    first_values,
    message_date,
    own_message_id,
    synthetic_id,
    thread_input,
)
from listserv.discussions.mbox import pipermail_address
from listserv.discussions.model import ThreadInput
from listserv.discussions.plan import Arrival, OnDuplicate
from listserv.discussions.sources import ArchivedMessage
from listserv.discussions.store import (
    DISCUSSIONS,
    analyze_threads,
    plan_arrivals,
    save_plan,
)
from listserv.inbound.ingest import dedupe_key
from listserv.mail.addresses import normalize_address
from listserv.mail.message import ListInfo, Role
from listserv.mail.parse import content_hash, first_message_id, message_ids, sender_of
from listserv.store.schema import Inbound, Post

log = logging.getLogger(__name__)
INBOUND = cast(Table, Inbound.__table__)
POSTS = cast(Table, Post.__table__)
ARCHIVED = "archived"  # inbound.status of imported mail: never picked up by the worker
IMPORTED = "imported"  # posts.decision of imported mail
CHUNK = 1000  # messages per transaction
CHUNK_BYTES = 32 * 1024 * 1024  # ... or fewer, when they are large
FUTURE = timedelta(days=1)  # a Date further ahead than this is not believed (the From_ line's is used)


@dataclass
class ImportReport:
    read: int = 0  # messages found in the archive
    imported: int = 0  # new posts, threaded
    already: int = 0  # stored before: an earlier run, or the same message received live
    duplicates: int = 0  # a Message-ID the list already has a post for: kept raw, no new post
    malformed: int = 0  # no header block: kept raw, not threaded
    discussions: int = 0  # discussions of the list afterwards
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _PostFields:
    """What the `posts` row records, as the live pipeline records it (inbound/parse.py)."""

    message_id: str
    sender: str
    subject: str
    in_reply_to: str
    references: str
    defects: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: ArchivedMessage
    values: dict[str, object]  # the inbound row
    post: _PostFields | None  # None: malformed
    msg: ThreadInput | None
    note: str = ""  # reported if the message is new


def _text(value: str, limit: int) -> str:
    """A value for a text column: PostgreSQL refuses NUL characters, which hostile headers carry."""
    return value.replace("\x00", "")[:limit]


def _header_block(raw: bytes) -> bytes:
    """The bytes up to the first empty line: the parser need not see a large body."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if i >= 0]
    return raw[: min(ends) + 1] if ends else raw


def _read_headers(raw: bytes) -> tuple[Message | None, str]:
    """The header block, or None and why not."""
    if not raw.strip():
        return None, "empty message"
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(_header_block(raw))
    except Exception as error:  # the parser is lenient; anything it still raises is reported
        return None, f"unreadable: {type(error).__name__}: {error}"
    if not headers.keys():
        return None, "no header block"
    return headers, ""


def prepare(item: ArchivedMessage, lst: ListInfo, now: datetime) -> _Prepared:
    raw = item.raw
    headers, problem = _read_headers(raw)
    first = first_values(headers) if headers is not None else {}
    header_id = first_message_id(first.get("message-id", ""))  # as intake reads it, for the dedupe key
    values: dict[str, object] = dict(
        list_id=lst.id, role=Role.POST.value, mail_from=_text(item.envelope_sender, 998), rcpt=lst.address,
        message_id=_text(header_id, 998), dedupe_key=dedupe_key(header_id, raw), raw=raw, received_at=now,
        status=ARCHIVED, attempts=0, error=problem, lease_until=None,
    )  # fmt: skip
    if headers is None:
        return _Prepared(item, values, None, None)
    bare, note = own_message_id(first), ""
    if not bare:
        bare = synthetic_id(content_hash(raw))
        note = f"{item.where}: no usable Message-ID; threaded as <{bare}>"
    date = message_date(first)
    msg = thread_input(first, bare, date if date is not None and date <= now + FUTURE else item.envelope_date)
    sender = sender_of(headers)[0] or pipermail_address(first.get("from", "")) or item.envelope_sender
    sender = normalize_address(sender) if "@" in sender else ""
    values["mail_from"] = values["mail_from"] or _text(sender, 998)
    post = _PostFields(
        message_id=_text(header_id, 998), sender=_text(sender, 254), subject=_text(msg.subject, 100_000),
        in_reply_to=_text(first_message_id(first.get("in-reply-to", "")), 998),
        references=_text(" ".join(f"<{r}>" for r in message_ids(first.get("references", ""))), 100_000),
        defects=" ".join(sorted({type(d).__name__ for d in headers.defects})),
    )  # fmt: skip
    return _Prepared(item, values, post, msg, note)


def _insert_inbound(session: Session, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert what is new; returns the new rows' ids by dedupe key."""
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = maker(INBOUND).on_conflict_do_nothing(index_elements=["list_id", "role", "dedupe_key"])
    made = session.execute(statement.returning(INBOUND.c.id, INBOUND.c.dedupe_key), rows).all()
    return {key: ident for ident, key in made}


def _insert_posts(session: Session, lst: ListInfo, posts: list[tuple[_Prepared, int]], now: datetime) -> dict[int, int]:
    """Post rows for (prepared, inbound id); returns post id by inbound id."""
    rows = []
    for prepared, inbound_id in posts:
        post = prepared.post
        assert post is not None
        rows.append(dict(
            list_id=lst.id, inbound_id=inbound_id, message_id=post.message_id, sender=post.sender,
            subject=post.subject, in_reply_to=post.in_reply_to, references=post.references, decision=IMPORTED,
            rules="", reason="", defects=post.defects, created_at=now,
        ))  # fmt: skip
    if not rows:
        return {}
    made = session.execute(insert(POSTS).returning(POSTS.c.id, POSTS.c.inbound_id), rows).all()
    return {inbound_id: ident for ident, inbound_id in made}


def _import_chunk(session: Session, lst: ListInfo, chunk: list[_Prepared], report: ImportReport,
                  warn: Callable[[str], None], now: datetime) -> None:  # fmt: skip
    with session.begin():
        stored = _insert_inbound(session, [p.values for p in chunk])
        fresh: list[tuple[_Prepared, int]] = []
        for prepared in chunk:
            inbound_id = stored.pop(str(prepared.values["dedupe_key"]), None)
            if inbound_id is None:
                report.already += 1
            elif prepared.msg is None:
                report.malformed += 1
                warn(f"{prepared.item.where}: {prepared.values['error']}; kept as inbound {inbound_id}, not threaded")
            else:
                fresh.append((prepared, inbound_id))
                if prepared.note:
                    warn(prepared.note)
        arrivals = []
        for ref, (prepared, _) in enumerate(fresh):
            assert prepared.msg is not None and prepared.post is not None
            arrivals.append(Arrival(ref, prepared.msg, prepared.post.sender))
        plan, ids = plan_arrivals(session, lst.id, lst.subject_prefix, arrivals, OnDuplicate.SKIP)
        placed = plan.placed_arrivals()
        by_inbound = _insert_posts(session, lst, [fresh[p.ref] for p in placed if p.ref is not None], now)
        post_ids = {p.ref: by_inbound[fresh[p.ref][1]] for p in placed if p.ref is not None}
        save_plan(session, lst.id, plan, ids, post_ids, now)
        if plan.skipped:
            note = update(INBOUND).where(INBOUND.c.id == bindparam("iid"))
            session.execute(note, [dict(iid=fresh[s.ref][1], error=f"Message-ID <{s.message_id}> is already a post "
                                        "of this list: not imported again") for s in plan.skipped])  # fmt: skip
        report.imported += len(post_ids)
        report.duplicates += len(plan.skipped)


def _runs(prepared: Iterable[_Prepared]) -> Iterator[list[_Prepared]]:
    chunk: list[_Prepared] = []
    size = 0
    for item in prepared:
        chunk.append(item)
        size += len(item.item.raw)
        if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def import_archive(sessions: Callable[[], Session], lst: ListInfo, messages: Iterable[ArchivedMessage], now: datetime,
                   *, warn: Callable[[str], None], progress: Callable[[int], None] = lambda done: None,
                   ) -> ImportReport:  # fmt: skip
    """Store and thread ``messages`` into ``lst``; malformed ones are reported through ``warn``."""
    report = ImportReport()
    started = time.monotonic()

    def counted() -> Iterator[_Prepared]:
        for item in messages:
            report.read += 1
            yield prepare(item, lst, now)

    analyze_at = CHUNK  # statistics are refreshed at 1,000, 2,000, 4,000 ... posts, and at the end
    for chunk in _runs(counted()):
        with sessions() as session:
            _import_chunk(session, lst, chunk, report, warn, now)
            if report.imported >= analyze_at:
                with session.begin():
                    analyze_threads(session)
                analyze_at = 2 * report.imported
        progress(chunk[-1].item.progress)
        log.info("archive import list=%s read=%d imported=%d already=%d duplicates=%d malformed=%d",
                 lst.address, report.read, report.imported, report.already, report.duplicates,
                 report.malformed)  # fmt: skip
    with sessions() as session:
        with session.begin():
            analyze_threads(session)
        count = select(func.count()).select_from(DISCUSSIONS).where(DISCUSSIONS.c.list_id == lst.id)
        report.discussions = int(session.scalar(count) or 0)
    report.seconds = time.monotonic() - started
    return report
