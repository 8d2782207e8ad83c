"""Reading archives from disk: mbox files (gzip-compressed or not) and Maildir folders.

Messages are streamed: one mbox message or one Maildir file in memory at a time. A Maildir's
file names are listed and sorted (delivery order), which is the only thing that grows with
its size (about 100 bytes a message).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from listserv.discussions.mbox import envelope_date, envelope_sender, split_mbox
from listserv.errors import Invalid

MAILDIR_TIME = re.compile(r"(\d{9,11})\.")


class ArchiveError(Invalid):
    """A path that cannot be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    raw: bytes
    envelope_sender: str  # from the mbox From_ line; "" for Maildir
    envelope_date: datetime | None  # From_ line date, or the Maildir file name's delivery time
    where: str  # for reports: the file, and the message's place in it
    progress: int  # bytes of all sources read so far


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    kind: str  # "mbox" or "maildir"
    size: int  # bytes on disk (compressed size for .gz)


def _maildir_files(path: Path) -> Iterator[os.DirEntry[str]]:
    for sub in ("cur", "new"):
        folder = path / sub
        if folder.is_dir():
            entries = [e for e in os.scandir(folder) if not e.name.startswith(".") and e.is_file()]
            yield from sorted(entries, key=lambda entry: entry.name)


def find_sources(paths: Sequence[str]) -> list[Source]:
    """Check every path first, so that a typo fails before anything is imported."""
    sources = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            if not (path / "cur").is_dir() and not (path / "new").is_dir():
                raise ArchiveError(f"{path}: a folder must be a Maildir (with cur/ and new/)")
            sources.append(Source(path, "maildir", sum(e.stat().st_size for e in _maildir_files(path))))
        elif path.is_file():
            sources.append(Source(path, "mbox", path.stat().st_size))
        else:
            raise ArchiveError(f"{path}: no such file or folder")
    return sources


def _open_mbox(handle: BinaryIO) -> BinaryIO:
    with_magic = handle.peek(2) if hasattr(handle, "peek") else b""
    if with_magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def _read_mbox(source: Source, base: int) -> Iterator[ArchivedMessage]:
    with open(source.path, "rb") as handle:
        stream = _open_mbox(handle)
        for number, message in enumerate(split_mbox(stream), start=1):
            where = f"{source.path} message {number} (byte {message.offset})"
            yield ArchivedMessage(message.raw, envelope_sender(message.envelope), envelope_date(message.envelope),
                                  where, base + handle.tell())  # fmt: skip


def _delivery_time(name: str) -> datetime | None:
    found = MAILDIR_TIME.match(name)
    if found is None:
        return None
    return datetime.fromtimestamp(int(found.group(1)), timezone.utc).replace(tzinfo=None)


def _read_maildir(source: Source, base: int, warn: Callable[[str], None]) -> Iterator[ArchivedMessage]:
    done = base
    for entry in _maildir_files(source.path):
        try:
            with open(entry.path, "rb") as handle:
                raw = handle.read()
        except OSError as error:
            warn(f"{entry.path}: cannot read: {error.strerror}; skipped")
            continue
        done += len(raw)
        yield ArchivedMessage(raw, "", _delivery_time(entry.name), entry.path, done)


def read_sources(sources: Sequence[Source], warn: Callable[[str], None]) -> Iterator[ArchivedMessage]:
    """Every message of every source, in order. A source that breaks off (a truncated .gz,
    a read error) is reported and the rest is still read."""
    base = 0
    for source in sources:
        try:
            if source.kind == "maildir":
                yield from _read_maildir(source, base, warn)
            else:
                yield from _read_mbox(source, base)
        except (OSError, EOFError) as error:
            warn(f"{source.path}: stopped reading: {error}")
        base += source.size
