"""`listserv archive export`: a list's archived posts as an mboxrd file, oldest first.

Each post is its stored raw message (the bytes as received, before the list decorated
them), after a ``From sender asctime`` line; line ends become LF and every line that
matches ``>*From `` gets one more ``>`` (mboxrd), so `archive import` (discussions/mbox.py)
reads back exactly the same messages. Posts are read from the database as a stream: one in
memory at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from listserv.discussions.tables import ThreadContainer
from listserv.store.schema import Inbound, Post

CONTAINERS = cast(Table, ThreadContainer.__table__)
POSTS = cast(Table, Post.__table__)
INBOUND = cast(Table, Inbound.__table__)
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
STREAM = 200  # rows fetched at a time


def envelope_line(sender: str, when: datetime) -> bytes:
    """``From sender asctime`` (UTC, C locale): what mbox readers, ours included, take as a start."""
    who = sender if sender and not any(c.isspace() for c in sender) and sender.isascii() else "MAILER-DAEMON"
    return f"From {who} {time.asctime(when.timetuple())}\n".encode("ascii")


def mboxrd_entry(raw: bytes, sender: str, when: datetime) -> bytes:
    """One message as an mboxrd entry: From_ line, quoted message ending in LF, blank line."""
    body = raw.replace(b"\r\n", b"\n")
    if not body.endswith(b"\n"):
        body += b"\n"
    return envelope_line(sender, when) + _FROM_LINE.sub(rb">\1", body) + b"\n"


def archived_posts(session: Session, list_id: int) -> Iterator[tuple[bytes, str, datetime]]:
    """(raw, sender, date) of the list's archived posts in date order, streamed."""
    when = func.coalesce(CONTAINERS.c.posted_at, POSTS.c.created_at)
    query = (
        select(INBOUND.c.raw, POSTS.c.sender, when)
        .join(POSTS, POSTS.c.inbound_id == INBOUND.c.id)
        .join(CONTAINERS, CONTAINERS.c.post_id == POSTS.c.id)
        .where(POSTS.c.list_id == list_id)
        .order_by(when, POSTS.c.id)
        .execution_options(yield_per=STREAM)
    )
    for raw, sender, date in session.execute(query):
        yield bytes(raw), sender or "", date


def export_mbox(session: Session, list_id: int, out: BinaryIO) -> int:
    """Write the list's archive to ``out`` as mboxrd; returns how many posts were written."""
    count = 0
    for raw, sender, when in archived_posts(session, list_id):
        out.write(mboxrd_entry(raw, sender, when))
        count += 1
    return count
