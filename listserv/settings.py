"""Settings: defaults, then a TOML file, then LISTSERV_* environment variables.

The only module that reads configuration. Everything else receives a Settings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from listserv.errors import ConfigError

ENV_PREFIX = "LISTSERV_"
# Variables with our prefix that are not settings keys.
ENV_NOT_SETTINGS = frozenset({"LISTSERV_CONFIG", "LISTSERV_TEST_PG_URL", "LISTSERV_CORPORA"})


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RelaySetting:
    """Where outbound mail goes: an SMTP server, or a Maildir folder to look at."""

    kind: str  # "smtp" or "maildir"
    host: str = ""
    port: int = 25
    path: str = ""

    def __str__(self) -> str:
        return f"smtp://{self.host}:{self.port}" if self.kind == "smtp" else f"maildir:{self.path}"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///listserv.db"
    lmtp_listen: HostPort = HostPort("127.0.0.1", 8024)
    smtp_listen: HostPort = HostPort("127.0.0.1", 8025)
    relay: RelaySetting = RelaySetting("maildir", path="./outbox")
    domain: str = "lists.example.org"
    public_url: str = ""
    batch_size: int = 100
    connections: int = 4
    max_message_size: int = 10 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    max_mime_parts: int = 500
    max_mime_depth: int = 20
    max_tries: int = 3
    retry_seconds: int = 60
    give_up_hours: int = 72
    lease_seconds: int = 300
    poll_seconds: float = 1.0
    templates_dir: str = ""
    log_level: str = "INFO"
    # membership (docs/membership.md)
    http_listen: HostPort = HostPort("127.0.0.1", 8080)  # one-click unsubscribe endpoint
    secret_file: str = "listserv.secret"  # HMAC key for unsubscribe links; made by `listserv init`
    confirm_days: int = 7  # how long confirmation, invitation and approval tokens are valid
    confirm_limit_per_address: int = 3  # confirmation mails to one address per hour
    confirm_limit_per_sender: int = 10  # confirmation mails one requesting sender causes per hour
    reply_limit_per_address: int = 20  # answers to membership mail per address per hour
    # moderation (docs/moderation.md)
    moderation_auth: str = "check"  # off | check | require: DKIM/DMARC of facilitators' replies
    authserv_ids: str = ""  # comma-separated authserv-ids of our receiving MTA's Authentication-Results
    moderation_guess_limit: int = 10  # refused replies per sender and list per hour before we stop looking


def parse_host_port(value: str) -> HostPort:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"expected host:port, got {value!r}")
    return HostPort(host.strip("[]"), int(port))


def parse_relay(value: str) -> RelaySetting:
    if value.startswith("maildir:"):
        path = value.removeprefix("maildir:")
        if not path:
            raise ConfigError("maildir relay needs a path, e.g. maildir:./outbox")
        return RelaySetting("maildir", path=path)
    url = urlsplit(value)
    if url.scheme != "smtp" or not url.hostname:
        raise ConfigError(f"relay must be smtp://host:port or maildir:/path, got {value!r}")
    try:
        return RelaySetting("smtp", host=url.hostname, port=url.port or 25)
    except ValueError:  # urlsplit's port: not a number, or over 65535
        raise ConfigError(f"relay port must be a number below 65536, got {value!r}") from None


def _convert(name: str, raw: object) -> object:
    if name in ("lmtp_listen", "smtp_listen", "http_listen"):
        return parse_host_port(str(raw))
    if name == "relay":
        return parse_relay(str(raw))
    kind = type(getattr(Settings(), name))
    try:
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError
            value: object = int(str(raw))
            if value <= 0:  # type: ignore[operator]
                raise ValueError
            return value
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError
            number = float(str(raw))
            if not 0 < number < float("inf"):  # also false for NaN
                raise ValueError
            return number
    except ValueError:
        raise ConfigError(f"{name}: expected a positive number, got {raw!r}") from None
    if not isinstance(raw, str):
        raise ConfigError(f"{name}: expected a string, got {raw!r}")
    return raw


def _keys() -> set[str]:
    return {f.name for f in fields(Settings)}


def load_settings(path: str | Path | None, environ: Mapping[str, str]) -> Settings:
    """Defaults, then the TOML file (if any), then LISTSERV_<KEY> variables."""
    path = path or environ.get("LISTSERV_CONFIG")
    values: dict[str, object] = {}
    if path:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config {path} is not valid TOML: {error}") from None
        unknown = sorted(set(data) - _keys())
        if unknown:
            raise ConfigError(f"unknown key(s) in {path}: {', '.join(unknown)}")
        values.update(data)
    for name, value in environ.items():
        key = name.removeprefix(ENV_PREFIX).lower()
        if name.startswith(ENV_PREFIX) and name not in ENV_NOT_SETTINGS:
            if key not in _keys():
                raise ConfigError(f"unknown setting in environment: {name}")
            values[key] = value
    converted = {name: _convert(name, raw) for name, raw in values.items()}
    settings = Settings(**converted)  # type: ignore[arg-type]
    if settings.moderation_auth not in ("off", "check", "require"):
        raise ConfigError(f"moderation_auth must be off, check or require, got {settings.moderation_auth!r}")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log_level must be DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}")
    if not settings.database_url.partition(":")[0].startswith(("sqlite", "postgresql")):
        raise ConfigError("database_url must be a sqlite:/// or postgresql:// URL")
    return settings
