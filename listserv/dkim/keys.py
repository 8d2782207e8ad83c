"""Each list domain's DKIM key: where it lives, how it is made, what DNS must publish.

Keys are PEM files in `dkim_key_dir`, one per domain and selector: `DOMAIN.SELECTOR.pem`.
Mail is signed with the `dkim_selector` one (`listserv dkim keygen` makes it); to rotate,
make a key under a new selector, publish its record, then change `dkim_selector`.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from listserv.dkim.sign import DomainKey
from listserv.errors import ConfigError, Invalid
from listserv.mail.addresses import domain_problem
from listserv.settings import Settings

KEY_BITS = 2048


def key_path(settings: Settings, domain: str, selector: str = "") -> Path:
    return Path(settings.dkim_key_dir) / f"{domain.lower()}.{selector or settings.dkim_selector}.pem"


def dns_name(domain: str, selector: str) -> str:
    return f"{selector}._domainkey.{domain.lower()}"


def public_record(key: rsa.RSAPrivateKey) -> str:
    """The TXT record that publishes the key (RFC 6376 3.6.1)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


def selector_problem(selector: str) -> str | None:
    labels = selector.split(".")
    if not selector or any(
        not label or not label.replace("-", "").isalnum() or not label.isascii() for label in labels
    ):
        return f"a selector is one or more DNS labels (letters, digits, hyphens), not {selector!r}"
    return None


def generate(settings: Settings, domain: str, selector: str, replace: bool = False) -> tuple[Path, str]:
    """Write a new RSA-2048 key (mode 0600); returns its path and the TXT record to publish."""
    if problem := domain_problem(domain) or selector_problem(selector):
        raise Invalid(problem)
    path = key_path(settings, domain, selector)
    if path.exists() and not replace:
        raise Invalid(f"{path} exists; publish it, or pick another --selector (or --replace to overwrite it)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        temporary.replace(path)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror}") from None
    return path, public_record(key)


def load_key(settings: Settings, domain: str, selector: str = "") -> DomainKey | None:
    """The key mail from this domain is signed with (or the one under another selector); None
    when there is none (mail goes unsigned)."""
    path = key_path(settings, domain, selector)
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read(str(path), stat.st_mtime_ns, domain.lower(), selector or settings.dkim_selector)


@lru_cache(maxsize=64)
def _read(path: str, _mtime: int, domain: str, selector: str) -> DomainKey:
    """Read once per file version: a replaced key file is read again."""
    try:
        data = Path(path).read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigError(f"DKIM key {path} is unreadable: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise ConfigError(f"DKIM key {path} must be an RSA key of at least 1024 bits (RSA-2048 recommended)")
    return DomainKey(domain, selector, key, data)
