"""Hostile HTTP through the sidecar (issue 13): each case failed on the hand-written parser; the sidecar's
verdicts are compared with h11's on the same byte streams."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import h11
import pytest

from tests.sidecar.helpers import Sidecar, assert_accounted, running_sidecar, settle, total
from tests.sidecar.raw_upstream import RawUpstream

pytest.importorskip("httptools")

CHUNKED = b"POST /v2/models/m/infer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    up = RawUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def sidecar(upstream: RawUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    tmp = tmp_path_factory.mktemp("sc")
    cfg = tmp / "sidecar.toml"
    cfg.write_text("[sidecar]\nclient_idle_timeout = 2.0\n")
    with running_sidecar(tmp, ["--upstream", upstream.url, "--config", str(cfg)]) as sc:
        yield sc


def exchange(port: int, data: bytes, *, half_close: bool = True, timeout: float = 5.0) -> bytes:
    """Send raw bytes, optionally half-close, and read until the sidecar closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                out += piece
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def statuses(raw: bytes) -> list[int]:
    """Status codes of the responses in ``raw`` (parsed by h11 as a client)."""
    c = h11.Connection(h11.CLIENT)
    c.send(h11.Request(method="GET", target="/", headers=[("Host", "a")]))
    c.send(h11.EndOfMessage())
    c.receive_data(raw)
    c.receive_data(b"")
    out = []
    while True:
        try:
            e = c.next_event()
        except h11.RemoteProtocolError:
            break
        if isinstance(e, h11.Response):
            out.append(e.status_code)
        elif isinstance(e, h11.EndOfMessage):
            if c.our_state is h11.DONE and c.their_state is h11.DONE:
                try:
                    c.start_next_cycle()
                    c.send(h11.Request(method="GET", target="/", headers=[("Host", "a")]))
                    c.send(h11.EndOfMessage())
                except h11.LocalProtocolError:
                    break
        elif e is h11.NEED_DATA or isinstance(e, h11.ConnectionClosed) or e is h11.PAUSED:
            break
    return out


def received(sc: Sidecar) -> float:
    return total(settle(sc.metrics), "mlscore_events_received_total", source="proxy")


@pytest.mark.parametrize("name, tail", [
    ("chunk-size line", b"0" * 100_000 + b"2\r\nab\r\n0\r\n\r\n"),
    ("chunk extension", b"2;" + b"x" * 100_000 + b"\r\nab\r\n0\r\n\r\n"),
    ("trailer section", b"2\r\nab\r\n0\r\nX-T: " + b"t" * 100_000 + b"\r\n\r\n"),
])
def test_long_chunk_lines_are_answered_and_counted(sidecar: Sidecar, name: str, tail: bytes) -> None:
    before = received(sidecar)
    answer = exchange(sidecar.listen, CHUNKED + tail)
    assert statuses(answer) and statuses(answer)[0] in (200, 400, 431), (name, answer[:200])
    assert received(sidecar) == before + 1
    assert "Traceback" not in sidecar.log() and "LimitOverrunError" not in sidecar.log()
    assert_accounted(settle(sidecar.metrics), "proxy")


@pytest.mark.parametrize("size", [b"0x2", b"0X2", b"+2", b"1_0", b" 2"])
def test_chunk_sizes_rfc_9112_forbids_are_rejected_not_forwarded(sidecar: Sidecar, upstream: RawUpstream,
                                                                size: bytes) -> None:
    body = CHUNKED + size + b"\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n"
    h = h11.Connection(h11.SERVER)
    h.receive_data(body)
    with pytest.raises(h11.RemoteProtocolError):  # h11's verdict
        while h.next_event() not in (h11.NEED_DATA,):
            pass
    mark = len(upstream.raw)
    answer = exchange(sidecar.listen, body)
    assert statuses(answer) == [400]
    time.sleep(0.1)
    assert size + b"\r\n" not in bytes(upstream.raw[mark:])  # never forwarded verbatim
    assert total(settle(sidecar.metrics), "mlscore_requests_rejected_total", reason="bad_request") >= 1


def test_pipelined_requests_then_half_close_are_all_answered(sidecar: Sidecar, upstream: RawUpstream) -> None:
    before = received(sidecar)
    reqs = b"".join(b"POST /v2/models/m/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n%02d" % i
                    for i in range(3))
    answer = exchange(sidecar.listen, reqs, half_close=True)
    assert statuses(answer) == [200, 200, 200]
    assert received(sidecar) == before + 3


@pytest.mark.parametrize("junk", [b"\x00\x01\xfe\xff" * 64, b"GET / HTTP/1.1\nHost: a\nX: y\n\n",
                                  b"GET / HTTP/1.1\r\nHost: a\r\nX: b"])
def test_heads_that_never_end_or_are_not_http_get_an_answer_and_a_count(sidecar: Sidecar, junk: bytes) -> None:
    before = total(settle(sidecar.metrics), "mlscore_requests_rejected_total")
    answer = exchange(sidecar.listen, junk)  # the last one is cut short by the half-close
    assert statuses(answer) in ([400], [408])
    assert total(settle(sidecar.metrics), "mlscore_requests_rejected_total") == before + 1


def test_a_head_that_stops_coming_times_out_with_408(sidecar: Sidecar) -> None:
    answer = exchange(sidecar.listen, b"GET / HTTP/1.1\r\nHost: a\r\n", half_close=False, timeout=6)
    assert statuses(answer) == [408]


def test_expect_100_continue_is_forwarded_and_the_upstreams_100_relayed(sidecar: Sidecar,
                                                                       upstream: RawUpstream) -> None:
    with socket.create_connection(("127.0.0.1", sidecar.listen), timeout=5) as sock:
        sock.sendall(b"POST /v2/models/m/infer HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                     b"Content-Length: 4\r\n\r\n")
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"abcd")
        rest = sock.recv(4096)
        assert b" 200 " in interim + rest
    seen = upstream.requests[-1]
    assert (b"expect", b"100-continue") in seen.headers and seen.body == b"abcd"


def test_http_1_0_with_transfer_encoding_is_faulty_framing(sidecar: Sidecar, upstream: RawUpstream) -> None:
    mark = len(upstream.requests)
    answer = exchange(sidecar.listen, b"POST /v2/models/m/infer HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      b"2\r\nab\r\n0\r\n\r\n")
    assert statuses(answer) == [400]
    assert len(upstream.requests) == mark


def test_upstream_dying_mid_body_gives_the_truncated_answer_and_counts_an_error(tmp_path: Path) -> None:
    up = RawUpstream(mode="die_mid_body")
    try:
        with running_sidecar(tmp_path, ["--upstream", up.url]) as sc:
            direct = exchange(up.port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab")
            proxied = exchange(sc.listen, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab")
            assert direct.startswith(b"HTTP/1.1 200 OK") and proxied.startswith(b"HTTP/1.1 200 OK")
            assert proxied.split(b"\r\n\r\n", 1)[1] == direct.split(b"\r\n\r\n", 1)[1]
            s = settle(sc.metrics)
            assert total(s, "mlscore_requests_total", code="2xx") == 0
            assert total(s, "mlscore_requests_total", code="5xx") == 1
            assert total(s, "mlscore_upstream_errors_total", reason="reset_mid_response") == 1
            assert_accounted(s, "proxy")
    finally:
        up.close()


# ---------------------------------------------------------------- conformance with h11

CORPUS: dict[str, bytes] = {
    "content-length": b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    "chunked": CHUNKED + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    "chunked with extension": CHUNKED + b"3;name=val\r\nabc\r\n0\r\n\r\n",
    "chunked with trailer": CHUNKED + b"3\r\nabc\r\n0\r\nX-Check: 1\r\n\r\n",
    "uppercase hex": CHUNKED + b"A\r\n0123456789\r\n0\r\n\r\n",
    "no body": b"GET /v2/health/ready HTTP/1.1\r\nHost: a\r\n\r\n",
    "header case and order": b"POST /a HTTP/1.1\r\nhost: a\r\nX-B: 2\r\nx-a: 1\r\nContent-Length: 1\r\n\r\nz",
    "http/1.0 with length": b"POST /a HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
    "both framings": b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two lengths": b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "bad length": b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nab",
    "space before colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "bad chunk hex": CHUNKED + b"g\r\nabc\r\n0\r\n\r\n",
    "chunk without crlf": CHUNKED + b"3\r\nabcX0\r\n\r\n",
    "gzip then chunked": b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    "chunked then gzip": b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    "bad method": b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    "http/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "nul in header": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
}
#: Where the sidecar is stricter than h11, on purpose (RFC 9112 allows or requires the rejection).
STRICTER = {
    "http/1.0 transfer-encoding": "RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing",
}
CORPUS["http/1.0 transfer-encoding"] = b"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
CORPUS["obsolete folding"] = b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"
STRICTER["obsolete folding"] = "RFC 9112 5.2: a server may reject obs-fold with 400; llhttp does"
CORPUS["bare LF"] = b"GET / HTTP/1.1\nHost: a\n\n"
STRICTER["bare LF"] = "RFC 9112 2.2: a recipient MAY accept a bare LF; llhttp does not, h11 does"
STRICTER["both framings"] = ("RFC 9112 6.3: Transfer-Encoding overrides Content-Length but the message 'ought to be "
                             "handled as an error' (a smuggling attempt); h11 accepts it")
STRICTER["http/2 preface"] = "HTTP/1.1 only: h11 parses the HTTP/2 preface as a request, the sidecar answers 400"
#: Where h11 rejects what RFC 9112 allows and llhttp accepts: the sidecar forwards it, framed afresh.
LENIENT = {
    "gzip then chunked": "RFC 9112 7: other codings may precede chunked; h11 implements only chunked",
}


def h11_verdict(data: bytes) -> Seen | None:
    """What h11 (as a server) makes of the bytes: the request, or None when it rejects them."""
    from tests.sidecar.raw_upstream import Seen

    h = h11.Connection(h11.SERVER)
    h.receive_data(data)
    h.receive_data(b"")
    req, body = None, b""
    try:
        while True:
            e = h.next_event()
            if isinstance(e, h11.Request):
                req = e
            elif isinstance(e, h11.Data):
                body += e.data
            elif isinstance(e, h11.EndOfMessage):
                assert req is not None
                return Seen(req.method, req.target, list(req.headers), body)
            elif e is h11.NEED_DATA or isinstance(e, h11.ConnectionClosed):
                return None
    except h11.RemoteProtocolError:
        return None


@pytest.mark.parametrize("name", list(CORPUS))
def test_conformance_with_h11(sidecar: Sidecar, upstream: RawUpstream, name: str) -> None:
    data = CORPUS[name]
    verdict = h11_verdict(data)
    mark = len(upstream.requests)
    answer = exchange(sidecar.listen, data)
    codes = statuses(answer)
    time.sleep(0.05)
    forwarded = upstream.requests[mark:]
    if name in LENIENT:
        assert codes, (name, LENIENT[name])  # answered (by the upstream's verdict), never dropped
        assert all(seen.body == b"ab" for seen in forwarded), name
        return
    if verdict is None:
        assert codes and 400 <= codes[0] < 500, (name, answer[:120])
        assert not forwarded, name
        return
    if name in STRICTER:
        assert codes and 400 <= codes[0] < 500 and not forwarded, (name, STRICTER[name])
        return
    assert codes == [200], (name, answer[:200])
    (seen,) = forwarded
    assert (seen.method, seen.target, seen.body) == (verdict.method, verdict.target, verdict.body), name
    framing = {b"content-length", b"transfer-encoding"}
    assert [h for h in seen.headers if h[0] not in framing] == [h for h in verdict.headers if h[0] not in framing]
