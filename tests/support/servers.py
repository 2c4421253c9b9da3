"""Small real servers on 127.0.0.1 for tests: an ASGI app under uvicorn, a hanging socket, an HTML site."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.mlserver import free_port, http_status, stop_process_group


@contextlib.contextmanager
def running_uvicorn(
    app_dir: Path, app: str, *, env: dict[str, str] | None = None, ready_path: str = "/openapi.json", timeout: float = 30.0
) -> Iterator[str]:
    """Run ``uvicorn APP`` (``module:attribute`` inside ``app_dir``) with this interpreter; yield its URL."""
    port = free_port()
    process_env = dict(os.environ)
    process_env.update(env or {})
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        stdout=log, stderr=subprocess.STDOUT, env=process_env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while http_status(url + ready_path) is None:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode("utf-8", "replace")
                raise RuntimeError(f"uvicorn {app} exited with code {process.returncode}: {tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn {app} did not answer {ready_path} within {timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process_group(process)
        log.close()


@contextlib.contextmanager
def hanging_server() -> Iterator[str]:
    """A TCP server that accepts connections and reads, but never answers; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        sock.close()


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    def _page(self) -> None:
        body = b"<!doctype html><html><body><h1>Welcome to our shop</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _page
    do_POST = _page

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def html_server() -> Iterator[str]:
    """An ordinary web site: 200 text/html for every path and method; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
