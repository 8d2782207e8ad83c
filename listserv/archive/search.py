"""Archive search, the pure half: what is indexed from a post, what a user's query means, and
what a hit looks like. The store (search_store.py, search_index.py) does the SQL.

A user's query is words, "quoted phrases", -excluded words and OR between alternatives (the
syntax of PostgreSQL's websearch_to_tsquery). For SQLite it is rebuilt as an FTS5 expression
from quoted terms only, so no input can be an FTS5 syntax error. A snippet comes back as
pieces (text, highlighted or not), never as markup: the page escapes each piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from listserv.mail.parse import decode_value, header_value, parse_bytes, sender_of
from listserv.mail.text import message_text

MAX_QUERY = 500  # characters of a query we read
MAX_TERMS = 32
MAX_BODY = 100_000  # characters of a post's text we index
MARK_START, MARK_END = "\x02", "\x03"  # around a highlighted word in a snippet; never in indexed text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What the index holds for one post."""

    subject: str
    author: str  # display name and address
    body: str  # the readable text: the first text part, or the HTML part as text


@dataclass(frozen=True, slots=True)
class SnippetPiece:
    text: str
    highlighted: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    post_id: int
    message_id: str
    discussion_id: int
    subject: str
    author_name: str
    author_address: str
    date: datetime
    snippet: tuple[SnippetPiece, ...]


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    total: int  # hits in the whole archive, not just this page; at most COUNTED
    offset: int
    hits: tuple[SearchHit, ...]
    capped: bool = False  # there are more than `total` hits (COUNTED): counting them all is not worth its time


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    phrase: bool = False
    excluded: bool = False


def clean_text(text: str) -> str:
    """Text as indexed: no NUL (PostgreSQL refuses it), no other control character (the snippet marks)."""
    return _CONTROL.sub(" ", text)


def document_of(raw: bytes, subject: str) -> SearchDocument:
    """The searchable text of a stored post; ``subject`` is the post row's (already decoded)."""
    message = parse_bytes(raw)
    address, name = sender_of(message)
    name = name or decode_value(header_value(message, "From")).split("<")[0].strip().strip('"')
    author = f"{name} <{address}>" if name and address else name or address
    body = message_text(message)[:MAX_BODY]
    return SearchDocument(clean_text(subject), clean_text(author), clean_text(body))


def split_author(author: str) -> tuple[str, str]:
    """(name, address) of an indexed author ("Name <address>", or either alone)."""
    name, _, rest = author.rpartition(" <")
    if rest.endswith(">") and "@" in rest:
        return name, rest[:-1]
    return ("", author) if "@" in author and " " not in author else (author, "")


def parse_query(query: str) -> tuple[tuple[Term, ...], ...]:
    """The query as AND-ed clauses, each a tuple of OR-ed terms; an excluded term is a clause
    of its own. Terms without a letter or digit are dropped: they would match nothing."""
    clauses: list[list[Term]] = []
    join_next = False
    for found in _TOKEN.finditer(clean_text(query[:MAX_QUERY])):
        minus, quoted, bare = found.groups()
        if bare is not None and bare.upper() == "OR" and clauses and not clauses[-1][0].excluded:
            join_next = True
            continue
        excluded = bool(minus) or (bare is not None and bare.startswith("-") and len(bare) > 1)
        text = (quoted if quoted is not None else bare.lstrip("-")).strip()
        if not _WORD.search(text):
            continue
        term = Term(text.replace('"', " "), phrase=quoted is not None, excluded=excluded)
        if join_next and not excluded:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        join_next = False
    return tuple(tuple(clause) for clause in clauses[:MAX_TERMS])


def fts5_query(query: str) -> str:
    """An FTS5 MATCH expression for a user's query, or "" when it can match nothing (empty, or
    only exclusions). Every term is a quoted string, so the user's text is never FTS5 syntax;
    it is matched in the text columns only (not the list_id column)."""
    clauses = parse_query(query)
    wanted = [c for c in clauses if not c[0].excluded]
    if not wanted:
        return ""
    quoted = ["(" + " OR ".join(f'"{t.text}"' for t in clause) + ")" for clause in wanted]
    excluded = "".join(f' NOT "{c[0].text}"' for c in clauses if c[0].excluded)
    return f"{{subject author body}} : ({' AND '.join(quoted)}{excluded})"


def fts5_in_list(expression: str, list_id: int) -> str:
    """The expression restricted to one list's posts inside the match (no join needed to count)."""
    return f'list_id : "{int(list_id)}" AND {expression}'


def websearch_query(query: str) -> str:
    """The query for PostgreSQL's websearch_to_tsquery (which takes any text), or "" as above."""
    if not any(not clause[0].excluded for clause in parse_query(query)):
        return ""
    return clean_text(query[:MAX_QUERY])


def snippet_pieces(marked: str) -> tuple[SnippetPiece, ...]:
    """A snippet with MARK_START/MARK_END around matches, as pieces; whitespace folded."""
    pieces: list[SnippetPiece] = []
    for index, chunk in enumerate(re.split(f"[{MARK_START}{MARK_END}]", marked)):
        text = re.sub(r"\s+", " ", chunk)
        if text:
            pieces.append(SnippetPiece(text, highlighted=index % 2 == 1))
    return tuple(pieces)
