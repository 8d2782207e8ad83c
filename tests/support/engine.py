"""Run the real listserv Service in a background thread, on loopback ports chosen by the OS."""

from __future__ import annotations

import asyncio
import threading

from listserv.clock import Clock
from listserv.render import Templates
from listserv.service import Service
from listserv.settings import Settings
from listserv.store import db
from listserv.work import Work
from support.clock import TestClock


class RunningEngine:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.engine = db.open_engine(settings.database_url)
        self.work = Work(
            db.sessions(self.engine),
            settings,
            Templates(settings.templates_dir, settings.public_url),
            clock or TestClock(),
        )
        self.loop = asyncio.new_event_loop()
        self.service = Service(self.work, self.engine)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "RunningEngine":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=20)
        return self

    async def _start(self) -> None:
        self.service = Service(self.work, self.engine)  # its Events belong to this loop
        await self.service.start()

    @property
    def lmtp(self) -> tuple[str, int]:
        return self.service.servers[0].sockets[0].getsockname()[:2]

    @property
    def smtp(self) -> tuple[str, int]:
        return self.service.servers[1].sockets[0].getsockname()[:2]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(timeout=60)
        # threads still inside a database call finish before their engine is disposed
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=20)
        self.loop.close()
        self.engine.dispose()
