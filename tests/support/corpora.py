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


# notmuch fuses 48 lkml messages through the bogus Message-ID <yes>; we keep one discussion per key
# below, with this many messages (docs/threading.md)
LKML_YES_SPLIT = {
    "1258848661-4660-1-git-send-email-stefan@datenfreihafen.org": 6,
    "1259223435-29656-1-git-send-email-stefan@datenfreihafen.org": 2,  # placeholder root
    "1277220005-3322-1-git-send-email-sjayaraman@suse.de": 1,  # cifs 00/10
    "1277220158-3405-1-git-send-email-sjayaraman@suse.de": 1,
    "1277220170-3442-1-git-send-email-sjayaraman@suse.de": 2,
    "1277220189-3485-1-git-send-email-sjayaraman@suse.de": 3,
    "1277220198-3522-1-git-send-email-sjayaraman@suse.de": 4,
    "1277220206-3559-1-git-send-email-sjayaraman@suse.de": 7,
    "1277220214-3597-1-git-send-email-sjayaraman@suse.de": 12,
    "1277220228-3635-1-git-send-email-sjayaraman@suse.de": 2,
    "1277220240-3674-1-git-send-email-sjayaraman@suse.de": 2,
    "1277220261-3717-1-git-send-email-sjayaraman@suse.de": 2,
    "1277220309-3757-1-git-send-email-sjayaraman@suse.de": 4,  # cifs 10/10
}
