"""A local stand-in for the GitHub REST API (issue comments) on 127.0.0.1, and golden files."""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "ghs_test_token"
PAGE_SIZE = 2  # small pages, so the client must follow Link: rel="next"


@dataclass
class FakeGitHub:
    url: str = ""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_writes_with: int | None = None
    #: pull request number -> the items of GET /repos/{o}/{r}/pulls/{n}/files (filename, status, patch)
    pull_files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, number: int, body: str, login: str, user_type: str) -> dict[str, Any]:
        with self.lock:
            self.next_id += 1
            comment = {
                "id": self.next_id,
                "body": body,
                "user": {"login": login, "type": user_type},
                "html_url": f"https://github.test/acme/churn-model/pull/{number}#issuecomment-{self.next_id}",
            }
            self.comments.setdefault(number, []).append(comment)
            return comment

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self.requests if m in ("POST", "PATCH", "DELETE", "PUT")]

    def bot_comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if c["user"]["type"] == "Bot"]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            parts = urlsplit(self.path)
            state.requests.append((method, parts.path, dict(self.headers.items()), body))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"message": "Bad credentials"})
            if self.headers.get("X-GitHub-Api-Version") != "2022-11-28" or "github+json" not in (
                self.headers.get("Accept") or ""
            ):
                return self._send(400, {"message": "missing API headers"})
            segs = parts.path.strip("/").split("/")
            if method != "GET" and state.fail_writes_with:
                return self._send(
                    state.fail_writes_with, {"message": "Resource not accessible by integration"}
                )
            # /repos/{o}/{r}/pulls/{n}/files
            if len(segs) == 6 and segs[3] == "pulls" and segs[5] == "files" and method == "GET":
                number = int(segs[4])
                if number not in state.pull_files:
                    return self._send(404, {"message": "Not Found"})
                page = int(parse_qs(parts.query).get("page", ["1"])[0])
                items = state.pull_files[number]
                headers = {}
                if page * PAGE_SIZE < len(items):
                    nxt = f"{state.url}/repos/{segs[1]}/{segs[2]}/pulls/{number}/files?per_page=100&page={page + 1}"
                    headers["Link"] = f'<{nxt}>; rel="next"'
                return self._send(200, items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], headers)
            # /repos/{o}/{r}/issues/{n}/comments
            if (
                len(segs) == 6
                and segs[0] == "repos"
                and segs[3] == "issues"
                and segs[5] == "comments"
            ):
                number = int(segs[4])
                if method == "GET":
                    page = int(parse_qs(parts.query).get("page", ["1"])[0])
                    items = state.comments.get(number, [])
                    chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
                    headers = {}
                    if page * PAGE_SIZE < len(items):
                        nxt = f"{state.url}/repos/{segs[1]}/{segs[2]}/issues/{number}/comments?per_page=100&page={page + 1}"
                        headers["Link"] = f'<{nxt}>; rel="next"'
                    return self._send(200, chunk, headers)
                if method == "POST":
                    return self._send(
                        201, state.add(number, body["body"], "github-actions[bot]", "Bot")
                    )
            # /repos/{o}/{r}/issues/comments/{id}
            if (
                len(segs) == 6
                and segs[3] == "issues"
                and segs[4] == "comments"
                and method == "PATCH"
            ):
                cid = int(segs[5])
                for comments in state.comments.values():
                    for c in comments:
                        if c["id"] == cid:
                            c["body"] = body["body"]
                            return self._send(200, c)
                return self._send(404, {"message": "Not Found"})
            return self._send(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare with tests/github/golden/<name>; rewrite with --update-goldens or MLSCORE_UPDATE_GOLDENS=1."""
    update = (
        bool(request.config.getoption("--update-goldens", default=False))
        or os.environ.get("MLSCORE_UPDATE_GOLDENS") == "1"
    )
    directory = Path(__file__).parent / "golden"

    def check(name: str, text: str) -> None:
        path = directory / name
        if update:
            directory.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing: rerun with MLSCORE_UPDATE_GOLDENS=1")
        expected = path.read_text(encoding="utf-8")
        if expected != text:
            delta = "".join(
                difflib.unified_diff(
                    expected.splitlines(True), text.splitlines(True), f"golden/{name}", "actual"
                )
            )
            pytest.fail(f"output differs from golden/{name}:\n{delta}")

    return check
