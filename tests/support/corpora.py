"""The shared third-party corpora (`LISTSERV_CORPORA`); tests that need them skip cleanly without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def corpora(*parts: str) -> Path:
    """The corpora folder, or the folder `parts` names inside it; skips the test when either is missing."""
    value = os.environ.get("LISTSERV_CORPORA", "")
    if not value:
        pytest.skip("LISTSERV_CORPORA is not set: point it at the shared third-party corpora to run this")
    path = Path(value, *parts)
    if not path.is_dir():
        pytest.skip(f"LISTSERV_CORPORA={value} has no folder {os.path.join(*parts) if parts else ''}".rstrip())
    return path
