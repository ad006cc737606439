"""A TCP proxy on localhost between IMR Desk and the test cluster that can lose a COMMIT's reply.

Everything is passed through unchanged, both ways, until `drop_next_commit()` arms it: then the next
COMMIT a client sends is passed to the server, the server runs it (its reply arriving proves the
transaction committed), and the proxy closes that connection instead of passing the reply on. The
client sees the connection lost at COMMIT, with its write in the database: the case a retrying
writer must not write twice. Real sockets and a real server; only the reply is lost, as a dropped
network would lose it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

# psycopg sends each statement in a Parse (or Query) message: the text ends with a NUL byte
_COMMIT = b"COMMIT\x00"


class CommitDropper:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        self.url = urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}"))
        self._lock = threading.Lock()
        self._armed = False
        self.dropped = threading.Event()  # a COMMIT was run by the server and its reply not passed on
        self.commits_seen = 0
        self._closing = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="pgproxy-accept", daemon=True).start()

    def drop_next_commit(self) -> None:
        with self._lock:
            self._armed = True
            self.dropped.clear()

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for s in list(self._sockets):
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> CommitDropper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            pair = _Pair(client, server)
            threading.Thread(target=self._to_server, args=(pair,), daemon=True).start()
            threading.Thread(target=self._to_client, args=(pair,), daemon=True).start()

    def _to_server(self, pair: _Pair) -> None:
        while True:
            try:
                data = pair.client.recv(65536)
            except OSError:
                data = b""
            if not data:
                pair.close()
                return
            if _COMMIT in data:
                with self._lock:
                    self.commits_seen += 1
                    if self._armed:
                        self._armed = False
                        pair.lose_reply = True  # set before the server can answer
            try:
                pair.server.sendall(data)
            except OSError:
                pair.close()
                return

    def _to_client(self, pair: _Pair) -> None:
        while True:
            try:
                data = pair.server.recv(65536)
            except OSError:
                data = b""
            if not data:
                pair.close()
                return
            if pair.lose_reply:  # the COMMIT's reply: the server committed; the client never hears so
                self.dropped.set()
                pair.close()
                return
            try:
                pair.client.sendall(data)
            except OSError:
                pair.close()
                return


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.lose_reply = False

    def close(self) -> None:
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
