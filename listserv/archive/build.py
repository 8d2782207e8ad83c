"""`listserv archive build LIST OUTDIR`: the archive as static files for any web server.

The same pages as the web (archive/pages.py) with relative links ending in .html, plus the
style sheet and every attachment. Streamed: BATCH discussions in memory at a time (two queries
for them all), so memory stays flat however large the archive. With jobs > 1, batches are
shared among that many processes (each its own database connection); pages are the same.

    OUTDIR/index.html, page/N.html     the discussions, newest activity first
    OUTDIR/d/ID.html                   a discussion, threaded
    OUTDIR/m/TOKEN.html                a post (TOKEN: archive permalinks, mail/permalinks.py)
    OUTDIR/a/TOKEN/N/NAME              an attachment
    OUTDIR/archive.css
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from listserv.archive import pages
from listserv.archive.mailview import attachment_data
from listserv.archive.store import PAGE_SIZE, ShownPost, discussion_ids, load_discussions, load_index_page
from listserv.discussions.admin import Summary
from listserv.mail.message import ListInfo
from listserv.render import DEFAULT_TEMPLATES, Templates
from listserv.settings import Settings
from listserv.store import db
from listserv.work import Work

BATCH = 200  # discussions per database session
STATIC = ".html"


@dataclass(frozen=True)
class BuildReport:
    discussions: int
    posts: int
    attachments: int
    files: int
    seconds: float


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _index_pages(work: Work, lst: ListInfo, out: Path) -> int:
    number, pages_total = 1, 1
    while number <= pages_total:
        with work.sessions() as session:
            page = load_index_page(session, lst.id, number, PAGE_SIZE)
        pages_total = page.pages
        link = pages.Linker(0 if number == 1 else 1, STATIC)
        target = out / "index.html" if number == 1 else out / "page" / f"{number}.html"
        _write(target, pages.render_index(work.templates, lst, page, link))
        number += 1
    return pages_total


def _discussion(work: Work, lst: ListInfo, out: Path, summary: Summary, posts: list[ShownPost]) -> tuple[int, int]:
    """Write one discussion's page, its posts' pages and attachments: (posts, attachments)."""
    discussion_id = summary.id
    link = pages.Linker(1, STATIC)
    items = pages.post_items(posts)
    _write(
        out / "d" / f"{discussion_id}.html", pages.render_discussion(work.templates, lst, summary, posts, link, items)
    )
    attachments = 0
    for item, post in zip(items, posts, strict=True):
        page = pages.render_post_item(work.templates, lst, item, discussion_id, summary.subject, link)
        _write(out / "m" / f"{item.token}.html", page)
        for attachment in item.view.attachments:
            data = attachment_data(post.raw, attachment.index)
            if data is not None:
                _write(out / "a" / item.token / str(attachment.index) / attachment.filename, data[1])
                attachments += 1
    return len(posts), attachments


def _batch(work: Work, lst: ListInfo, out: Path, ids: list[int]) -> tuple[int, int, int]:
    """One batch of discussions: (posts, attachments, files) written."""
    with work.sessions() as session:
        batch = load_discussions(session, lst.id, ids)  # one gone since (a merge) is left out
    posts = attachments = files = 0
    for summary, shown_posts in batch:
        shown, attached = _discussion(work, lst, out, summary, shown_posts)
        posts, attachments, files = posts + shown, attachments + attached, files + 1 + shown + attached
    return posts, attachments, files


_WORKER: Work | None = None


def _start_worker(settings: Settings) -> None:
    """A build process's own database engine and templates (nothing shared with its parent)."""
    global _WORKER
    _WORKER = Work(db.sessions(db.open_engine(settings.database_url)), settings,
                   Templates(settings.templates_dir, settings.public_url))  # fmt: skip


def _batch_in_worker(lst: ListInfo, out: Path, ids: list[int]) -> tuple[int, int, int]:
    assert _WORKER is not None
    return _batch(_WORKER, lst, out, ids)


def _batches(work: Work, lst: ListInfo, out: Path, ids: list[int], jobs: int) -> Iterator[tuple[int, int, int]]:
    chunks = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    if jobs <= 1 or len(chunks) < 2:
        yield from (_batch(work, lst, out, chunk) for chunk in chunks)
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no database connection inherited
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(work.settings,)) as pool:
        yield from pool.map(_batch_in_worker, repeat(lst), repeat(out), chunks)


def build_static(work: Work, lst: ListInfo, outdir: str | Path, jobs: int = 1,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> BuildReport:  # fmt: skip
    started, out = time.monotonic(), Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    own = Path(work.settings.templates_dir) / "archive.css" if work.settings.templates_dir else None
    shutil.copyfile(
        own if own is not None and own.is_file() else DEFAULT_TEMPLATES / "archive.css", out / "archive.css"
    )
    with work.sessions() as session:
        ids = discussion_ids(session, lst.id)
    files = 1 + _index_pages(work, lst, out)
    posts = attachments = 0
    for done, (shown, attached, written) in enumerate(_batches(work, lst, out, ids, jobs), 1):
        posts, attachments, files = posts + shown, attachments + attached, files + written
        progress(min(done * BATCH, len(ids)), len(ids))
    return BuildReport(len(ids), posts, attachments, files, time.monotonic() - started)
