"""The proxy in front of a real MLServer: clients see what they would see directly; every request is counted."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.sidecar.helpers import (
    assert_accounted,
    iris_rows,
    request,
    running_sidecar,
    settle,
    total,
    v2_body,
)
from tests.support.mlserver import MLServer

pytestmark = pytest.mark.integration

GOOD = v2_body(iris_rows(1, seed=1))
CASES: list[tuple[str, str, bytes | None]] = [
    ("POST", "/v2/models/iris/infer", GOOD),
    ("POST", "/v2/models/iris/versions/v1/infer", v2_body(iris_rows(8, seed=2))),
    ("POST", "/v2/models/iris/infer", v2_body([[1.0, 2.0, 3.0]])),  # wrong feature count: MLServer 500
    ("POST", "/v2/models/iris/infer", b'{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[1,2]}]}'),
    ("POST", "/v2/models/iris/infer", b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",'),
    ("POST", "/v2/models/iris/infer", b"{}"),
    ("POST", "/v2/models/iris/infer", b"\xff\xfe not json at all \x00"),
    ("POST", "/v2/models/nope/infer", GOOD),
    ("GET", "/v2/health/ready", None),
    ("GET", "/v2/models/iris/ready", None),
    ("GET", "/v2/models/iris", None),
    ("GET", "/v2", None),
    ("GET", "/no/such/path?x=1", None),
]


def _canonical(body: bytes) -> object:
    """The body with per-request ids removed (MLServer generates a fresh UUID each time)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict):
        doc.pop("id", None)
    return doc


def test_answers_match_talking_to_mlserver_directly(iris_server: MLServer, reference: Path, tmp_path: Path) -> None:
    with running_sidecar(tmp_path, ["--upstream", iris_server.url, "--reference", str(reference),
                                    "--window", "50"]) as sc:
        for method, path, body in CASES:
            direct = request(iris_server.http_port, method, path, body)
            proxied = request(sc.listen, method, path, body)
            assert proxied.status == direct.status, (method, path, direct.body, proxied.body)
            assert _canonical(proxied.body) == _canonical(direct.body), (method, path)
            assert proxied.headers.get("content-type") == direct.headers.get("content-type")
            if "ce-type" in direct.headers:  # MLServer's CloudEvents headers pass through untouched
                assert proxied.headers["ce-type"] == direct.headers["ce-type"]
        s = settle(sc.metrics)
        assert total(s, "mlscore_events_received_total", source="proxy") == len(CASES)
        assert_accounted(s, "proxy")
        infer = len([c for c in CASES if c[1].endswith("/infer")])
        assert total(s, "mlscore_requests_total") == len(CASES)
        assert total(s, "mlscore_requests_total", route="/v2/models/{model}/infer") == infer
        assert total(s, "mlscore_requests_total", code="5xx") >= 2  # the 500s MLServer gives for bad shapes
        assert total(s, "mlscore_requests_total", code="4xx") >= 3
        # the two valid requests carried 9 rows; their predictions were seen
        assert total(s, "mlscore_predictions_total", model="iris") == 9
        assert total(s, "mlscore_model_info", model="iris", version="v1") == 1
        # wrong feature count is a schema violation on the missing feature
        assert total(s, "mlscore_schema_violations_total", kind="missing_feature") >= 1
        assert total(s, "mlscore_events_dropped_total", reason="undecodable") >= 2


def test_chunked_and_keep_alive_requests(iris_server: MLServer, tmp_path: Path) -> None:
    body = v2_body(iris_rows(3, seed=3))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
    raw = (b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n")
    with running_sidecar(tmp_path, ["--upstream", iris_server.url]) as sc:
        answers = []
        for port in (iris_server.http_port, sc.listen):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for _ in range(3):  # three requests on one connection
                    sock.sendall(raw)
                    answers.append(_read_response(sock))
        direct, proxied = answers[:3], answers[3:]
        assert [a[0] for a in proxied] == [a[0] for a in direct] == [200, 200, 200]
        assert [_canonical(a[1]) for a in proxied] == [_canonical(a[1]) for a in direct]
        s = settle(sc.metrics)
        assert total(s, "mlscore_events_analysed_total", source="proxy") == 3
        assert total(s, "mlscore_rows_analysed_total", kind="input") == 9


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return status, rest[:length]


def test_size_limits_and_malformed_http(iris_server: MLServer, tmp_path: Path) -> None:
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text("[sidecar]\ncapture_bytes = 2048\nmax_body_bytes = 200000\nmax_header_bytes = 4096\n")
    big_ok = v2_body(iris_rows(200, seed=4))  # > capture_bytes, < max_body_bytes: forwarded, not analysed
    assert 2048 < len(big_ok) < 200_000
    too_big = b'{"inputs": [' + b" " * 300_000 + b"]}"
    with running_sidecar(tmp_path, ["--upstream", iris_server.url, "--config", str(cfg)]) as sc:
        direct = request(iris_server.http_port, "POST", "/v2/models/iris/infer", big_ok)
        proxied = request(sc.listen, "POST", "/v2/models/iris/infer", big_ok)
        assert proxied.status == direct.status == 200
        assert _canonical(proxied.body) == _canonical(direct.body)
        rejected = request(sc.listen, "POST", "/v2/models/iris/infer", too_big)
        assert rejected.status == 413
        for raw, want in ((b"GARBAGE\r\n\r\n", 400),
                          (b"GET / HTTP/1.1\r\nX: " + b"a" * 8000 + b"\r\n\r\n", 431),
                          ((b"POST /v2/models/iris/infer HTTP/1.1\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
                          (b"POST /v2/models/iris/infer HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400)):
            with socket.create_connection(("127.0.0.1", sc.listen), timeout=5) as sock:
                sock.sendall(raw)
                assert int(sock.recv(4096).split(b" ")[1]) == want, raw[:40]
        # the sidecar is still serving
        assert request(sc.listen, "POST", "/v2/models/iris/infer", GOOD).status == 200
        s = settle(sc.metrics)
        assert_accounted(s, "proxy")
        assert total(s, "mlscore_events_received_total", source="proxy") == 7  # every request sent
        assert total(s, "mlscore_events_dropped_total", reason="too_large") == 1
        assert total(s, "mlscore_events_dropped_total", reason="body_too_large") == 1
        assert total(s, "mlscore_requests_rejected_total", reason="bad_request") == 3
        assert total(s, "mlscore_requests_rejected_total", reason="header_too_large") == 1
        assert "300000" not in sc.log() and "GARBAGE" not in sc.log()  # payloads are not logged


def test_client_aborting_mid_body_is_counted_and_harmless(iris_server: MLServer, tmp_path: Path) -> None:
    big = v2_body(iris_rows(20000, seed=6))  # streamed (over the 256 KiB buffering limit)
    with running_sidecar(tmp_path, ["--upstream", iris_server.url]) as sc:
        with socket.create_connection(("127.0.0.1", sc.listen), timeout=5) as sock:
            sock.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(big) + big[: len(big) // 2])
        assert request(sc.listen, "POST", "/v2/models/iris/infer", GOOD).status == 200
        s = settle(sc.metrics)
        assert total(s, "mlscore_events_received_total", source="proxy") == 2
        assert total(s, "mlscore_events_dropped_total", reason="client_aborted") == 1
        assert_accounted(s, "proxy")


def test_expect_100_continue(iris_server: MLServer, tmp_path: Path) -> None:
    body = v2_body(iris_rows(2, seed=7))
    with running_sidecar(tmp_path, ["--upstream", iris_server.url]) as sc, \
            socket.create_connection(("127.0.0.1", sc.listen), timeout=5) as sock:
        sock.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        sock.sendall(body)
        status, answer = _read_response(_Prefixed(sock, rest))  # type: ignore[arg-type]
        assert status == 200 and len(json.loads(answer)["outputs"][0]["data"]) == 2


class _Prefixed:
    """A socket whose first recv returns bytes already read."""

    def __init__(self, sock: socket.socket, prefix: bytes) -> None:
        self.sock, self.prefix = sock, prefix

    def recv(self, n: int) -> bytes:
        if self.prefix:
            out, self.prefix = self.prefix, b""
            return out
        return self.sock.recv(n)


def test_connections_beyond_the_cap_get_503(iris_server: MLServer, tmp_path: Path) -> None:
    cfg = tmp_path / "sidecar.toml"
    cfg.write_text("[sidecar]\nmax_connections = 3\n")
    with running_sidecar(tmp_path, ["--upstream", iris_server.url, "--config", str(cfg)]) as sc:
        held = [socket.create_connection(("127.0.0.1", sc.listen), timeout=5) for _ in range(3)]
        try:
            for sock in held:  # each is a live keep-alive connection
                sock.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _read_response(sock)[0] == 200
            assert request(sc.listen, "GET", "/v2/health/ready").status == 503
        finally:
            for sock in held:
                sock.close()
        s = settle(sc.metrics)
        assert total(s, "mlscore_requests_rejected_total", reason="too_many_connections") == 1
        assert_accounted(s, "proxy")
        assert request(sc.listen, "GET", "/v2/health/ready").status == 200
