"""A fast counting SMTP sink with PIPELINING, run as its own process by bench.run.

    python3 -m bench.sink --port 25025 --status-port 25026

It accepts every transaction (or refuses RCPTs to --refuse-domain with 550, for checks),
answers each pipelined group with one write, and counts what it accepted: recipients,
messages, bytes, distinct recipients and duplicates, VERP envelope senders that name their
recipient, and the CLOCK_MONOTONIC time (system-wide on Linux, so comparable with the
benchmark's own clock) of the first and the last completed message.

The status side channel is one TCP line protocol on --status-port: `stats` answers one JSON
line, `reset` zeroes the counters and answers `ok`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from dataclasses import dataclass, field, fields

EHLO_REPLY = b"250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 0\r\n"
END_OF_DATA = b"\r\n.\r\n"


@dataclass
class Counts:
    rcpts: int = 0  # recipients of completed messages
    messages: int = 0
    bytes: int = 0
    refused: int = 0  # RCPTs answered 550
    verp: int = 0  # messages whose MAIL FROM is LIST-bounces+local=domain@... of its one recipient
    signed: int = 0  # messages that start with a DKIM-Signature field
    duplicates: int = 0  # a recipient that already had a message since the last reset
    first: float = 0.0  # time.monotonic() of the first completed message
    last: float = 0.0
    connections: int = 0
    seen: set[str] = field(default_factory=set)

    def report(self) -> dict[str, object]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "seen"}
        data["unique"] = len(self.seen)  # not asdict(): that would copy the set on every poll
        return data


class SinkProtocol(asyncio.Protocol):
    def __init__(self, counts: Counts, refuse_domain: str) -> None:
        self.counts, self.refuse = counts, "@" + refuse_domain.lower() if refuse_domain else ""
        self.buffer = bytearray()
        self.in_data = False
        self.scanned = 0  # bytes of a message body already searched for the final dot
        self.mail_from = ""
        self.rcpts: list[str] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counts.connections += 1
        transport.write(b"220 sink.bench.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out: list[bytes] = []
        closing = False
        while not closing:
            if self.in_data:
                if not self._body(out):
                    break
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            closing = self._command(line, out)
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if closing and self.transport is not None:
            self.transport.close()

    def _body(self, out: list[bytes]) -> bool:
        """Consume a message body if its final dot has arrived."""
        if self.buffer.startswith(b".\r\n"):
            size, cut = 0, 3
        else:
            end = self.buffer.find(END_OF_DATA, max(self.scanned - 4, 0))
            if end < 0:
                self.scanned = len(self.buffer)
                return False
            size, cut = end + 2, end + 5
        if self.buffer.startswith(b"DKIM-Signature:"):
            self.counts.signed += 1
        del self.buffer[:cut]
        self.in_data, self.scanned = False, 0
        self._delivered(size)
        out.append(b"250 2.0.0 Ok: queued\r\n")
        return True

    def _delivered(self, size: int) -> None:
        counts, now = self.counts, time.monotonic()
        if not counts.messages:
            counts.first = now
        counts.last = now
        counts.messages += 1
        counts.rcpts += len(self.rcpts)
        counts.bytes += size
        for rcpt in self.rcpts:
            if rcpt in counts.seen:
                counts.duplicates += 1
            else:
                counts.seen.add(rcpt)
        if len(self.rcpts) == 1 and "+" + self.rcpts[0].replace("@", "=") + "@" in self.mail_from:
            counts.verp += 1
        self.rcpts = []

    def _command(self, line: bytes, out: list[bytes]) -> bool:
        verb = line[:4].upper()
        if verb == b"RCPT":
            address = _address(line)
            if self.refuse and address.lower().endswith(self.refuse):
                self.counts.refused += 1
                out.append(b"550 5.1.1 Refused by the sink\r\n")
            else:
                self.rcpts.append(address)
                out.append(b"250 2.1.5 Ok\r\n")
        elif verb == b"MAIL":
            self.mail_from, self.rcpts = _address(line), []
            out.append(b"250 2.1.0 Ok\r\n")
        elif verb == b"DATA":
            if self.rcpts:
                self.in_data = True
                out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            else:
                out.append(b"554 5.5.1 Error: no valid recipients\r\n")
        elif verb in (b"EHLO", b"LHLO"):
            out.append(EHLO_REPLY)
        elif verb in (b"RSET", b"NOOP", b"HELO"):
            self.rcpts = []
            out.append(b"250 2.0.0 Ok\r\n")
        elif verb == b"QUIT":
            out.append(b"221 2.0.0 Bye\r\n")
            return True
        else:
            out.append(b"502 5.5.2 Error: command not recognized\r\n")
        return False


def _address(line: bytes) -> str:
    start, end = line.find(b"<"), line.find(b">")
    return line[start + 1 : end].decode("utf-8", "replace") if 0 <= start < end else ""


async def _status(counts: Counts, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            command = line.strip().lower()
            if command == b"reset":
                fresh = Counts()
                for name, value in vars(fresh).items():
                    setattr(counts, name, value)
                writer.write(b"ok\n")
            elif command == b"stats":
                writer.write(json.dumps(counts.report()).encode() + b"\n")
            else:
                writer.write(b"error: stats or reset\n")
            await writer.drain()
    finally:
        writer.close()


async def serve(host: str, port: int, status_port: int, refuse_domain: str) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SinkProtocol(counts, refuse_domain), host, port, backlog=512)
    status = await asyncio.start_server(lambda r, w: _status(counts, r, w), host, status_port)
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    print(f"sink ready smtp={host}:{port} status={host}:{status_port}", flush=True)
    await stopping.wait()
    smtp.close()
    status.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--status-port", type=int, required=True)
    parser.add_argument("--refuse-domain", default="", help="answer 550 to RCPTs in this domain")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.status_port, args.refuse_domain))


if __name__ == "__main__":
    main()
