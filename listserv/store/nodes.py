"""Several `listserv serve` processes on one database: who is there, and who holds what.

Each serving process is a node (settings `node_name`, by default hostname:pid). It writes a
heartbeat row in `nodes` every `heartbeat_seconds`, with the service's clock, and the claims
it takes (inbound messages, batches) carry its name in `lease_node`. A node whose heartbeat
is older than `node_dead_seconds`, or whose process is gone from this host, is dead: its
leases are stale. A node releases at once the claims of dead processes on its own host;
elsewhere a claim is taken over when its lease expires (docs/scaling.md).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from listserv import __version__
from listserv.store.queries import BATCHES, INBOUND, rowcount
from listserv.store.schema import BatchStatus, InboundStatus, Node

NODES = cast(Table, Node.__table__)
FORGET_AFTER = timedelta(days=7)  # a node row not seen this long is removed


@dataclass(frozen=True)
class Identity:
    name: str
    host: str
    pid: int


def identity(configured: str, suffix: str = "") -> Identity:
    """This process as a node: NODE_NAME when set (with SUFFIX, for the processes of --workers), else hostname:pid."""
    host, pid = socket.gethostname(), os.getpid()
    return Identity(f"{configured}{suffix}" if configured else f"{host}:{pid}", host, pid)


def claiming_sessions(engine: Any, node: str) -> sessionmaker[Session]:
    """Sessions whose claims are recorded as NODE's (queries.holder reads it from the session's info)."""
    return sessionmaker(engine, expire_on_commit=False, info={"node": node})


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def beat(session: Session, me: Identity, now: datetime, doing: str, started: datetime) -> None:
    """Record that ME is alive now (insert or update its row), and forget nodes long gone."""
    values = dict(name=me.name, host=me.host, pid=me.pid, version=__version__, started_at=started, last_seen=now,
                  stopped_at=None, doing=doing)  # fmt: skip
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(NODES).values(**values)
    changed = {key: statement.excluded[key] for key in ("host", "pid", "version", "started_at", "last_seen",
                                                         "stopped_at", "doing")}  # fmt: skip
    session.execute(statement.on_conflict_do_update(index_elements=[NODES.c.name], set_=changed))
    session.execute(delete(NODES).where(NODES.c.last_seen < now - FORGET_AFTER))


def stopped(session: Session, me: Identity, now: datetime) -> int:
    """A clean stop: the row says so, and what ME still holds is free at once."""
    session.execute(update(NODES).where(NODES.c.name == me.name).values(stopped_at=now, last_seen=now, doing=""))
    return release_leases_of(session, [me.name])


def release_dead_neighbours(session: Session, me: Identity) -> list[str]:
    """Free the claims of nodes on this host whose process is gone (a kill -9, a crash): no need
    to wait for their leases to expire. Returns the names of those that held something."""
    rows = session.execute(
        select(NODES.c.name, NODES.c.pid).where(NODES.c.host == me.host, NODES.c.name != me.name,
                                                 NODES.c.stopped_at.is_(None))
    ).all()  # fmt: skip
    gone = [name for name, pid in rows if pid == me.pid or not process_alive(pid)]
    return gone if gone and release_leases_of(session, gone) else []


def release_leases(session: Session, keep: Iterable[str] = ()) -> int:
    """Free every claim but those held by the nodes in KEEP: at start-up of a SQLite install
    (one host: KEEP is its live processes), whatever a dead process held is free again."""
    kept = list(keep)
    batches = and_(BATCHES.c.status == BatchStatus.SENDING, or_(BATCHES.c.lease_node.is_(None),
                                                               BATCHES.c.lease_node.not_in(kept)))  # fmt: skip
    inbound = and_(INBOUND.c.status == InboundStatus.RECEIVED, INBOUND.c.lease_node.is_not(None),
                   INBOUND.c.lease_node.not_in(kept))  # fmt: skip
    return _free(session, batches, inbound)


def release_leases_of(session: Session, nodes: Sequence[str]) -> int:
    """Free the claims the named nodes hold (they stopped, or their process is gone)."""
    if not nodes:
        return 0
    batches = and_(BATCHES.c.status == BatchStatus.SENDING, BATCHES.c.lease_node.in_(nodes))
    inbound = and_(INBOUND.c.status == InboundStatus.RECEIVED, INBOUND.c.lease_node.in_(nodes))
    return _free(session, batches, inbound)


def _free(session: Session, batches: Any, inbound: Any) -> int:
    """Batches in the order every claim takes them (batches, then inbound), so two frees never deadlock."""
    freed = session.execute(
        update(BATCHES).where(batches).values(status=BatchStatus.PENDING, lease_until=None, lease_node=None)
        .execution_options(preserve_rowcount=True)
    )  # fmt: skip
    taken = session.execute(
        update(INBOUND).where(inbound).values(lease_until=None, lease_node=None)
        .execution_options(preserve_rowcount=True)
    )  # fmt: skip
    return rowcount(freed) + rowcount(taken)


def live_local_names(session: Session, me: Identity) -> list[str]:
    """The nodes on this host whose process still runs (SQLite: every node is on this host)."""
    rows = session.execute(select(NODES.c.name, NODES.c.pid).where(NODES.c.host == me.host)).all()
    return [name for name, pid in rows if name == me.name or (pid != me.pid and process_alive(pid))]


@dataclass(frozen=True)
class NodeState:
    name: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_seen: datetime
    state: str  # live | dead | stopped
    doing: str
    inbound_held: int
    batches_held: int


@dataclass(frozen=True)
class StaleLease:
    kind: str  # inbound | batch
    id: int
    node: str  # "" when no node was recorded
    lease_until: datetime | None
    why: str  # expired | node dead


def load_nodes(session: Session, now: datetime, dead_after: timedelta) -> list[NodeState]:
    """Every node known, live ones first, with what each holds."""
    held_inbound = dict(_held(session, INBOUND, INBOUND.c.status == InboundStatus.RECEIVED))
    held_batches = dict(_held(session, BATCHES, BATCHES.c.status == BatchStatus.SENDING))
    rows = session.execute(select(NODES).order_by(NODES.c.name)).all()
    here = socket.gethostname()
    states = [
        NodeState(r.name, r.host, r.pid, r.version, r.started_at, r.last_seen,
                  _state(r.stopped_at, r.last_seen, now - dead_after, r.host == here and not process_alive(r.pid)),
                  r.doing, held_inbound.get(r.name, 0), held_batches.get(r.name, 0))
        for r in rows
    ]  # fmt: skip
    return sorted(states, key=lambda node: (node.state != "live", node.name))


def _state(stopped_at: datetime | None, last_seen: datetime, oldest_live: datetime, gone: bool) -> str:
    if stopped_at is not None:
        return "stopped"
    return "dead" if gone or last_seen < oldest_live else "live"


def _held(session: Session, table: Table, claimed: Any) -> list[tuple[str, int]]:
    query = select(table.c.lease_node, func.count()).where(claimed, table.c.lease_node.is_not(None))
    return [(name, count) for name, count in session.execute(query.group_by(table.c.lease_node)).all()]


def stale_leases(session: Session, now: datetime, live: Iterable[str]) -> list[StaleLease]:
    """Claims still taken but expired, or held by a node that is not live."""
    names = list(live)
    found: list[StaleLease] = []
    for kind, table, claimed in (
        ("inbound", INBOUND, and_(INBOUND.c.status == InboundStatus.RECEIVED, INBOUND.c.lease_node.is_not(None))),
        ("batch", BATCHES, BATCHES.c.status == BatchStatus.SENDING),
    ):
        stale = or_(table.c.lease_until < now, table.c.lease_node.is_(None), table.c.lease_node.not_in(names))
        query = select(table.c.id, table.c.lease_node, table.c.lease_until).where(claimed, stale)
        for lease_id, node, until in session.execute(query.order_by(table.c.id).limit(100)).all():
            why = "expired" if until is not None and until < now else "node not live"
            found.append(StaleLease(kind, lease_id, node or "", until, why))
    return found
