"""`listserv bounce ls LIST`: each member with a bounce history, their score now and their state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import click

from listserv.bounces import store
from listserv.bounces.score import bounce_score, removal_date
from listserv.bounces.tables import MemberState
from listserv.cli_context import CliContext, echo_json, pass_cli, text_time


@dataclass(frozen=True)
class Standing:
    email: str
    state: str
    score: float  # decayed to now; 0 once removed
    last_bounce: datetime | None
    reason: str
    disabled_at: datetime | None
    remove_on: datetime | None
    removed_at: datetime | None


@click.group()
def bounce() -> None:
    """Bounce scores and states: who is paused or was removed for bouncing, and why."""


@bounce.command("ls")
@click.argument("list_address")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def bounce_ls(ctx: CliContext, list_address: str, as_json: bool) -> None:
    """Members with a bounce history: score (decayed to now), state, last bounce and its reason."""
    now = ctx.now()
    found = []
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        policy = store.load_bounce_policy(session, lst.id)
        for row in store.rows_of_list(session, lst.id):
            live = row.state != MemberState.REMOVED
            events = store.events_since(session, lst.id, row.email, row.counted_from) if live else []
            removal = removal_date(row.disabled_at, policy) if row.disabled_at and live else None
            found.append(Standing(row.email, row.state, round(bounce_score(events, now, policy.half_life_days), 3),
                                  row.last_bounce_at, row.reason, row.disabled_at, removal, row.removed_at))  # fmt: skip
    if as_json:
        return echo_json([asdict(standing) for standing in found])
    for s in found:
        moment = s.removed_at or s.disabled_at or s.last_bounce
        click.echo(f"{s.email}\t{s.state}\t{s.score:g}\t{text_time(moment)}\t{s.reason}")
