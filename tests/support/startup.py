"""`listserv serve` as a subprocess that is expected to stop at start: what it printed, how it ended."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from listserv.settings import Settings
from support.postfix import free_port
from support.process import serve_env


@dataclass(frozen=True)
class Ended:
    code: int
    stderr: str
    seconds: float

    @property
    def errors(self) -> list[str]:
        """The lines the root command printed for an error (`Error: ...`)."""
        return [line for line in self.stderr.splitlines() if line.startswith("Error: ")]


def serve_expecting_failure(settings: Settings, folder: Path, timeout: float = 30.0, **variables: str) -> Ended:
    """Run `listserv serve` with settings plus LISTSERV_<KEY>=value for each keyword; wait for it to end.

    A server that starts after all is killed when `timeout` runs out (subprocess.TimeoutExpired).
    """
    env = serve_env(settings, free_port(), free_port())
    env.update({f"LISTSERV_{key.upper()}": value for key, value in variables.items()})
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "listserv", "serve"], env=env, cwd=folder, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    return Ended(done.returncode, done.stderr, time.monotonic() - started)
