"""A TCP proxy on 127.0.0.1 between a client and a server, that a test can make cut a connection:
`cut_after(marker, nbytes)` drops the next connection once the client has sent `marker` and the
server has answered `nbytes` bytes after it (a connection lost in the middle of a FETCH)."""

from __future__ import annotations

import socket
import threading

from support.postfix import free_port


class TcpProxy:
    def __init__(self, target_port: int, hide: bytes = b"") -> None:
        self.target_port = target_port
        self.hide = hide  # taken out of everything the server says (e.g. b" MOVE": a server without MOVE)
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        self.commands = bytearray()  # what clients sent, for checking which commands were used
        self.connections = 0
        self._marker: bytes | None = None
        self._freeze: bytes | None = None
        self._after = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze_after(self, marker: bytes) -> None:
        """The server's answers to the next connection stop reaching the client once it sent `marker`
        (a connection that hangs: still open, nothing more arrives)."""
        with self._lock:
            self._freeze = marker

    def cut_after(self, marker: bytes, nbytes: int) -> None:
        with self._lock:
            self._marker, self._after = marker, nbytes

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.connections += 1
                self._open += [client, server]
            state = {"armed": False, "sent": 0, "frozen": False}
            threading.Thread(target=self._pipe, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, state, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, state: dict[str, int | bool], upstream: bool) -> None:
        try:
            while chunk := source.recv(65536):
                with self._lock:
                    if upstream:
                        self.commands += chunk
                        if self._freeze is not None and self._freeze in chunk:
                            self._freeze, state["frozen"] = None, True
                    elif state["frozen"]:
                        continue
                    if upstream and self._marker is not None and self._marker in chunk:
                        state["armed"] = True
                    elif not upstream and state["armed"]:
                        state["sent"] = int(state["sent"]) + len(chunk)
                        if int(state["sent"]) >= self._after:
                            self._marker, state["armed"] = None, False
                            self.cuts += 1
                            sink.sendall(chunk[: len(chunk) // 2])
                            raise ConnectionAbortedError
                sink.sendall(chunk.replace(self.hide, b"") if self.hide and not upstream else chunk)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.close()
                except OSError:
                    pass
