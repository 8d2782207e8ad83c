"""Archive search, the queries: one interface, FTS5 on SQLite and full-text search on PostgreSQL.

    search_posts(session, list_id, query, limit=20, offset=0) -> SearchPage

Hits are ranked by relevance (subject over author over text; BM25 on SQLite, ts_rank_cd on
PostgreSQL), newest first among equals; a query with more than RANKED hits (two very common
words) lists them newest first instead. Only the page's hits get a snippet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from listserv.archive.search import (
    MARK_END,
    MARK_START,
    SearchHit,
    SearchPage,
    fts5_in_list,
    fts5_query,
    snippet_pieces,
    split_author,
    websearch_query,
)
from listserv.archive.search_index import SEARCH
from listserv.discussions.tables import ThreadContainer
from listserv.store.schema import Post

MAX_LIMIT = 100
SNIPPET_WORDS = 24
RANKED = 5000  # more hits than this are listed newest first: ranking them all costs more than it tells
COUNTED = 10_000  # hits counted at most (SearchPage.capped: more)
CONTAINERS = cast(Table, ThreadContainer.__table__)
POSTS = cast(Table, Post.__table__)

_SQLITE_COUNT = text(
    "SELECT count(*) FROM (SELECT 1 FROM archive_search_fts WHERE archive_search_fts MATCH :in_list LIMIT :cap)"
)
_SQLITE_RANKED = text(  # bm25 over the matches only, the list by a join: cheap while there are few matches
    "SELECT f.rowid, snippet(archive_search_fts, 2, char(2), char(3), '…', :words) FROM archive_search_fts f "
    "JOIN archive_search s ON s.post_id = f.rowid WHERE archive_search_fts MATCH :q AND s.list_id = :list_id "
    "ORDER BY bm25(archive_search_fts, 10.0, 4.0, 1.0, 0.0), f.rowid DESC LIMIT :limit OFFSET :offset"
)
_SQLITE_NEWEST = text(
    "SELECT rowid, snippet(archive_search_fts, 2, char(2), char(3), '…', :words) FROM archive_search_fts "
    "WHERE archive_search_fts MATCH :in_list ORDER BY rowid DESC LIMIT :limit OFFSET :offset"
)
_PG_COUNT = text(
    "SELECT count(*) FROM (SELECT 1 FROM archive_search s WHERE s.list_id = :list_id "
    "AND s.document @@ websearch_to_tsquery('english', :q) LIMIT :cap) AS found"
)
_PG_PAGE = (
    "WITH q AS (SELECT websearch_to_tsquery('english', :q) AS query), "
    "page AS (SELECT s.post_id, s.body, {score} AS score FROM archive_search s, q "
    "WHERE s.list_id = :list_id AND s.document @@ q.query ORDER BY {order} LIMIT :limit OFFSET :offset) "
    "SELECT page.post_id, ts_headline('english', page.body, q.query, :options) FROM page, q "
    "ORDER BY page.score DESC, page.post_id DESC"
)
_PG_RANKED = text(_PG_PAGE.format(score="ts_rank_cd(s.document, q.query)", order="score DESC, s.post_id DESC"))
_PG_NEWEST = text(_PG_PAGE.format(score="0", order="s.post_id DESC"))  # the primary key, read backwards
_PG_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12, MaxFragments=2"


Ranked = tuple[int, list[tuple[int, str]]]  # (total, [(post id, marked snippet)])


def _sqlite(session: Session, list_id: int, query: str, limit: int, offset: int) -> Ranked:
    expression = fts5_query(query)
    if not expression:
        return 0, []
    params = dict(q=expression, in_list=fts5_in_list(expression, list_id), list_id=list_id, limit=limit,
                  offset=offset, words=SNIPPET_WORDS, cap=COUNTED + 1)  # fmt: skip
    total = int(session.scalar(_SQLITE_COUNT, params) or 0)
    if total <= offset:
        return total, []
    rows = session.execute(_SQLITE_RANKED if total <= RANKED else _SQLITE_NEWEST, params).all()
    return total, [(int(post_id), marked or "") for post_id, marked in rows]


def _postgresql(session: Session, list_id: int, query: str, limit: int, offset: int) -> Ranked:
    expression = websearch_query(query)
    if not expression:
        return 0, []
    params = dict(q=expression, list_id=list_id, limit=limit, offset=offset, options=_PG_OPTIONS, cap=COUNTED + 1)
    total = int(session.scalar(_PG_COUNT, params) or 0)
    if total <= offset:
        return total, []
    rows = session.execute(_PG_RANKED if total <= RANKED else _PG_NEWEST, params).all()
    return total, [(int(post_id), marked or "") for post_id, marked in rows]


def _hits(session: Session, ranked: Sequence[tuple[int, str]]) -> tuple[SearchHit, ...]:
    ids = [post_id for post_id, _ in ranked]
    query = (
        select(POSTS.c.id, POSTS.c.message_id, POSTS.c.subject, POSTS.c.sender, POSTS.c.created_at,
               CONTAINERS.c.discussion_id, CONTAINERS.c.message_id.label("bare_id"), CONTAINERS.c.posted_at,
               SEARCH.c.author)
        .join(CONTAINERS, CONTAINERS.c.post_id == POSTS.c.id)
        .join(SEARCH, SEARCH.c.post_id == POSTS.c.id)
        .where(POSTS.c.id.in_(ids))
    )  # fmt: skip
    found = {row.id: row for row in session.execute(query)}
    hits = []
    for post_id, marked in ranked:
        row = found.get(post_id)
        if row is None:  # removed since it was ranked
            continue
        name, address = split_author(row.author)
        when: datetime = row.posted_at or row.created_at
        hits.append(SearchHit(post_id, row.bare_id, row.discussion_id, row.subject, name, address or row.sender,
                              when, snippet_pieces(marked)))  # fmt: skip
    return tuple(hits)


def search_posts(session: Session, list_id: int, query: str, *, limit: int = 20, offset: int = 0) -> SearchPage:
    """The archived posts of a list that match a user's query (any text: never an SQL error)."""
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    ranking = _postgresql if session.get_bind().dialect.name == "postgresql" else _sqlite
    total, ranked = ranking(session, list_id, query, limit, offset)
    hits = _hits(session, ranked) if ranked else ()
    return SearchPage(query, min(total, COUNTED), offset, hits, capped=total > COUNTED)
