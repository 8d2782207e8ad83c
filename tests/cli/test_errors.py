"""What an operator sees when the database is missing, unreachable, read-only or not migrated:
one line saying what is wrong and what to do, and a non-zero exit status; never a traceback,
and never a database file left behind by a command that only meant to read one."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from listserv.store import db
from support.cli import invoke
from support.mail import make_post

ROOT = Path(__file__).resolve().parent.parent.parent
PG_URL = os.environ.get("LISTSERV_TEST_PG_URL", "")
DOWN = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1
EX_TEMPFAIL = 75

# Run a command as root without the capabilities that ignore file modes (CAP_DAC_OVERRIDE,
# CAP_DAC_READ_SEARCH, CAP_FOWNER), so a read-only file is read-only for it as for anyone else.
DROP_AND_EXEC = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2, 3):
    if libc.prctl(24, capability, 0, 0, 0):  # PR_CAPBSET_DROP
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
os.execv(sys.argv[1], sys.argv[1:])
"""


def one_line(args: list[str], code: int = 1, input: bytes | None = None) -> str:
    """`listserv ARGS` in-process: exit CODE, one line of output, no exception escaping."""
    result = invoke(args, input=input)
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def as_user(argv: list[str]) -> list[str]:
    return [sys.executable, "-c", DROP_AND_EXEC, *argv] if os.geteuid() == 0 else argv


def run(*args: str, cwd: Path, env: dict[str, str], input: bytes = b"") -> subprocess.CompletedProcess:
    """The real command in its own process, as a user whom file modes bind."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERV_")}
    clean.update(PYTHONPATH=str(ROOT), LISTSERV_LOG_LEVEL="WARNING", **env)
    argv = as_user([sys.executable, "-m", "listserv", *args])
    return subprocess.run(argv, cwd=cwd, env=clean, input=input, capture_output=True, timeout=120)


def fails(result: subprocess.CompletedProcess, code: int = 1) -> str:
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == code and len(lines) == 1, (result.returncode, result.stderr.decode())
    return lines[0]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder to run in, with the default database_url (./listserv.db)."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("LISTSERV_") and k != "LISTSERV_TEST_PG_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LISTSERV_LOG_LEVEL", "WARNING")
    return tmp_path


# -- no database yet ----------------------------------------------------------------------------


READING_AND_WRITING = [["status"], ["list", "ls"], ["list", "create", "team", "--name", "T"],
                       ["member", "add", "team", "a@example.org"], ["quarantine", "ls"], ["serve"]]  # fmt: skip


@pytest.mark.parametrize("args", READING_AND_WRITING)
def test_a_command_before_init_says_so_and_creates_nothing(here, args):
    said = one_line(args)
    assert said == f"Error: no database at {here}/listserv.db: run `listserv init` first (or set database_url)"
    assert list(here.iterdir()) == []


def test_inject_before_init_is_a_temporary_failure_and_creates_nothing(here):
    said = one_line(["inject", "team"], code=EX_TEMPFAIL, input=make_post())
    assert said == f"listserv inject: temporary failure: no database at {here}/listserv.db: run `listserv init` first" \
        " (or set database_url)"  # fmt: skip
    assert list(here.iterdir()) == []


def test_the_real_command_before_init_prints_one_line(tmp_path):
    said = fails(run("status", cwd=tmp_path, env={}))
    assert said.endswith("listserv.db: run `listserv init` first (or set database_url)")
    assert list(tmp_path.iterdir()) == []


def test_init_into_a_missing_folder_says_which(here, monkeypatch):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", f"sqlite:///{here}/no/such/folder/listserv.db")
    said = one_line(["init"])
    assert said == f"Error: cannot create the database {here}/no/such/folder/listserv.db: its folder does not exist;" \
        " create it or set database_url"  # fmt: skip


# -- PostgreSQL missing or down -----------------------------------------------------------------


@pytest.mark.parametrize("args", [["init"], ["status"], ["serve"], ["list", "create", "team", "--name", "T"]])
def test_an_unreachable_postgresql_is_named_with_what_to_check(here, monkeypatch, args):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", DOWN)
    said = one_line(args)
    assert said.startswith(f"Error: cannot reach the database {DOWN} (connection failed: ")
    assert said.endswith(
        "): check that PostgreSQL is running there and that database_url names the right host and port"
    )


def test_inject_answers_tempfail_with_one_line_when_postgresql_is_down(here, monkeypatch):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", DOWN)
    said = one_line(["inject", "team"], code=EX_TEMPFAIL, input=make_post())
    assert said.startswith(f"listserv inject: temporary failure: cannot reach the database {DOWN} (")


def test_a_missing_driver_is_one_line(here, monkeypatch):
    monkeypatch.setenv("LISTSERV_DATABASE_URL", "postgresql+nosuchdriver://postgres@127.0.0.1/test")
    said = one_line(["status"])
    assert said.startswith("Error: cannot use database_url postgresql+nosuchdriver://postgres@127.0.0.1/test (")
    assert said.endswith("give sqlite:///PATH or postgresql://USER@HOST:PORT/NAME")


@pytest.mark.skipif(not PG_URL, reason="LISTSERV_TEST_PG_URL is not set")
def test_a_missing_postgresql_database_or_user_is_named(here, monkeypatch):
    server = db.normalize_url(PG_URL).rpartition("/")[0]
    monkeypatch.setenv("LISTSERV_DATABASE_URL", f"{server}/no_such_database_here")
    said = one_line(["init"])
    assert said.startswith(f"Error: the database {server}/no_such_database_here does not exist (")
    assert said.endswith("): create it, or fix database_url")
    host = server.rpartition("@")[2]
    monkeypatch.setenv("LISTSERV_DATABASE_URL", f"postgresql://nobody_here:secret@{host}/test")
    said = one_line(["status"])
    assert said.startswith(f"Error: PostgreSQL refused the login to postgresql://nobody_here:***@{host}/test (")
    assert "secret" not in said and said.endswith("check the user and password in database_url")


# -- a read-only data directory -----------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[object]:
    """read_only(path): make a file or folder read-only for the commands `run` starts (restored after)."""
    changed: list[tuple[Path, int]] = []

    def make(path: Path) -> None:
        changed.append((path, path.stat().st_mode))
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
        probe = path / "probe" if path.is_dir() else path
        tried = subprocess.run(as_user([sys.executable, "-c", f"open({str(probe)!r}, 'a')"]), capture_output=True)
        if tried.returncode == 0:
            pytest.skip("file modes do not bind this user here (root without capability control?)")

    yield make
    for path, mode in reversed(changed):
        path.chmod(mode)


def migrated(folder: Path) -> dict[str, str]:
    url = f"sqlite:///{folder}/listserv.db"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return {"LISTSERV_DATABASE_URL": url, "LISTSERV_SECRET_FILE": str(folder / "listserv.secret")}


def test_a_read_only_folder_stops_init_serve_and_writes_with_one_line(tmp_path, read_only):
    data = tmp_path / "data"
    data.mkdir()
    read_only(data)
    env = {"LISTSERV_DATABASE_URL": f"sqlite:///{data}/listserv.db"}
    said = fails(run("init", cwd=tmp_path, env=env))
    assert said == f"Error: the database folder {data} is read-only: make it writable for this user (SQLite writes" \
        " its journal beside the file), or set database_url"  # fmt: skip
    assert list(data.iterdir()) == []


def test_a_read_only_database_folder_or_file_stops_every_command(tmp_path, read_only):
    data = tmp_path / "data"
    data.mkdir()
    env = migrated(data)
    read_only(data / "listserv.db")
    for args in (["init"], ["serve"], ["list", "create", "team", "--name", "T"]):
        said = fails(run(*args, cwd=tmp_path, env=env))
        assert said == f"Error: the database {data}/listserv.db is read-only: make the file writable for this user"
    said = fails(run("inject", "team", cwd=tmp_path, env=env, input=make_post()), code=EX_TEMPFAIL)
    assert said == f"listserv inject: temporary failure: the database {data}/listserv.db is read-only: make the file" \
        " writable for this user"  # fmt: skip
    (data / "listserv.db").chmod(0o644)
    read_only(data)
    said = fails(run("list", "create", "team", "--name", "T", cwd=tmp_path, env=env))
    assert said.startswith(f"Error: the database folder {data} is read-only: make it writable for this user")


def test_init_says_when_it_cannot_write_the_secret_file(tmp_path, read_only):
    data, keys = tmp_path / "data", tmp_path / "keys"
    data.mkdir()
    keys.mkdir()
    read_only(keys)
    env = {"LISTSERV_DATABASE_URL": f"sqlite:///{data}/listserv.db", "LISTSERV_SECRET_FILE": str(keys / "secret")}
    result = run("init", cwd=tmp_path, env=env)
    assert fails(result) == f"Error: cannot create secret_file {keys}/secret (Permission denied): make its folder " \
        "writable for this user, or set secret_file"  # fmt: skip
    assert result.stdout.decode().startswith("database ready: ")


# -- the schema not migrated --------------------------------------------------------------------


def set_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LISTSERV_DATABASE_URL", url)
    monkeypatch.setenv("LISTSERV_DOMAIN", "lists.example.test")


def test_a_database_without_tables_asks_for_init(here, monkeypatch, database_url):
    path = db.sqlite_path(database_url)
    if path is not None:
        path.touch()  # an empty SQLite file, as an earlier listserv left behind
    set_database(monkeypatch, database_url)
    name = db.describe(database_url)
    for args in (["status"], ["list", "ls"], ["held", "ls", "team"], ["serve"]):
        assert one_line(args) == f"Error: the database {name} has no listserv tables: run `listserv init` first"
    assert "database ready" in invoke(["init"]).output
    assert invoke(["list", "ls"]).exit_code == 0


def test_a_database_behind_its_migrations_asks_for_init(here, monkeypatch, database_url):
    engine = db.open_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["engine"] = engine
    command.upgrade(config, "0001")  # the core tables only: as before an upgrade of listserv
    engine.dispose()
    set_database(monkeypatch, database_url)
    name = db.describe(database_url)
    for args in (["list", "ls"], ["member", "add", "team", "a@example.org"], ["serve"]):
        assert one_line(args) == f"Error: the database {name} needs migrating: run `listserv init` first"
    said = one_line(["inject", "team"], code=EX_TEMPFAIL, input=make_post())
    assert said == f"listserv inject: temporary failure: the database {name} needs migrating: run `listserv init` first"
    invoke(["init"])
    assert invoke(["list", "ls"]).exit_code == 0


def test_a_database_from_a_newer_listserv_is_left_alone(here, monkeypatch, migrated_url):
    engine = db.open_engine(migrated_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    engine.dispose()
    set_database(monkeypatch, migrated_url)
    name = db.describe(migrated_url)
    for args in (["init"], ["status"]):
        assert one_line(args) == f"Error: the database {name} was migrated by a newer listserv (revision 9999): run " \
            "that version, or restore a backup"  # fmt: skip


def test_a_file_that_is_not_a_database_is_named(here, monkeypatch):
    (here / "listserv.db").write_text("these are my notes\n" * 100)
    said = one_line(["status"])
    assert said.startswith(f"Error: {here}/listserv.db is not a SQLite database (")
    assert said.endswith("): check database_url")


# -- the translation, on the drivers' own errors -------------------------------------------------


def raised(action) -> BaseException:
    try:
        action()
    except Exception as error:
        return error
    raise AssertionError("no error")


def test_driver_errors_that_escape_sqlalchemy_are_translated_too_and_bugs_are_not():
    down = raised(lambda: psycopg.connect("postgresql://postgres@127.0.0.1:1/test", connect_timeout=5))
    said = db.database_failure(down, DOWN)
    assert said is not None and str(said).startswith(f"cannot reach the database {DOWN} (connection failed: ")
    memory = sqlite3.connect(":memory:")
    missing = raised(lambda: memory.execute("SELECT * FROM lists"))
    assert str(db.database_failure(missing)) == (
        "the database at database_url lacks listserv tables (no such table: lists): run `listserv init` first"
    )
    memory.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    memory.execute("INSERT INTO t VALUES (1)")
    assert db.database_failure(raised(lambda: memory.execute("INSERT INTO t VALUES (1)"))) is None  # a bug: traceback
    memory.close()
    assert db.database_failure(ValueError("not the database")) is None
