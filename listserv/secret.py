"""The server secret that signs one-click unsubscribe links (`secret_file`).

`listserv init` creates it (32 random bytes, hex, mode 0600) when it is missing. Every node
sharing a database must use the same file: a link signed by one is checked by another.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from listserv.errors import ConfigError

MIN_BYTES = 16


def ensure_secret(path: str) -> bool:
    """Create the secret file if it does not exist. True when it was created."""
    target = Path(path)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another process meanwhile
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


@lru_cache(maxsize=8)
def load_secret(path: str) -> bytes:
    """The secret's bytes (cached for the process). Only `listserv init` creates the file: a
    new secret would silently break every link and reply address in mail already sent."""
    try:
        data = Path(path).read_bytes().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"no secret_file {path}: run `listserv init` to create one, or restore it from your "
            "backup (links and reply addresses in mail already sent need the same secret)"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read secret_file {path}: {error.strerror}; make it readable for this user") from None
    if len(data) < MIN_BYTES:
        raise ConfigError(f"secret_file {path} holds fewer than {MIN_BYTES} bytes")
    return data
