"""Where a post lives on the web archive. Pure.

The same shape as the archive's permalink_path (listserv/archive/links.py, branch `archive`):
a post's URL derives from its Message-ID only, so it survives re-imports and renames.
The merge keeps one of the two.
"""

from __future__ import annotations

from urllib.parse import quote


def permalink_path(list_name: str, message_id: str) -> str:
    """/LIST/post/MESSAGE-ID (the id without angle brackets, percent-encoded)."""
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    return f"/{quote(list_name, safe='')}/post/{quote(bare, safe='@')}"
