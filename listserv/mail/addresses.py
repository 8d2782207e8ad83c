"""Envelope recipient -> which list and which of its addresses (pure)."""

from __future__ import annotations

from collections.abc import Container

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
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels) or any(len(label) > 63 for label in labels):
        return "invalid domain"
    if not all(label.replace("-", "").isalnum() and not label.startswith("-") for label in labels):
        return "invalid domain"
    return None
