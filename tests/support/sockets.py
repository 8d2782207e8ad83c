"""Client sockets for tests that need to choose their source address (per-client caps)."""

from __future__ import annotations

import socket


def connect_from(source: str, address: tuple[str, int]) -> socket.socket:
    """A TCP connection to address from the loopback address `source` (127.0.0.2, ...)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.bind((source, 0))
    sock.connect(address)
    return sock
