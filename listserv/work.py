"""The work context: what every role handler, job and command works with.

One `Work` is made where a process starts (`listserv serve`, a command) and passed down:
the database's sessions, the settings, the mail templates and the clock. Tests give it a
fixed clock, so that nothing in listserv depends on the date it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from listserv.clock import Clock, system_clock
from listserv.errors import ConfigError
from listserv.render import Templates
from listserv.secret import load_secret
from listserv.settings import Settings

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]


@dataclass(frozen=True)
class Work:
    sessions: Sessions
    settings: Settings
    templates: Templates
    clock: Clock = system_clock

    def now(self) -> datetime:
        return self.clock()

    def secret(self) -> bytes:
        """The server secret that keys tokens and signs one-click links (secret_file)."""
        return load_secret(self.settings.secret_file)

    def optional_secret(self) -> bytes:
        """The secret, or b"" without a readable secret_file (logged): for what mail can do without,
        such as the discussion-control addresses, when a CLI runs on a host without the secret."""
        try:
            return self.secret()
        except ConfigError as problem:
            log.warning("no discussion-control addresses in this mail: %s", problem)
            return b""
