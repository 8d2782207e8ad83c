"""`listserv dkim keygen` and `check` against a real DNS server; `list show` and `status` say
plainly when a list's mail is unsigned or has no one-click unsubscribe."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from listserv.dkim.keys import generate
from listserv.settings import Settings
from listserv.store import db
from support.dnsmasq import DnsServer

DOMAIN = "lists.example.test"
NAME = f"listserv._domainkey.{DOMAIN}"


@pytest.fixture
def dkim_cli(cli, dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LISTSERV_DNS_RESOLVER", dns_server.address)
    monkeypatch.setenv("LISTSERV_DNS_TIMEOUT", "0.5")
    return cli


def published(zone_line: str) -> str:
    """The record a zone file line like `NAME. IN TXT ( "..." "..." )` publishes."""
    return "".join(re.findall(r'"([^"]*)"', zone_line))


def test_keygen_writes_a_private_key_and_check_compares_it_with_dns(dkim_cli, dns_server, tmp_path: Path):
    out = dkim_cli("dkim", "keygen", DOMAIN)
    key = tmp_path / "dkim" / f"{DOMAIN}.listserv.pem"
    assert f"wrote {key}" in out and stat.S_IMODE(key.stat().st_mode) == 0o600
    zone = next(line for line in out.splitlines() if line.startswith(NAME + ". IN TXT"))
    record = published(zone)
    assert record.startswith("v=DKIM1; k=rsa; p=MII")
    assert "exists" in dkim_cli("dkim", "keygen", DOMAIN, code=1)  # never overwritten by accident

    assert "publishes no DKIM key" in dkim_cli("dkim", "check", DOMAIN, code=1)
    dns_server.serve({NAME: record})
    assert dkim_cli("dkim", "check", DOMAIN) == f"ok: {NAME} publishes the key in {key}\n"
    other = generate(Settings(dkim_key_dir=str(tmp_path / "other")), DOMAIN, "listserv")[1]
    dns_server.serve({NAME: other})
    assert "publishes a different key" in dkim_cli("dkim", "check", DOMAIN, code=1)
    dns_server.stop()
    assert "DNS timeout" in dkim_cli("dkim", "check", DOMAIN, code=1)


def test_keygen_under_another_selector_says_how_to_sign_with_it(dkim_cli, dns_server):
    out = dkim_cli("dkim", "keygen", DOMAIN, "--selector", "2027a")
    assert 'set dkim_selector = "2027a"' in out
    zone = next(line for line in out.splitlines() if " IN TXT " in line)
    dns_server.serve({f"2027a._domainkey.{DOMAIN}": published(zone)})
    assert dkim_cli("dkim", "check", DOMAIN, "--selector", "2027a").startswith("ok: 2027a._domainkey.")
    assert "no DKIM key" in dkim_cli("dkim", "check", DOMAIN, code=1)  # none under the signing selector
    assert "selector" in dkim_cli("dkim", "keygen", DOMAIN, "--selector", "bad selector!", code=1)


def test_list_show_and_status_say_when_mail_is_unsigned_or_has_no_one_click(dkim_cli, monkeypatch):
    dkim_cli("list", "create", "team", "--name", "Team")
    shown = dkim_cli("list", "show", "team")
    assert "signing: UNSIGNED: no DKIM key" in shown and f"listserv dkim keygen {DOMAIN}" in shown
    assert "unsubscribe: no one-click unsubscribe: public_url is empty" in shown
    status = dkim_cli("status")
    assert f"warning\tteam@{DOMAIN}: UNSIGNED" in status

    monkeypatch.setenv("LISTSERV_PUBLIC_URL", "https://lists.example.test/")
    assert "no one-click unsubscribe: it needs DKIM-signed mail" in dkim_cli("list", "show", "team")
    dkim_cli("dkim", "keygen", DOMAIN)
    shown = dkim_cli("list", "show", "team")
    assert (
        f"signing: signed with DKIM d={DOMAIN} s=listserv" in shown and "unsubscribe: one-click unsubscribe on" in shown
    )
    assert "warning" not in dkim_cli("status")
    dkim_cli("list", "set", "team", "one_click_unsubscribe", "no")
    assert "turned off for this list" in dkim_cli("status")


def test_migration_0008_turns_the_old_default_no_into_unset(database_url, request):
    engine = db.open_engine(database_url)
    try:
        command.upgrade(db._alembic_config(engine), "0007")  # one list left at the old default, one set yes
        with engine.begin() as connection:
            for name, one_click in (("old", "false"), ("keen", "true")):
                connection.execute(text(
                    "INSERT INTO lists (address, name, description, subject_prefix, reply_to, reply_to_address, "
                    "max_message_size, personalize, archive_url, created_at, one_click_unsubscribe) VALUES "
                    f"('{name}@lists.example.test', 'Old', '', '', 'leave', '', 0, false, '', '2026-01-01 00:00:00', "
                    f"{one_click})"
                ))  # fmt: skip
    finally:
        engine.dispose()
    cli = request.getfixturevalue("cli")  # `listserv init`: upgrades to the newest revisions
    rows = {row["address"]: row["one_click_unsubscribe"] for row in json.loads(cli("list", "ls", "--json"))}
    assert rows == {"old@lists.example.test": None, "keen@lists.example.test": True}
    engine = db.open_engine(database_url)
    try:
        command.downgrade(db._alembic_config(engine), "0007")
        with engine.connect() as connection:
            values = dict(connection.execute(text("SELECT address, one_click_unsubscribe FROM lists")).all())
        assert values == {"old@lists.example.test": False, "keen@lists.example.test": True}
    finally:
        engine.dispose()
