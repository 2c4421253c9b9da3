"""The probe's manners: one-line errors for unusable endpoints, hard caps, TLS verified, secrets kept."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlscore.cli import main
from mlscore.commands.probe import headers_from_env
from mlscore.errors import InputError
from tests.support.mlserver import free_port, skip_or_fail
from tests.support.servers import hanging_server, html_server, running_uvicorn

APP_DIR = Path(__file__).parent


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["probe", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("probe: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("mlscore: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, _out, err = run_cli([f"http://127.0.0.1:{port}", "--model", "m"], capsys)
    line = one_error_line(err)
    assert code == 2
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused (is the server running?)" in line


def test_hanging_endpoint_times_out_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    with hanging_server() as url:
        started = time.monotonic()
        code, _out, err = run_cli([url, "--model", "m", "--timeout", "0.5"], capsys)
        elapsed = time.monotonic() - started
    line = one_error_line(err)
    assert code == 2
    assert "no answer within 0.5 s (the endpoint hangs or is overloaded)" in line
    assert elapsed < 10  # bounded by --timeout, not by the server


def test_non_json_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with html_server() as url:
        code, _out, err = run_cli([url, "--model", "m"], capsys)
        line = one_error_line(err)
        assert code == 2
        assert f"cannot tell which protocol {url} speaks" in line
        assert "answered text/html, not JSON: '<!doctype html>" in line
        code, _out, err = run_cli([url, "--model", "m", "--protocol", "v2"], capsys)
        line = one_error_line(err)
        assert code == 2 and "does not answer the v2 protocol" in line and "not JSON" in line


@pytest.mark.integration
def test_wrong_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    with running_uvicorn(APP_DIR, "misbehaving_app:app") as url:
        code, _out, err = run_cli([url, "--model", "m", "--protocol", "v2"], capsys)
        line = one_error_line(err)
        assert code == 2
        assert f"{url} does not answer the v2 protocol (GET /v2 -> 404; GET /v2/health/live -> 404" in line
        assert line.endswith("try --protocol auto")
        code, _out, err = run_cli([url, "--model", "m", "--protocol", "tfserving"], capsys)
        assert code == 2 and "does not answer the tfserving protocol (GET /v1/models/m -> 404)" in one_error_line(err)


def test_header_env_parsing_never_echoes_values() -> None:
    headers, sources = headers_from_env(("Authorization=TOK", "X-Team=TEAM"), {"TOK": "Bearer abc123", "TEAM": "ml"})
    assert headers == {"Authorization": "Bearer abc123", "X-Team": "ml"}
    assert sources == {"Authorization": "TOK", "X-Team": "TEAM"}
    with pytest.raises(InputError, match="environment variable MISSING is not set"):
        headers_from_env(("Authorization=MISSING",), {})
    with pytest.raises(InputError, match="expected HEADER=ENV_VAR"):
        headers_from_env(("Authorization",), {})
    with pytest.raises(InputError, match="not a valid header name"):
        headers_from_env(("Bad Header=TOK",), {"TOK": "x"})
    with pytest.raises(InputError) as info:
        headers_from_env(("Authorization=TOK",), {"TOK": "evil\r\nX-Injected: 1"})
    assert "line break" in str(info.value) and "evil" not in str(info.value)


def test_missing_header_env_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLSCORE_NOPE", raising=False)
    code, _out, err = run_cli(["http://127.0.0.1:9", "--header-env", "Authorization=MLSCORE_NOPE"], capsys)
    assert code == 2 and "environment variable MLSCORE_NOPE is not set" in one_error_line(err)


def test_unknown_check_and_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["http://127.0.0.1:9", "--check", "nope"], capsys)
    assert code == 2 and "unknown check" in one_error_line(err)
    code, _out, err = run_cli(["ftp://example.org", "--model", "m"], capsys)
    assert code == 2 and "not an http(s) URL" in one_error_line(err)


class _V2Handler(http.server.BaseHTTPRequestHandler):
    """A minimal, well-behaved V2 server (constant model) for cap and TLS tests."""

    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    calls = 0

    def _send(self, status: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v2":
            self._send(200, {"name": "tiny", "version": "0.1", "extensions": []})
        elif self.path in ("/v2/health/live", "/v2/health/ready", "/v2/models/m/ready"):
            self._send(200, {})
        elif self.path == "/v2/models/m":
            self._send(200, {"name": "m", "versions": [], "platform": "", "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 3]}], "outputs": []})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            doc = json.loads(raw)
            n = doc["inputs"][0]["shape"][0]
            name = doc["inputs"][0]["name"]
        except Exception:  # noqa: BLE001 - a test server
            self._send(400, {"error": "bad request"})
            return
        if name != "x":  # strict like Triton: the declared input name only
            self._send(400, {"error": f"unexpected inference input '{name}' for model 'm'"})
            return
        if self.path == "/v2/models/m/infer":
            _V2Handler.calls += 1
            version = "2" if _V2Handler.calls % 10 == 0 else "1"  # a 10 % canary
            self._send(200, {"model_name": "m", "model_version": version, "outputs": [{"name": "y", "shape": [n], "datatype": "FP64", "data": [0.5] * n}]})
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture()
def tiny_v2() -> Iterator[tuple[str, list[int]]]:
    counter: list[int] = []

    class Counting(_V2Handler):
        def handle_one_request(self) -> None:
            super().handle_one_request()
            if self.requestline:
                counter.append(1)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counter
    finally:
        server.shutdown()
        server.server_close()


def test_request_cap_is_hard_and_leftover_checks_are_skipped(tiny_v2: tuple[str, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, counter = tiny_v2
    _code, out, _err = run_cli([url, "--model", "m", "--max-requests", "40", "--format", "json", "-q", "--oversized-mb", "0"], capsys)
    doc = json.loads(out)
    assert doc["requests_sent"] <= 40 and len(counter) <= 40
    statuses = {c["id"]: c["status"] for c in doc["checks"]}
    assert statuses["liveness"] == "passing"
    assert "skipped" in statuses.values()
    skipped = [c for c in doc["checks"] if c["status"] == "skipped"]
    assert any("request cap of 40 reached" in c["message"] or "not enough of the request cap" in c["message"] for c in skipped)
    assert any("synthetic rows shaped by the declared input x [-1, 3]" in d["message"] for d in doc["diagnostics"])


def test_time_budget_is_hard(tiny_v2: tuple[str, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _counter = tiny_v2
    started = time.monotonic()
    _code, out, _err = run_cli([url, "--model", "m", "--time-budget", "1", "--max-rate", "20", "--format", "json", "-q"], capsys)
    elapsed = time.monotonic() - started
    doc = json.loads(out)
    assert elapsed < 6
    assert any("time budget of 1 s used up" in c["message"] for c in doc["checks"] if c["status"] == "skipped")
    assert doc["requests_sent"] <= 25  # 20 req/s for 1 s, plus the first slot


def test_tls_is_verified_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("openssl") is None:
        skip_or_fail("openssl not found (apt-get install -y openssl): it makes the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _V2Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        code, _out, err = run_cli([url, "--model", "m", "--check", "liveness"], capsys)
        assert code == 2 and "TLS certificate of 127.0.0.1" in one_error_line(err) and "not trusted" in err
        code, out, _err = run_cli([url, "--model", "m", "--check", "liveness", "--ca-file", str(cert), "--format", "json", "-q"], capsys)
        assert code == 0 and json.loads(out)["limits"]["verify_tls"] is True
        code, out, _err = run_cli([url, "--model", "m", "--check", "liveness", "--insecure", "--format", "json", "-q"], capsys)
        assert code == 0 and json.loads(out)["limits"]["verify_tls"] is False
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_in_the_url_are_refused_without_echoing_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["http://admin:hunter22@127.0.0.1:9", "--model", "m"], capsys)
    line = one_error_line(err)
    assert code == 2 and "credentials in the URL are refused" in line and "hunter22" not in err


def test_declared_v2_input_name_and_type_are_used(tiny_v2: tuple[str, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _counter = tiny_v2
    code, out, _err = run_cli([url, "--model", "m", "--check", "determinism", "--format", "json", "-q"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["checks"][0]["status"] == "passing", doc["checks"][0]["message"]
    assert any(d["message"] == "V2 input tensor x FP64, as the model metadata declares" for d in doc["diagnostics"])


def test_traffic_split_between_versions_is_seen(tiny_v2: tuple[str, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _counter = tiny_v2
    code, out, _err = run_cli([url, "--model", "m", "--check", "latency", "--check", "traffic-split", "--requests", "50",
                               "--format", "json", "-q"], capsys)
    split = {c["id"]: c for c in json.loads(out)["checks"]}["traffic-split"]
    assert code == 0 and split["status"] == "passing", split["message"]
    assert set(split["details"]["versions_seen"]) == {"1", "2"} and split["details"]["answers"] == 50
    assert "50 answers came from 2 versions (1 90%, 2 10%)" in split["message"]


class _Locked(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16

    def do_GET(self) -> None:
        body = b'{"error": "unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_server_that_wants_credentials_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Locked)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, _out, err = run_cli([f"http://127.0.0.1:{server.server_address[1]}", "--model", "m"], capsys)
    finally:
        server.shutdown()
        server.server_close()
    line = one_error_line(err)
    assert code == 2 and "GET /v2 -> 401: the server wants credentials, pass them with --header-env" in line


def test_unwritable_output_is_a_one_line_error(tiny_v2: tuple[str, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, _counter = tiny_v2
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _out, err = run_cli([url, "--model", "m", "--check", "liveness", "-q", "-o", str(blocker / "probe.json")], capsys)
    assert code == 2 and "cannot write the report" in one_error_line(err)


class _OddMetadata(_V2Handler):
    """A V2 server whose metadata and status bodies have the wrong JSON types everywhere."""

    def do_GET(self) -> None:
        if self.path == "/v2/models/m":
            self._send(200, {"name": {"x": 1}, "versions": "v1", "platform": [1], "inputs": 5, "outputs": {"a": 1},
                             "created_at": ["2026"]})
        elif self.path == "/v2":
            self._send(200, {"name": ["mlserver"], "version": {"v": 1}, "extensions": "none"})
        else:
            super().do_GET()


def test_hostile_metadata_types_do_not_break_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OddMetadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, out, _err = run_cli([f"http://127.0.0.1:{server.server_address[1]}", "--model", "m", "--sample", str(tmp_path / "s.csv"),
                                   "--requests", "10", "--oversized-mb", "0", "--format", "json", "-q"], capsys)
    finally:
        server.shutdown()
        server.server_close()
    doc = json.loads(out)
    internal = [c["message"] for c in doc["checks"] if "internal error" in c["message"]]
    assert not internal, internal
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["metadata"]["status"] == "passing" and checks["metadata"]["details"]["inputs"] == []
    assert doc["target"]["server"] == {}  # no string name/version to report
    # the server wants its input named x; garbage metadata cannot say so, and the checks say what failed
    assert "unexpected inference input 'input-0'" in checks["determinism"]["message"]
    assert code == 1
