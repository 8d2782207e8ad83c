"""One writer at a time on a SQLite file, woken the moment the previous writer finishes.

SQLite lets one connection write; the others meet its busy handler, which polls with 1-100 ms
sleeps and so caps a busy engine at a few hundred transactions a second. Here the threads of
one process queue on a lock, and the processes sharing the file (`serve --workers N`, `inject`,
the CLI) on an flock(2) of `<database>-writer`: the kernel wakes the next writer at once, and
frees the lock of a process that dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class WriterLock:
    def __init__(self, database: Path | None) -> None:
        self.path = None if database is None else database.with_name(database.name + "-writer")
        self._threads = threading.RLock()
        self._depth = 0  # transactions this process has open (a thread may nest one)
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._depth == 0 and (fd := self._file()) is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int | None:
        """The lock file, opened once per process; None where it cannot be (SQLite's busy handler
        then does the waiting, as it would for any other program writing to the file)."""
        if self.path is None:
            return None
        if self._pid != os.getpid():  # not inherited across fork: each process opens its own
            self._pid, self._fd = os.getpid(), None
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                log.warning("cannot open %s (%s): SQLite's busy handler serialises writers instead",
                            self.path, error.strerror)  # fmt: skip
        return self._fd
