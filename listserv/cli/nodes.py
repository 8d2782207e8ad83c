"""What `listserv status` says about the nodes sharing the database (store/nodes.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from listserv.settings import Settings
from listserv.store import nodes
from listserv.store.nodes import NodeState, StaleLease


@dataclasses.dataclass(frozen=True)
class NodeReport:
    known: list[NodeState]
    stale: list[StaleLease]

    def rows(self) -> list[dict[str, object]]:
        """For --json: a row with a `node` key for each node, one with a `stale` key for each stale lease."""
        found: list[dict[str, object]] = [
            {"node": n.name, **{k: v for k, v in dataclasses.asdict(n).items() if k != "name"}} for n in self.known
        ]
        return found + [
            {"stale": s.kind, **{k: v for k, v in dataclasses.asdict(s).items() if k != "kind"}} for s in self.stale
        ]

    def lines(self, now: datetime) -> list[str]:
        shown = [
            f"node\t{n.name}\t{n.state}\tpid {n.pid} on {n.host}\tv{n.version}\tseen {_ago(now, n.last_seen)} ago"
            f"\tholds {n.inbound_held} inbound, {n.batches_held} batches" + (f"\trunning {n.doing}" if n.doing else "")
            for n in self.known
        ]
        return shown + [
            f"stale\t{s.kind} {s.id}\theld by {s.node or '(no node recorded)'}\t{s.why}"
            + (f" (lease until {s.lease_until:%Y-%m-%d %H:%M:%S})" if s.lease_until else "")
            for s in self.stale
        ]


def load_report(session: Session, settings: Settings, now: datetime) -> NodeReport:
    known = nodes.load_nodes(session, now, timedelta(seconds=settings.node_dead_seconds))
    live = [node.name for node in known if node.state == "live"]
    return NodeReport(known, nodes.stale_leases(session, now, live))


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"
