"""Our discussions against notmuch's threads, on a real archive: pair precision, recall, F1, header links.

    python3 -m bench.threading_vs_notmuch PATH [PATH...]   # Maildir folders, mail directories, mbox files
    python3 -m bench.threading_vs_notmuch ~/corpora/easy_ham --explain 10
    python3 -m bench.threading_vs_notmuch lkml/ --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python3 -m bench.threading_vs_notmuch easy_ham/ --split-lists    # one list per List-Id, as an operator would

Every message of the PATHs is written to one Maildir in a temp dir. notmuch (the Debian
package, `apt-get install notmuch`) indexes it (`notmuch new`) and `notmuch show --format=json
--body=false '*'` gives its threads. Our side runs as an operator would: `listserv init`,
`listserv list create`, `listserv archive import` of the same Maildir, `listserv thread ls
--json`. Only Message-IDs both sides know are compared.

- **Pairs**: two messages in one notmuch thread should share one discussion (recall); two
  messages sharing a discussion should be in one notmuch thread (precision). F1 is their
  harmonic mean.
- **Header links**: every (message, id) where the message's In-Reply-To or References names,
  between angle brackets, the Message-ID of another message of the archive. Kept when both are
  in one discussion. This is read from the raw headers here, not with our parser.
- **Without subject joins**: notmuch has no subject pass, so a `Re:` message without reference
  headers that we attached by subject is its own thread there (issue 13: "not held against
  you"). This grouping undoes our subject joins: a post the fallback placed
  (`thread_containers.method = 'subject'`) and the replies below it count as a group of their own.
- **Two references**: notmuch's threads as they are, and notmuch's threads split where only an
  author's address held them together (an id in In-Reply-To/References that is the From
  address of some message of the archive: notmuch takes `Message from Jane <jane@x> of ...`'s
  `<jane@x>` as an id, and every reply to Jane joins one thread). The split is computed here
  with notmuch's own rule (one thread per connected set of messages and the ids they name),
  checked against notmuch's output: "notmuch's rule redone here" should read 1.000/1.000.

The result is printed as one Markdown table row (docs/threading.md lists archives and figures).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path

from bench.run import fresh_database
from bench.threads import LIST, cli

_BRACKETED = re.compile(rb"<([^<>]*)>")


class BenchError(RuntimeError):
    """A step failed."""


def _files(path: Path) -> Iterator[bytes]:
    """The messages of a Maildir or mail directory (files, recursively, in name order) or an mbox."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            yield file.read_bytes()
    else:
        for message in mailbox.mbox(str(path), create=False):
            yield message.as_bytes(unixfrom=False)


_LIST_HEADERS = ("List-Id", "X-Mailing-List", "X-BeenThere", "Mailing-List", "Sender")


def list_of(data: bytes) -> str:
    """The mailing list a message came through (List-Id, or the older headers), "" if none."""
    head = BytesHeaderParser(policy=compat32).parsebytes(data)
    for name in _LIST_HEADERS:
        value = str(head.get(name, "")).strip().lower()
        if value:
            found = _BRACKETED.findall(value.encode("utf-8", "surrogateescape"))
            return found[-1].decode("utf-8", "replace") if found else value.split()[-1]
    return ""


def write_maildir(paths: Iterable[Path], target: Path, *, split: bool = False) -> dict[str, Path]:
    """The messages as Maildir files under ``target`` (one Maildir per list with ``split``)."""
    folders: dict[str, Path] = {}
    count = 0
    for path in paths:
        for data in _files(path):
            key = list_of(data) if split else ""
            if key not in folders:
                folders[key] = target / f"list{len(folders)}"
                for sub in ("cur", "new", "tmp"):
                    (folders[key] / sub).mkdir(parents=True)
            count += 1
            (folders[key] / "cur" / f"{count:07d}.bench:2,S").write_bytes(data)
    return folders


def notmuch_threads(maildir: Path, workdir: Path) -> list[list[str]]:
    """notmuch's threads of the Maildir, as lists of bare Message-IDs."""
    config = workdir / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[new]\ntags=\n[maildir]\nsynchronize_flags=false\n")
    env = dict(os.environ, NOTMUCH_CONFIG=str(config))
    try:
        subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True, capture_output=True)
    except FileNotFoundError as error:
        raise BenchError("notmuch is not installed: apt-get install notmuch") from error
    shown = subprocess.run(["notmuch", "show", "--format=json", "--body=false", "--entire-thread=true", "*"],
                           env=env, check=True, capture_output=True)  # fmt: skip
    threads: list[list[str]] = []
    for thread in json.loads(shown.stdout):
        ids: list[str] = []
        stack = list(thread)
        while stack:
            message, replies = stack.pop()
            ids.append(message["id"])
            stack.extend(replies)
        threads.append(ids)
    return threads


def our_discussions(database_url: str, maildirs: Iterable[Path]) -> tuple[list[list[str]], dict[str, str]]:
    """Our discussions of the Maildir (bare Message-IDs), and each post's group once subject joins
    are undone: a post the subject fallback placed starts a group of its own with the replies
    below it."""
    cli(database_url, "init")
    listed = []
    for number, maildir in enumerate(maildirs):
        address = LIST.replace("bench@", f"bench{number}@")
        cli(database_url, "list", "create", address, "--name", f"Bench {number}")
        cli(database_url, "archive", "import", address, str(maildir))
        listed.extend(json.loads(cli(database_url, "thread", "ls", address, "--json")))
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT message_id, parent_id, method, discussion_id FROM thread_containers"))
        containers = {row[0]: (row[1], row[2], row[3]) for row in rows}
    engine.dispose()
    unjoined: dict[str, str] = {}
    for ident, (_, _, discussion) in containers.items():
        node, seen = ident, set()
        while node in containers and node not in seen and containers[node][1] != "subject":
            seen.add(node)
            node = containers[node][0] or ""
        unjoined[ident] = node if node in containers and containers[node][1] == "subject" else f"d{discussion}"
    return [list(entry["message_ids"]) for entry in listed], unjoined


@dataclass(frozen=True)
class Headers:
    links: list[tuple[str, str]]  # (message, id named between angle brackets in In-Reply-To/References)
    senders: set[str]  # every From address of the archive, lower case


def read_headers(maildir: Path) -> Headers:
    parser = BytesHeaderParser(policy=compat32)
    links: list[tuple[str, str]] = []
    senders: set[str] = set()
    for file in sorted(maildir.glob("*/cur/*")):
        head = parser.parsebytes(file.read_bytes())
        senders.add(parseaddr(str(head.get("From", "")))[1].lower())
        own = _BRACKETED.findall(str(head.get("Message-ID", "")).encode("utf-8", "surrogateescape"))
        if not own:
            continue
        me = b"".join(own[0].split()).decode("utf-8", "replace")
        for name in ("In-Reply-To", "References"):
            for value in head.get_all(name, []):
                for token in _BRACKETED.findall(str(value).encode("utf-8", "surrogateescape")):
                    ident = b"".join(token.split()).decode("utf-8", "replace")
                    if ident and ident != me:
                        links.append((me, ident))
    senders.discard("")
    return Headers(links, senders)


def components(ids: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """notmuch's rule: one thread per connected set of messages and the ids they name."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for ident in ids:
        find(ident)
    for a, b in links:
        parent[find(a)] = find(b)
    return {ident: find(ident) for ident in ids}


def _id_and_text(data: bytes) -> tuple[str, str]:
    """A message's bare Message-ID and its first text/plain part."""
    message = BytesParser(policy=compat32).parsebytes(data)
    own = _BRACKETED.findall(str(message.get("Message-ID", "")).encode("utf-8", "surrogateescape"))
    ident = b"".join(own[0].split()).decode("utf-8", "replace") if own else ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return ident, payload.decode("latin-1") if isinstance(payload, bytes) else ""
    return ident, ""


def _fold(line: str) -> str:
    return " ".join(line.lstrip("> \t").split()).lower()


def quoting(maildir: Path, placed: set[str], discussions: list[list[str]]) -> tuple[int, int, int]:
    """Of the posts the subject fallback placed: how many quote a line (over 25 characters) of
    another post of their discussion, quote something else, quote nothing."""
    bodies: dict[str, str] = {}
    for file in sorted(maildir.glob("*/cur/*")):
        ident, text = _id_and_text(file.read_bytes())
        if ident:
            bodies.setdefault(ident, text)
    of = {ident: n for n, ids in enumerate(discussions) for ident in ids}
    agree = other = none = 0
    for ident in placed:
        quoted = [_fold(line) for line in bodies.get(ident, "").splitlines() if line.startswith(">")]
        quoted = [line for line in quoted if len(line) > 25]
        if not quoted:
            none += 1
            continue
        text = " ".join(
            _fold(line) for i in discussions[of[ident]] if i != ident for line in bodies.get(i, "").splitlines()
        )
        if any(line in text for line in quoted):
            agree += 1
        else:
            other += 1
    return agree, other, none


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


@dataclass(frozen=True)
class Score:
    messages: int
    precision: float
    recall: float
    f1: float
    false_pairs: int
    missed_pairs: int


def score(ours: dict[str, str], theirs: dict[str, str], keep: set[str]) -> Score:
    """Pair precision/recall of ``ours`` against ``theirs`` over the ids in ``keep``."""
    both = Counter((ours[i], theirs[i]) for i in keep)
    ours_sizes = Counter(ours[i] for i in keep)
    theirs_sizes = Counter(theirs[i] for i in keep)
    together, ours_pairs, theirs_pairs = (
        _pairs(both.values()),
        _pairs(ours_sizes.values()),
        _pairs(theirs_sizes.values()),
    )
    precision = together / ours_pairs if ours_pairs else 1.0
    recall = together / theirs_pairs if theirs_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(len(keep), precision, recall, f1, ours_pairs - together, theirs_pairs - together)


def explain(ours: dict[str, str], theirs: dict[str, str], keep: set[str], count: int) -> None:
    """The biggest disagreements: our discussions that join notmuch threads, and the reverse."""
    for label, left, right in (("we join", ours, theirs), ("we split", theirs, ours)):
        groups: dict[str, Counter[str]] = {}
        for ident in keep:
            groups.setdefault(left[ident], Counter())[right[ident]] += 1
        worst = sorted(groups.items(), key=lambda kv: -(_pairs([sum(kv[1].values())]) - _pairs(kv[1].values())))
        for key, parts in worst[:count]:
            cost = _pairs([sum(parts.values())]) - _pairs(parts.values())
            if not cost:
                break
            sample = {part: sorted(i for i in keep if left[i] == key and right[i] == part)[:3] for part in parts}
            print(f"{label}: {cost} pairs, parts {dict(parts)}: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="Maildir folders, mail directories or mbox files")
    parser.add_argument("--name", default="", help="the archive's name in the table row")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--split-lists",
        action="store_true",
        help="import each mailing list (List-Id, X-Mailing-List, ...) into a list of its own",
    )
    parser.add_argument("--explain", type=int, default=0, help="print the N biggest disagreements each way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listserv-vs-notmuch-") as tmp:
        workdir = Path(tmp)
        maildir = workdir / "mail"
        folders = write_maildir(args.paths, maildir, split=args.split_lists)
        files = sum(len(list((folder / "cur").iterdir())) for folder in folders.values())
        threads = notmuch_threads(maildir, workdir)
        with fresh_database(args.database_url, workdir) as url:
            discussions, unjoined = our_discussions(url, folders.values())
        headers = read_headers(maildir)
        placed = {ident for ident, group in unjoined.items() if group == ident}
        quote_ok, quote_other, quote_none = quoting(
            maildir, placed & {i for ids in discussions for i in ids}, discussions
        )
    theirs = {ident: str(n) for n, ids in enumerate(threads) for ident in ids}
    ours = {ident: str(n) for n, ids in enumerate(discussions) for ident in ids}
    keep = set(theirs) & set(ours)
    redone = components(theirs, headers.links)
    agree = score(redone, theirs, keep)
    # notmuch's threads, split where only an author's address held them together
    redone_ghostless = components(theirs, [(a, b) for a, b in headers.links if b.lower() not in headers.senders])
    ghostless = {ident: f"{theirs[ident]} {redone_ghostless[ident]}" for ident in theirs}
    named = [(a, b) for a, b in headers.links if a in keep and b in keep]
    kept = sum(1 for a, b in named if ours[a] == ours[b])
    print(f"{args.name or ', '.join(p.name for p in args.paths)}: {files:,} files in {len(folders)} list(s), "
          f"{len(keep):,} messages compared, "
          f"{len(threads):,} notmuch threads, {len(discussions):,} discussions, header links kept {kept:,}/{len(named):,}, "
          f"{len(placed):,} posts placed by subject ({quote_ok} quote their discussion, {quote_other} quote "
          f"something else, {quote_none} quote nothing); "
          f"notmuch's rule redone here: precision {agree.precision:.3f}, recall {agree.recall:.3f}")  # fmt: skip
    print("| reference | our grouping | precision | recall | F1 | pairs wrongly joined | pairs missed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for ref_name, reference in (("notmuch", theirs), ("notmuch, author addresses not ids", ghostless)):
        for our_name, grouping in (("discussions", ours), ("without subject joins", unjoined)):
            result = score(grouping, reference, keep)
            print(f"| {ref_name} | {our_name} | {result.precision:.3f} | {result.recall:.3f} | {result.f1:.3f} | "
                  f"{result.false_pairs:,} | {result.missed_pairs:,} |")  # fmt: skip
    if args.explain:
        explain(ours, ghostless, keep, args.explain)
        for a, b in [(a, b) for a, b in named if ours[a] != ours[b]][: args.explain]:
            print(f"broken link: {a} -> {b}")


if __name__ == "__main__":
    main()
