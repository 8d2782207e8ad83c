"""`listserv dkim keygen DOMAIN` and `listserv dkim check DOMAIN`: a list domain's key and its DNS record."""

from __future__ import annotations

import click
from dkim.util import InvalidTagValueList, parse_tag_value  # type: ignore[import-untyped]

from listserv.cli_context import CliContext, pass_cli
from listserv.dkim.keys import dns_name, generate, key_path, load_key, public_record, selector_problem
from listserv.dns import Found, Resolver
from listserv.errors import Invalid, NotFound, ServiceError


@click.group(name="dkim")
def dkim_group() -> None:
    """DKIM keys of the list domains: make one, check what DNS publishes."""


def zone_line(name: str, record: str) -> str:
    """The record as a zone file line, in quoted strings of at most 255 octets (RFC 1035)."""
    chunks = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    return f"{name}. IN TXT ( {chunks} )"


@dkim_group.command("keygen")
@click.argument("domain")
@click.option("--selector", default="", help="The DNS selector (default: the dkim_selector setting).")
@click.option("--replace", is_flag=True, help="Overwrite an existing key (mail signed with it stops verifying).")
@pass_cli
def keygen(ctx: CliContext, domain: str, selector: str, replace: bool) -> None:
    """Make an RSA-2048 key for DOMAIN and print the TXT record to publish."""
    settings = ctx.settings
    selector = selector or settings.dkim_selector
    path, record = generate(settings, domain.lower(), selector, replace)
    click.echo(f"wrote {path} (readable by this user only)")
    click.echo("publish this TXT record, then run `listserv dkim check " + domain.lower() + "`:")
    click.echo(zone_line(dns_name(domain, selector), record))
    if selector != settings.dkim_selector:
        click.echo(
            f'mail is signed with selector {settings.dkim_selector!r}: set dkim_selector = "{selector}" to use this key'
        )


@dkim_group.command("check")
@click.argument("domain")
@click.option("--selector", default="", help="The DNS selector (default: the dkim_selector setting).")
@pass_cli
def check(ctx: CliContext, domain: str, selector: str) -> None:
    """Look up DOMAIN's DKIM record in DNS and compare it with the key mail is signed with."""
    settings = ctx.settings
    domain, selector = domain.lower(), selector or settings.dkim_selector
    if problem := selector_problem(selector):
        raise Invalid(problem)
    key, path = load_key(settings, domain, selector), key_path(settings, domain, selector)
    if key is None:
        raise NotFound(f"no DKIM key {path}; run `listserv dkim keygen {domain} --selector {selector}`")
    name, expected = dns_name(domain, selector), public_record(key.private)
    answer = Resolver(settings.dns_resolver, settings.dns_timeout).txt(name)  # asked now, not from a cache
    if answer.found is Found.ERROR:
        raise ServiceError(f"cannot check {name}: {answer.reason}")
    published = [text for text in answer.texts() if "p=" in text]
    if not published:
        raise Invalid(f"{name} publishes no DKIM key; publish:\n{zone_line(name, expected)}")
    if not any(public_key_of(text) == public_key_of(expected) for text in published):
        raise Invalid(f"{name} publishes a different key than {path}; publish:\n{zone_line(name, expected)}")
    click.echo(f"ok: {name} publishes the key in {path}")


def public_key_of(record: str) -> str:
    """The p= value of a DKIM record (dkimpy's tag parser drops the white space DNS tools put in it)."""
    try:
        return str(parse_tag_value(record.encode("utf-8")).get(b"p", b"").decode("ascii", "replace"))
    except InvalidTagValueList:
        return ""
