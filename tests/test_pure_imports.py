"""Pure modules never reach for I/O: no database, network or environment (STYLE 1), directly or through
another listserv module they import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "listserv"
PURE = (
    ["clock.py", "errors.py", "tokens.py", "mail/addresses.py", "mail/message.py", "mail/parse.py", "mail/text.py",
     "dkim/sign.py", "inbound/limits.py", "inbound/authres.py", "outbound/headers.py", "outbound/footer.py", "outbound/decorate.py",
     "outbound/notices.py", "outbound/oneclick.py", "membership/commands.py", "membership/policy.py",
     "membership/compose.py", "membership/transfer.py", "moderation/approve.py", "moderation/decide.py",
     "moderation/edit.py", "moderation/facts.py", "moderation/mail.py", "moderation/rules.py", "bounces/detect.py",
     "bounces/dsn.py"]
    + sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "discussions").glob("*.py")
             if p.name not in ("store.py", "admin.py", "tables.py", "importer.py", "sources.py", "cli.py", "rethread.py", "steering.py"))
)  # fmt: skip
PURE += ["outbound/arc.py"]  # ARC sealing (docs/authentication.md)
PURE += ["digest/compose.py", "digest/model.py", "digest/readable.py", "digest/trim.py"]  # digests (docs/digest.md)
PURE += [
    "engagement/rules.py",
    "engagement/facts.py",
    "engagement/commands.py",
    "engagement/chart.py",
    "engagement/report.py",
]  # docs/engagement.md
PURE += [
    "library/harvest.py",
    "library/model.py",
    "library/commands.py",
    "library/pages.py",
]  # docs/library.md
PURE += ["inbound/imap/rules.py"]  # IMAP intake decisions (docs/imap.md)
PURE += ["mail/permalinks.py", "archive/links.py", "archive/mailview.py"]  # the web archive (docs/archive.md)
PURE += ["archive/search.py", "archive/feed.py"]  # archive search and feeds (docs/archive-search.md)
FORBIDDEN = ("sqlalchemy", "aiosmtpd", "aiosmtplib", "smtplib", "socket", "imapclient", "listserv.store")


def package_of(path: Path) -> str:
    """The package a listserv file's relative imports start from."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts if parts[-1] == "__init__" else parts[:-1]).removesuffix(".__init__")


def imported_modules(source: str, package: str) -> set[str]:
    """Every module the source imports, relative imports resolved, each 'from a import b' as a and a.b."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), package_of(path))


def environment_reads(path: Path) -> list[str]:
    """os.environ / os.getenv / environ imported from os, by line."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv"):
            reads.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            reads += [f"line {node.lineno}: from os import {a.name}" for a in node.names
                      if a.name in ("environ", "environb", "getenv", "putenv", "*")]  # fmt: skip
        elif isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
            reads.append(f"line {node.lineno}: {node.id}")
    return reads


def is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def listserv_closure(path: Path) -> list[Path]:
    """The file and every listserv module it imports, transitively."""
    seen: dict[Path, None] = {}
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen[current] = None
        for module in imports_of(current):
            if module.startswith("listserv."):
                relative = Path(*module.split(".")[1:])
                for candidate in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
                    if candidate.is_file():
                        todo.append(candidate)
    return list(seen)


def test_the_pure_modules_exist():
    missing = [name for name in PURE if not (PACKAGE / name).is_file()]
    assert not missing
    assert {"moderation/rules.py", "moderation/decide.py"} <= set(PURE)


@pytest.mark.parametrize("name", PURE)
def test_a_pure_module_imports_no_database_network_or_mail_transport(name):
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imports_of(path) if is_forbidden(m))
        for path in listserv_closure(PACKAGE / name)
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


@pytest.mark.parametrize("name", PURE)
def test_a_pure_module_never_reads_the_environment(name):
    reads = {str(path.relative_to(PACKAGE)): environment_reads(path) for path in listserv_closure(PACKAGE / name)}
    assert {path: found for path, found in reads.items() if found} == {}


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import sqlalchemy.orm\n", True),
        ("from sqlalchemy import select\n", True),
        ("from listserv.store import queries\n", True),
        ("from listserv.store.queries import load_list\n", True),
        ("from ..store import queries\n", True),
        ("from .. import store\n", True),
        ("import socket as s\n", True),
        ("from smtplib import SMTP\n", True),
        ("from listserv.mail.message import ListInfo\n", False),
        ("from .parse import decode_value\n", False),
        ("import socketserver_like_name\n", False),
        ("from email import policy\n", False),
    ],
)
def test_the_import_check_itself_tells_forbidden_from_allowed(source, bad):
    modules = imported_modules(source, "listserv.inbound")
    assert any(is_forbidden(m) for m in modules) is bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [("import os\nx = os.environ['A']\n", True), ("import os\nos.getenv('A')\n", True),
     ("from os import environ\n", True), ("from os import path\n", False), ("import os\nos.path.join('a')\n", False)],
)  # fmt: skip
def test_the_environment_check_itself_finds_every_spelling(tmp_path, source, bad):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert bool(environment_reads(path)) is bad
