"""The library tests' people and helpers."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.digest_helpers import LIST

ANN, BOB, CAT = "ann@example.com", "bob@example.com", "cat@example.com"
FAC = "fac@example.org"


def resources(cli: Callable[..., str], *args: str) -> list[dict[str, object]]:
    """`resource ls LIST --json` (with ARGS): the library's resources, ranked."""
    found: list[dict[str, object]] = json.loads(cli("resource", "ls", LIST, "--json", *args))["resources"]
    return found
