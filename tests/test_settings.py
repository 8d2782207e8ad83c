"""load_settings(): defaults, then listserv.toml, then LISTSERV_* variables; bad values fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from listserv.errors import ConfigError
from listserv.settings import HostPort, RelaySetting, Settings, load_settings


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "listserv.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_with_no_file_and_no_variables_the_defaults_apply():
    assert load_settings(None, {}) == Settings()


def test_the_defaults_are_safe_to_run_locally():
    settings = Settings()
    assert settings.lmtp_listen == HostPort("127.0.0.1", 8024) and settings.smtp_listen.host == "127.0.0.1"
    assert settings.relay == RelaySetting("maildir", path="./outbox")
    assert settings.database_url.startswith("sqlite:///")
    assert settings.max_message_size > settings.max_header_bytes > 0
    assert settings.max_mime_parts > 0 and settings.max_mime_depth > 0 and settings.batch_size > 0


def test_variables_that_are_not_settings_are_ignored():
    environ = {"HOME": "/root", "LISTSERV_CONFIG": "", "LISTSERV_CORPORA": "/x", "LISTSERV_TEST_PG_URL": "pg"}
    assert load_settings(None, environ) == Settings()


def test_a_toml_file_sets_values_of_every_type(tmp_path):
    path = toml(
        tmp_path,
        """
database_url = "postgresql://listserv@db/listserv"
lmtp_listen = "0.0.0.0:24"
smtp_listen = "[::1]:2525"
relay = "smtp://mail.example.org:587"
domain = "lists.example.com"
batch_size = 50
poll_seconds = 0.5
max_mime_depth = 10
log_level = "DEBUG"
""",
    )
    settings = load_settings(path, {})
    assert settings.database_url == "postgresql://listserv@db/listserv"
    assert settings.lmtp_listen == HostPort("0.0.0.0", 24) and settings.smtp_listen == HostPort("::1", 2525)
    assert settings.relay == RelaySetting("smtp", host="mail.example.org", port=587)
    assert settings.domain == "lists.example.com" and settings.batch_size == 50
    assert settings.poll_seconds == 0.5 and settings.max_mime_depth == 10 and settings.log_level == "DEBUG"
    assert settings.connections == Settings().connections  # untouched keys keep their defaults


def test_the_config_file_can_be_named_by_listserv_config(tmp_path):
    path = toml(tmp_path, 'domain = "from-config.example.org"\n')
    assert load_settings(None, {"LISTSERV_CONFIG": str(path)}).domain == "from-config.example.org"


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("LISTSERV_DATABASE_URL", "sqlite:////var/lib/listserv/db.sqlite", "database_url",
         "sqlite:////var/lib/listserv/db.sqlite"),
        ("LISTSERV_DATABASE_URL", "postgresql+psycopg://u@h/db", "database_url", "postgresql+psycopg://u@h/db"),
        ("LISTSERV_LMTP_LISTEN", "127.0.0.1:10024", "lmtp_listen", HostPort("127.0.0.1", 10024)),
        ("LISTSERV_SMTP_LISTEN", "0.0.0.0:25", "smtp_listen", HostPort("0.0.0.0", 25)),
        ("LISTSERV_SMTP_LISTEN", "localhost:0", "smtp_listen", HostPort("localhost", 0)),
        ("LISTSERV_RELAY", "smtp://relay.example.org:2525", "relay", RelaySetting("smtp", host="relay.example.org", port=2525)),
        ("LISTSERV_RELAY", "smtp://relay.example.org", "relay", RelaySetting("smtp", host="relay.example.org", port=25)),
        ("LISTSERV_RELAY", "maildir:/var/spool/listserv/out", "relay", RelaySetting("maildir", path="/var/spool/listserv/out")),
        ("LISTSERV_RELAY", "maildir:./outbox", "relay", RelaySetting("maildir", path="./outbox")),
        ("LISTSERV_DOMAIN", "lists.example.net", "domain", "lists.example.net"),
        ("LISTSERV_BATCH_SIZE", "25", "batch_size", 25),
        ("LISTSERV_POLL_SECONDS", "2.5", "poll_seconds", 2.5),
    ],
)  # fmt: skip
def test_environment_variables_set_values(name, value, field, expected):
    assert getattr(load_settings(None, {name: value}), field) == expected


def test_environment_variables_override_the_file(tmp_path):
    path = toml(tmp_path, 'domain = "file.example.org"\nbatch_size = 10\nrelay = "maildir:/file"\n')
    settings = load_settings(path, {"LISTSERV_DOMAIN": "env.example.org", "LISTSERV_RELAY": "smtp://env:26"})
    assert settings.domain == "env.example.org" and settings.relay == RelaySetting("smtp", host="env", port=26)
    assert settings.batch_size == 10


def test_relays_print_back_as_they_were_configured():
    assert str(load_settings(None, {"LISTSERV_RELAY": "smtp://relay:2525"}).relay) == "smtp://relay:2525"
    assert str(load_settings(None, {"LISTSERV_RELAY": "maildir:/out"}).relay) == "maildir:/out"
    assert str(HostPort("127.0.0.1", 8024)) == "127.0.0.1:8024"


def test_an_unknown_toml_key_fails_naming_the_key_and_the_file(tmp_path):
    path = toml(tmp_path, 'domain = "x.example.org"\nbatchsize = 10\nrelay_url = "smtp://x"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path, {})
    assert "batchsize" in str(error.value) and "relay_url" in str(error.value) and str(path) in str(error.value)


def test_an_unknown_listserv_variable_fails_naming_it():
    with pytest.raises(ConfigError, match="LISTSERV_DATABSE_URL"):
        load_settings(None, {"LISTSERV_DATABSE_URL": "sqlite:///x"})


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"LISTSERV_LMTP_LISTEN": "127.0.0.1:abc"}, ["host:port", "abc"]),
        ({"LISTSERV_SMTP_LISTEN": "8025"}, ["host:port"]),
        ({"LISTSERV_SMTP_LISTEN": ":8025"}, ["host:port"]),
        ({"LISTSERV_LMTP_LISTEN": "localhost:70000"}, ["host:port", "70000"]),
        ({"LISTSERV_LMTP_LISTEN": "localhost:-1"}, ["host:port"]),
        ({"LISTSERV_RELAY": "http://x"}, ["smtp://host:port", "maildir:", "http://x"]),
        ({"LISTSERV_RELAY": "smtp://"}, ["smtp://host:port"]),
        ({"LISTSERV_RELAY": "smtp://relay:abc"}, ["relay port", "smtp://relay:abc"]),
        ({"LISTSERV_RELAY": "smtp://relay:99999"}, ["relay port"]),
        ({"LISTSERV_RELAY": "maildir:"}, ["maildir", "path"]),
        ({"LISTSERV_RELAY": "/var/mail/out"}, ["smtp://host:port"]),
        ({"LISTSERV_BATCH_SIZE": "-1"}, ["batch_size", "positive", "-1"]),
        ({"LISTSERV_BATCH_SIZE": "0"}, ["batch_size", "positive"]),
        ({"LISTSERV_BATCH_SIZE": "ten"}, ["batch_size", "ten"]),
        ({"LISTSERV_BATCH_SIZE": "1.5"}, ["batch_size"]),
        ({"LISTSERV_POLL_SECONDS": "-1"}, ["poll_seconds", "positive"]),
        ({"LISTSERV_POLL_SECONDS": "nan"}, ["poll_seconds"]),
        ({"LISTSERV_POLL_SECONDS": "inf"}, ["poll_seconds"]),
        ({"LISTSERV_DATABASE_URL": "mysql://x/y"}, ["database_url", "sqlite", "postgresql"]),
        ({"LISTSERV_LOG_LEVEL": "LOUD"}, ["log_level", "LOUD"]),
    ],
)
def test_bad_values_fail_with_a_message_that_names_the_problem(environ, words):
    with pytest.raises(ConfigError) as error:
        load_settings(None, environ)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('lmtp_listen = 8024\n', ["host:port", "8024"]),
        ('batch_size = "-1"\n', ["batch_size", "-1"]),
        ("batch_size = true\n", ["batch_size"]),
        ("poll_seconds = false\n", ["poll_seconds"]),
        ('domain = 5\n', ["domain", "string"]),
        ('relay = "http://x"\n', ["relay", "http://x"]),
        ("[relay]\nkind = 'smtp'\n", ["relay"]),
        ("domain = \n", ["not valid TOML"]),
    ],
)  # fmt: skip
def test_bad_values_in_the_file_fail_clearly_too(tmp_path, text, words):
    with pytest.raises(ConfigError) as error:
        load_settings(toml(tmp_path, text), {})
    for word in words:
        assert word in str(error.value)


def test_a_missing_config_file_fails_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "nope.toml", {})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().domain = "x"  # type: ignore[misc]


# -- values checked at start, not when mail flows; retention ----------------------------------------


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"LISTSERV_DOMAIN": "localhost"}, ["domain", "invalid domain", "localhost"]),
        ({"LISTSERV_DOMAIN": "lists..example.org"}, ["domain", "invalid domain"]),
        ({"LISTSERV_DOMAIN": "lists_example.org"}, ["domain", "letters, digits and inner hyphens"]),
        ({"LISTSERV_DOMAIN": "-lists.example.org"}, ["domain", "letters, digits and inner hyphens"]),
        ({"LISTSERV_DOMAIN": "192.0.2.1"}, ["domain", "an IP address is not a domain"]),
        ({"LISTSERV_DOMAIN": "lists.example.org."}, ["domain", "invalid domain"]),
        ({"LISTSERV_PUBLIC_URL": "lists.example.org"}, ["public_url", "http:// or https://"]),
        ({"LISTSERV_PUBLIC_URL": "ftp://lists.example.org"}, ["public_url", "http:// or https://"]),
        ({"LISTSERV_PUBLIC_URL": "https://"}, ["public_url", "no host"]),
        ({"LISTSERV_PUBLIC_URL": "https://lists.example.org:99999"}, ["public_url", "not a URL"]),
        ({"LISTSERV_PUBLIC_URL": "https://lists.example.org/a b"}, ["public_url", "spaces"]),
        ({"LISTSERV_KEEP_DELIVERIES_DAYS": "-1"}, ["keep_deliveries_days", "0 (keep forever) or a positive number"]),
        ({"LISTSERV_KEEP_BOUNCES_DAYS": "soon"}, ["keep_bounces_days", "soon"]),
        ({"LISTSERV_KEEP_DELIVERIES_DAYS": "7"}, ["keep_deliveries_days", "at least 8", "digests", "0 to keep"]),
        ({"LISTSERV_CONFIRM_DAYS": "0"}, ["confirm_days", "positive"]),
        ({"LISTSERV_GIVE_UP_HOURS": "-3"}, ["give_up_hours", "positive"]),
    ],
)  # fmt: skip
def test_values_that_cannot_work_are_refused_at_start_naming_the_setting(environ, words):
    with pytest.raises(ConfigError) as error:
        load_settings(None, environ)
    for word in words:
        assert word in str(error.value)


def test_good_domains_and_public_urls_are_taken(tmp_path):
    path = toml(tmp_path, 'domain = "bücher.example"\npublic_url = "https://lists.example.org/listserv/"\n')
    settings = load_settings(path, {})
    assert (settings.domain, settings.public_url) == ("bücher.example", "https://lists.example.org/listserv/")
    assert load_settings(None, {"LISTSERV_PUBLIC_URL": "http://127.0.0.1:8080"}).public_url == "http://127.0.0.1:8080"


def test_retention_keeps_a_month_of_ledger_and_service_mail_and_three_of_bounces_and_0_keeps_forever(tmp_path):
    defaults = Settings()
    assert (defaults.keep_deliveries_days, defaults.keep_service_mail_days, defaults.keep_bounces_days) == (30, 30, 90)
    path = toml(tmp_path, "keep_deliveries_days = 0\nkeep_service_mail_days = 7\n")
    settings = load_settings(path, {"LISTSERV_KEEP_BOUNCES_DAYS": "0"})
    assert (settings.keep_deliveries_days, settings.keep_service_mail_days, settings.keep_bounces_days) == (0, 7, 0)
