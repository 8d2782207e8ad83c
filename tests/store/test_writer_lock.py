"""Processes sharing a SQLite file take turns through an flock, not SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from listserv.store import db

ROOT = Path(__file__).resolve().parents[2]
HOLD = textwrap.dedent("""
    import sys, time
    from sqlalchemy import text
    from listserv.store import db
    engine = db.open_engine(sys.argv[1])
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO probe VALUES (1)"))
        print("holding", flush=True)
        sys.stdin.readline()  # commit when told (or never, when killed)
""")


def writer_lock_free(path: Path) -> bool:
    """Can another process take the writer lock right now?"""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing frees a lock we took
    return True


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/listserv.db"
    engine = db.open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (n INTEGER)"))
    engine.dispose()
    return url


def hold(url: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def test_a_writing_process_holds_the_lock_until_it_commits(sqlite_file: str, tmp_path: Path) -> None:
    lock = tmp_path / "listserv.db-writer"
    with hold(sqlite_file) as holder:
        assert not writer_lock_free(lock)
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(30) == 0
        assert writer_lock_free(lock)
    engine = db.open_engine(sqlite_file)
    with engine.begin() as connection:  # our own writes take it too, and give it back
        connection.execute(text("INSERT INTO probe VALUES (2)"))
        assert not writer_lock_free(lock)
    assert writer_lock_free(lock)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM probe ORDER BY n")).scalars().all() == [1, 2]
    engine.dispose()


def test_a_killed_writer_leaves_no_lock_behind(sqlite_file: str, tmp_path: Path) -> None:
    with hold(sqlite_file) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
    assert writer_lock_free(tmp_path / "listserv.db-writer")
    engine = db.open_engine(sqlite_file)
    with engine.begin() as connection:  # the killed transaction is gone; the next writer goes ahead
        connection.execute(text("INSERT INTO probe VALUES (3)"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM probe")).scalars().all() == [3]
    engine.dispose()
