"""The HTTP listener's caps: slow clients are turned away with 503 and timed out with 408,
while a member's unsubscribe link still answers."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

from support.engine import RunningEngine
from support.sockets import connect_from


def answer(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def get(address: tuple[str, int], path: str, source: str = "127.0.0.1") -> bytes:
    with connect_from(source, address) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lists.example.test\r\n\r\n".encode())
        return answer(sock)


def test_slow_http_clients_are_capped_and_timed_out_while_others_are_served(settings, make_list, caplog):
    make_list("team", members=["alice@example.com"])
    caplog.set_level(logging.INFO, logger="listserv")
    settings = replace(settings, http_max_connections=30, http_max_connections_per_client=10, http_timeout=10.0)
    running = RunningEngine(settings).start()
    address = running.service.web.address
    held: list[socket.socket] = []
    try:
        for index in range(10):
            sock = connect_from("127.0.1.1", address)
            sock.sendall(b"GET /unsubscribe/1/")  # and nothing more, for now
            held.append(sock)
        one_more = get(address, "/unsubscribe/1/x", source="127.0.1.1")
        assert one_more.startswith(b"HTTP/1.1 503") and b"Retry-After: 10" in one_more
        assert get(address, "/unsubscribe/1/not-a-token").startswith(b"HTTP/1.1 404")  # another client: served

        for index in range(20):
            sock = connect_from(f"127.0.1.{index % 2 + 2}", address)
            sock.sendall(b"G")
            held.append(sock)
        assert get(address, "/unsubscribe/1/x", source="127.0.1.9").startswith(b"HTTP/1.1 503")
        assert "HTTP refused a connection from 127.0.1.9: too many connections (cap 30" in caplog.text
        assert "HTTP refused a connection from 127.0.1.1: too many connections from this address" in caplog.text

        for sock in held:  # nobody finishes a request: each is answered 408 after http_timeout, and closed
            assert answer(sock).startswith(b"HTTP/1.1 408")
        assert "no complete request from 127.0.1.1 within 10s; answered 408" in caplog.text
        assert get(address, "/unsubscribe/1/not-a-token", source="127.0.1.9").startswith(b"HTTP/1.1 404")
    finally:
        for sock in held:
            sock.close()
        running.stop()
