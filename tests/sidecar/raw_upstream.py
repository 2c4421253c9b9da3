"""An upstream for hostile-HTTP tests: h11 parses what the sidecar forwards, every byte is recorded, and the
answer is scripted (a fixed 200, or a head and half a body before the connection dies)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import h11


@dataclass
class Seen:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class RawUpstream:
    mode: str = "ok"  # "ok" | "die_mid_body"
    raw: bytearray = field(default_factory=bytearray)
    requests: list[Seen] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.stopped = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        h = h11.Connection(h11.SERVER)
        conn.settimeout(10)
        try:
            while True:
                req, body = None, b""
                while True:
                    event = h.next_event()
                    if event is h11.NEED_DATA:
                        if h.they_are_waiting_for_100_continue:  # as uvicorn does when the app reads the body
                            conn.sendall(h.send(h11.InformationalResponse(status_code=100, headers=[])))
                        data = conn.recv(65536)
                        with self.lock:
                            self.raw += data
                        h.receive_data(data)
                        if not data:
                            return
                        continue
                    if isinstance(event, h11.Request):
                        req = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return
                assert req is not None
                with self.lock:
                    self.requests.append(Seen(req.method, req.target, list(req.headers), body))
                payload = b'{"ok": true, "n": %d}' % len(body)
                if self.mode == "die_mid_body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                                 + payload[:10])
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                conn.sendall(h.send(h11.Response(status_code=200, headers=[
                    ("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])))
                conn.sendall(h.send(h11.Data(data=payload)))
                conn.sendall(h.send(h11.EndOfMessage()))
                h.start_next_cycle()
        except (h11.RemoteProtocolError, h11.LocalProtocolError, OSError) as exc:
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
