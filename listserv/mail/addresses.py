"""Envelope recipient -> which list and which of its addresses (pure)."""

from __future__ import annotations

from collections.abc import Container
from urllib.parse import urlsplit

from listserv.mail.message import Recipient, Role

SUFFIXES = {f"-{role.value}": role for role in Role if role is not Role.POST}


def normalize_address(address: str) -> str:
    """Lower-case the domain; keep the local part as given except for case folding.

    List addresses and member addresses are compared case-insensitively, as
    every major provider treats them.
    """
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return f"{local.lower()}@{domain.lower().rstrip('.')}"


def parse_recipient(address: str, lists: Container[str]) -> Recipient | None:
    """The list and role an envelope recipient addresses, or None if it is not ours.

    The tag after "+" keeps its case: it may carry a case-sensitive token.
    """
    tag = address.strip().strip("<>").rpartition("@")[0].partition("+")[2]
    local, at, domain = normalize_address(address).rpartition("@")
    if not at:
        return None
    base = local.partition("+")[0]
    if f"{base}@{domain}" in lists and not tag:
        return Recipient(f"{base}@{domain}", Role.POST)
    for suffix, role in SUFFIXES.items():
        name = base.removesuffix(suffix)
        if name != base and f"{name}@{domain}" in lists:
            return Recipient(f"{name}@{domain}", role, tag)
    return None


LOCAL_OK = set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.")


def address_problem(address: str) -> str | None:
    """Why an address cannot be a member's, or None if it is fine."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "not an address (expected name@domain)"
    if len(local) > 64 or len(address) > 254:
        return "address too long"
    if not all(c in LOCAL_OK or (not c.isascii() and c.isprintable()) for c in local.lower()):
        return "unsupported character in the local part"  # non-ASCII (RFC 6531) is fine
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "misplaced dot in the local part"
    return domain_problem(domain)


def domain_problem(domain: str) -> str | None:
    """Why a name cannot be a mail domain (dot-separated labels of letters, digits and inner
    hyphens, as in example.org or bücher.example), or None."""
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(labels) or any(len(label) > 63 for label in labels):
        return "invalid domain (expected labels joined by dots, e.g. lists.example.org)"
    if not all(label.replace("-", "").isalnum() and label[0] != "-" and label[-1] != "-" for label in labels):
        return "invalid domain (a label holds letters, digits and inner hyphens only)"
    if labels[-1].isdigit():
        return "invalid domain (an IP address is not a domain)"
    return None


# -- list addresses ------------------------------------------------------------------------------

RESERVED_SUFFIXES = tuple(SUFFIXES)  # LIST-request@, LIST-owner@, ...: every list's own service addresses
RESERVED_NAMES = frozenset({"postmaster", "abuse", "mailer-daemon"})  # the domain's own (RFC 5321, RFC 2142)
LIST_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*-/=?^_`{|}~.")  # atext, less "+": tags
LONGEST_TAG = 26  # a token after "+" (listserv.tokens: 128 bits in base32)
LIST_NAME_MAX = 64 - max(len(suffix) for suffix in SUFFIXES) - len("+") - LONGEST_TAG  # 28


def list_name_problem(name: str) -> str | None:
    """Why NAME (the local part, lower case) cannot name a list, or None. Every service address
    NAME-moderate+TOKEN@domain must be a plain local part within the 64 octets RFC 5321 allows."""
    if not name:
        return "the name is empty"
    if len(name) > LIST_NAME_MAX:
        return f"the name is longer than {LIST_NAME_MAX} characters (NAME-moderate+TOKEN must fit in 64)"
    if "+" in name:
        return "a name cannot contain '+': it starts the tag of NAME+TAG addresses"
    odd = sorted({c for c in name if c not in LIST_CHARACTERS})
    if odd:
        return f"{odd[0]!r} would need quoting in an address; use letters, digits, '-', '_' and '.'"
    if name.startswith(".") or name.endswith(".") or ".." in name:
        return "a dot cannot start or end the name, or follow another dot"
    suffix = next((s for s in RESERVED_SUFFIXES if name.endswith(s)), None)
    if suffix is not None:
        return f"names ending in {suffix} are reserved: NAME{suffix}@ is one of each list's own addresses"
    if name in RESERVED_NAMES:
        return f"{name}@ belongs to the domain itself, not to a list"
    return None


def list_address_problem(address: str) -> str | None:
    """Why ADDRESS (normalised) cannot be a list's address, or None."""
    name, at, domain = address.rpartition("@")
    if not at:
        return "not an address (expected name@domain, or a bare name for the default domain)"
    return list_name_problem(name) or domain_problem(domain)


def web_url_problem(url: str) -> str | None:
    """Why a value cannot be a link we put in mail (List-Archive, one-click unsubscribe), or None."""
    if any(c.isspace() or c in '<>"\\' or not c.isprintable() for c in url):
        return f"a URL holds no spaces, quotes or angle brackets: {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number below 65536
    except ValueError:
        return f"not a URL: {url!r}"
    if parts.scheme not in ("http", "https"):
        return f"expected an http:// or https:// URL, got {url!r}"
    if not parts.hostname:
        return f"the URL has no host: {url!r}"
    return None
