"""Where a post lives on the web: its permalink derives from its Message-ID alone, so it stays
the same across re-imports, re-threading and list renames of the web root. Pure."""

from __future__ import annotations

from urllib.parse import quote

_SAFE = "@!$&'()*+,;=:-._~"  # RFC 3986 pchar, less "/": a Message-ID stays readable in the URL


def permalink_path(list_name: str, message_id: str) -> str:
    """``/LIST/m/<Message-ID, percent-encoded>`` for a bare Message-ID (no angle brackets)."""
    return f"/{quote(list_name, safe='')}/m/{quote(message_id.strip('<>'), safe=_SAFE)}"


def list_name_of(address: str) -> str:
    """The name a list's pages live under: its address's local part."""
    return address.partition("@")[0]
