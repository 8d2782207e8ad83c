"""`listserv engagement LIST`: each member's stage, the reasons and the dates."""

from __future__ import annotations

from typing import Any

import click

from listserv.cli_context import CliContext, echo_json, pass_cli, text_time
from listserv.engagement.rules import Stage, format_rules, is_stuck
from listserv.engagement.store import Assessed, ListEngagement, assess_list, history
from listserv.errors import NotFound
from listserv.mail.addresses import normalize_address


def member_json(item: Assessed, engagement: ListEngagement) -> dict[str, Any]:
    facts, assessment = item.facts, item.assessment
    return {
        "email": facts.email, "stage": int(assessment.stage), "stage_name": assessment.stage.label,
        "since": item.since, "reasons": list(assessment.reasons), "joined": facts.joined,
        "last_post": facts.last_post, "facilitator": facts.facilitator,
        "stuck": is_stuck(assessment, facts.joined, engagement.at, engagement.rules),
    }  # fmt: skip


@click.command()
@click.argument("list_address")
@click.option("--member", "member_address", help="Only this member, with the history of their stages.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def engagement(ctx: CliContext, list_address: str, member_address: str | None, as_json: bool) -> None:
    """Each member's stage in Salmon's five (1 access ... 5 development), why, and since when.

    Worked out now from the posts the list delivered (docs/engagement.md); members who set
    `profiled` to no are left out."""
    with ctx.session() as session:
        lst = ctx.list_row(session, list_address)
        found = assess_list(session, lst.id, ctx.now())
        items = list(found.members)
        past = []
        if member_address:
            email = normalize_address(member_address)
            items = [item for item in items if item.facts.email == email]
            if not items:
                raise NotFound(f"{email} is not a profiled member of {lst.address}")
            past = history(session, lst.id, email)
    counts = {stage: sum(1 for item in found.members if item.assessment.stage is stage) for stage in Stage}
    if as_json:
        rows = [member_json(item, found) for item in items]
        if member_address:
            rows[0]["history"] = [{"stage": int(s), "since": since, "reasons": list(r)} for s, since, r in past]
        return echo_json({"list": found.address, "at": found.at, "rules": format_rules(found.rules),
                          "counts": {str(int(stage)): count for stage, count in counts.items()},
                          "opted_out": found.opted_out, "members": rows})  # fmt: skip
    if not member_address:
        opted = f", {found.opted_out} opted out" if found.opted_out else ""
        click.echo(f"{found.address}: {len(found.members)} members{opted}")
        for stage, count in counts.items():
            click.echo(f"  {int(stage)} {stage.label}: {count}")
    for item in items:
        reasons = "; ".join(item.assessment.reasons)
        click.echo(f"{item.facts.email}\t{int(item.assessment.stage)}\tsince {text_time(item.since)}\t{reasons}")
    for stage, since, why in past:
        click.echo(f"  {text_time(since)}\t{int(stage)} {stage.label}\t{'; '.join(why)}")
