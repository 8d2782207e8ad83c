"""Settings: defaults, then a TOML file, then LISTSERV_* environment variables.

The only module that reads configuration. Everything else receives a Settings.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from listserv.errors import ConfigError
from listserv.mail.addresses import domain_problem, web_url_problem

ENV_PREFIX = "LISTSERV_"
# Variables with our prefix that are not settings keys.
ENV_NOT_SETTINGS = frozenset({"LISTSERV_CONFIG", "LISTSERV_TEST_PG_URL", "LISTSERV_TEST_NOW", "LISTSERV_CORPORA"})


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


# relay URL scheme -> (RelaySetting.tls, default port)
RELAY_SCHEMES = {"smtp": ("none", 25), "smtps": ("implicit", 465), "smtp+starttls": ("starttls", 587)}


@dataclass(frozen=True)
class RelaySetting:
    """Where outbound mail goes: an SMTP server, or a Maildir folder to look at."""

    kind: str  # "smtp" or "maildir"
    host: str = ""
    port: int = 25
    path: str = ""
    tls: str = "none"  # smtp: "none", "implicit" (smtps://) or "starttls" (smtp+starttls://)

    def __str__(self) -> str:
        if self.kind != "smtp":
            return f"maildir:{self.path}"
        scheme = next(name for name, (tls, _) in RELAY_SCHEMES.items() if tls == self.tls)
        return f"{scheme}://{self.host}:{self.port}"


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
    # retention (docs/storage.md): days kept, 0 keeps forever; posts and their raw mail are never pruned
    keep_deliveries_days: int = 30  # the delivery ledger: deliveries, batches, notices' and digests' outbound
    keep_service_mail_days: int = 30  # processed mail to service addresses (requests, replies, ...), notice_log
    keep_bounces_days: int = 90  # delivery reports received at LIST-bounces
    # TLS (docs/tls.md)
    tls_cert_file: str = ""  # PEM certificate chain smtp_listen offers with STARTTLS; empty: no STARTTLS
    tls_key_file: str = ""  # PEM private key of tls_cert_file (not encrypted; readable by listserv only)
    smtp_require_tls: bool = False  # smtp_listen refuses MAIL before STARTTLS (530 5.7.0)
    relay_user: str = ""  # AUTH user at a smtps:// or smtp+starttls:// relay; empty: no AUTH
    relay_password_file: str = ""  # a file whose first line is relay_user's password
    relay_ca_file: str = ""  # extra PEM CA bundle that verifies the relay's certificate (a private CA)
    # DKIM (docs/deliverability.md)
    dkim_key_dir: str = "dkim"  # the list domains' keys, DOMAIN.SELECTOR.pem (`listserv dkim keygen`)
    dkim_selector: str = "listserv"  # the selector mail is signed with
    # DNS (docs/deliverability.md)
    dns_resolver: str = ""  # host or host:port of the resolver to ask; empty: the system's (/etc/resolv.conf)
    dns_timeout: float = 2.0  # seconds a lookup may take in all, before it counts as a temporary error
    # faults and slow peers (docs/reliability.md): timeouts in seconds, sized as RFC 5321 4.5.3.2 says
    relay_connect_timeout: float = 30.0  # the relay's TCP (and TLS) connection
    relay_command_timeout: float = 300.0  # each reply of the relay (greeting, EHLO, MAIL, RCPT, DATA)
    relay_data_timeout: float = 600.0  # the relay's reply to the final dot: giving up early sends a batch twice
    smtp_max_connections: int = 200  # open sessions on each of lmtp_listen and smtp_listen; more get 421 4.7.0
    smtp_max_connections_per_client: int = 50  # of those, from one client address
    smtp_command_timeout: float = 300.0  # a client's silence, between commands or within DATA, before 421 4.4.2
    http_max_connections: int = 100  # open connections on http_listen; more get 503
    http_max_connections_per_client: int = 100  # of those, from one address (behind a proxy: all of them)
    http_timeout: float = 10.0  # to send one request (head and body) and take its response
    fault_backoff_seconds: float = 300.0  # the longest wait between tries while the database fails or is full
    # the resource library (docs/library.md): fetching linked pages' titles, where a list turns it on
    library_fetch_timeout: float = 5.0  # seconds for one page in all (connect, redirects, read)
    library_fetch_private: bool = False  # also fetch from private, loopback and link-local addresses (tests)
    # several nodes on one database (docs/scaling.md)
    node_name: str = ""  # this serving process in `listserv status` and on its claims; empty: hostname:pid
    heartbeat_seconds: float = 10.0  # how often a node records that it is alive
    node_dead_seconds: float = 60.0  # a node not heard from this long is shown dead


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
    if url.username is not None or url.password is not None:  # never echo a password back
        raise ConfigError("relay: no user or password in the URL; set relay_user and relay_password_file")
    if url.scheme not in RELAY_SCHEMES or not url.hostname:
        raise ConfigError(
            f"relay must be smtp://host:port (or smtps://, smtp+starttls://) or maildir:/path, got {value!r}"
        )
    tls, default_port = RELAY_SCHEMES[url.scheme]
    try:
        return RelaySetting("smtp", host=url.hostname, port=url.port or default_port, tls=tls)
    except ValueError:  # urlsplit's port: not a number, or over 65535
        raise ConfigError(f"relay port must be a number below 65536, got {value!r}") from None


def _convert(name: str, raw: object) -> object:
    if name in ("lmtp_listen", "smtp_listen", "http_listen"):
        return parse_host_port(str(raw))
    if name == "relay":
        return parse_relay(str(raw))
    kind = type(getattr(Settings(), name))
    if kind is bool:
        return parse_bool(name, raw)
    try:
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError
            value: object = int(str(raw))
            if value < (0 if name in ZERO_KEEPS_FOREVER else 1):  # type: ignore[operator]
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
        wanted = "0 (keep forever) or a positive number" if name in ZERO_KEEPS_FOREVER else "a positive number"
        raise ConfigError(f"{name}: expected {wanted}, got {raw!r}") from None
    if not isinstance(raw, str):
        raise ConfigError(f"{name}: expected a string, got {raw!r}")
    return raw


# booleans: true/false in TOML, or these words in LISTSERV_* variables
TRUE_WORDS, FALSE_WORDS = frozenset({"true", "yes", "on", "1"}), frozenset({"false", "no", "off", "0"})


def parse_bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def tls_problem(settings: Settings) -> str | None:
    """What is wrong with the TLS settings taken together, if anything (files are read at `serve`)."""
    tls_relay = settings.relay.kind == "smtp" and settings.relay.tls != "none"
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        return "tls_cert_file and tls_key_file go together: set both (STARTTLS on smtp_listen) or neither"
    if settings.smtp_require_tls and not settings.tls_cert_file:
        return "smtp_require_tls needs tls_cert_file and tls_key_file"
    if settings.relay.kind != "smtp":
        return None  # a Maildir relay ignores the relay_* settings
    if settings.relay_user and not settings.relay_password_file:
        return "relay_user needs relay_password_file (a file holding the password)"
    if settings.relay_password_file and not settings.relay_user:
        return "relay_password_file is set but relay_user is empty"
    if settings.relay_user and not tls_relay:
        return "relay_user: the password is only sent over TLS; make relay smtps://host:465 or smtp+starttls://host:587"
    if settings.relay_ca_file and not tls_relay:
        return "relay_ca_file applies only to a smtps:// or smtp+starttls:// relay"
    return None


# retention (docs/storage.md)
ZERO_KEEPS_FOREVER = frozenset({"keep_deliveries_days", "keep_service_mail_days", "keep_bounces_days"})
MIN_DELIVERIES_DAYS = 8  # digests look back one period (up to a week) at who got which post on its own


def value_problem(settings: Settings) -> str | None:
    """What is wrong with a value of the right type, if anything: found at start-up, not when mail flows."""
    if problem := domain_problem(settings.domain):
        return f"domain: {problem}, got {settings.domain!r}"
    if settings.dns_resolver and (problem := resolver_problem(settings.dns_resolver)):
        return f"dns_resolver: {problem}"
    if settings.public_url and (problem := web_url_problem(settings.public_url)):
        return f"public_url: {problem}"
    if settings.node_dead_seconds <= settings.heartbeat_seconds or settings.heartbeat_seconds <= 0:
        return (f"node_dead_seconds ({settings.node_dead_seconds:g}) must be longer than heartbeat_seconds "
                f"({settings.heartbeat_seconds:g}), which must be above 0")  # fmt: skip
    if 0 < settings.keep_deliveries_days < MIN_DELIVERIES_DAYS:
        return (f"keep_deliveries_days: at least {MIN_DELIVERIES_DAYS} (digests look back a week at who got "
                f"which post), or 0 to keep the ledger forever; got {settings.keep_deliveries_days}")  # fmt: skip
    return None


def split_nameserver(value: str) -> tuple[str, str]:
    """'127.0.0.1:5353' -> ('127.0.0.1', '5353'); '[::1]:53' and a bare address (port 53) too."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.removeprefix(":") or "53"
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, "53"


def resolver_problem(value: str) -> str | None:
    """An IP address, optionally with :port ([v6]:port for IPv6)."""
    host, port = split_nameserver(value)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"expected an IP address, optionally with :port (e.g. 127.0.0.1:5353), got {value!r}"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"port must be a number from 1 to 65535, got {port!r}"
    return None


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
    if problem := tls_problem(settings):
        raise ConfigError(problem)
    if problem := value_problem(settings):
        raise ConfigError(problem)
    return settings
