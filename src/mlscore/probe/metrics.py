"""Find a model server's Prometheus endpoint and classify the serving metrics it exposes."""

from __future__ import annotations

import math
import re
import urllib.parse
from dataclasses import dataclass, field

from mlscore.probe.adapters import Adapter
from mlscore.probe.http import HttpClient, TransportError

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LATENCY = re.compile(r"(duration|latency|_seconds|_us$|_ms$|time)", re.IGNORECASE)
_REQUESTS = re.compile(r"(request|infer|predict|inference|http_requests)", re.IGNORECASE)
_ERRORS = re.compile(r"(fail|error|5xx|exception)", re.IGNORECASE)
_MEMORY = re.compile(r"(resident_memory|memory_bytes|rss)", re.IGNORECASE)


@dataclass
class MetricsScrape:
    """One scrape: where, which families, their sample totals, and the serving ones by kind."""

    url: str | None
    tried: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    latency: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    memory: list[str] = field(default_factory=list)


def parse_exposition(text: str, max_lines: int = 200_000) -> tuple[dict[str, str], dict[str, float]]:
    """Family name -> type, and family name -> sum of its samples (``_total``/``_count`` folded in)."""
    families: dict[str, str] = {}
    totals: dict[str, float] = {}
    for i, line in enumerate(text.splitlines()):
        if i >= max_lines:
            break
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families[parts[2]] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name = match.group(1)
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        family = name
        for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
            if name.endswith(suffix) and name[: -len(suffix)] in families:
                family = name[: -len(suffix)]
                break
        families.setdefault(family, "untyped")
        if name.endswith(("_bucket", "_sum", "_created")) or not math.isfinite(value):
            continue
        totals[family] = totals.get(family, 0.0) + value
    return families, totals


def classify(scrape: MetricsScrape) -> None:
    for name, kind in sorted(scrape.families.items()):
        if name.endswith("_created") or name.startswith(
            ("python_gc", "python_info", "process_start", "process_max_fds", "process_open_fds")
        ):
            continue
        if _MEMORY.search(name):
            scrape.memory.append(name)
        elif _ERRORS.search(name) and _REQUESTS.search(name):
            scrape.errors.append(name)
        elif _LATENCY.search(name) and (kind in ("histogram", "summary") or _REQUESTS.search(name)):
            scrape.latency.append(name)
        elif _REQUESTS.search(name) and kind in ("counter", "untyped", "gauge"):
            scrape.requests.append(name)
    # a success/failure counter pair is both a request count and an error count
    for name in scrape.errors:
        if name not in scrape.requests:
            scrape.requests.append(name)


def candidate_urls(client: HttpClient, adapter: Adapter, explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    base = urllib.parse.urlsplit(client.base_url)
    urls = [client.url(p) for p in adapter.metrics_paths]
    ports = [client.port + off for off in adapter.metrics_port_offsets] + list(adapter.metrics_ports)
    for port in dict.fromkeys(ports):
        if port != client.port and 0 < port < 65536:
            urls.append(f"{base.scheme}://{base.hostname}:{port}/metrics")
    for path in ("/metrics", "/monitoring/prometheus/metrics"):
        url = client.url(path)
        if url not in urls:
            urls.append(url)
    return urls


def scrape_metrics(client: HttpClient, adapter: Adapter, explicit: str | None = None) -> MetricsScrape:
    """Try the usual metrics locations in order; the first text exposition with samples wins."""
    tried: list[str] = []
    for url in candidate_urls(client, adapter, explicit):
        try:
            resp = client.request("GET", url, timeout_s=min(client.timeout_s, 3.0))
        except TransportError as exc:
            tried.append(f"{url} ({exc.kind})")
            continue
        tried.append(f"{url} ({resp.status})")
        if not resp.ok:
            continue
        text = resp.body.decode("utf-8", "replace")
        if text.lstrip().startswith(("{", "[", "<")):
            continue
        families, totals = parse_exposition(text)
        if not families:
            continue
        scrape = MetricsScrape(url, tried, families, totals)
        classify(scrape)
        return scrape
    return MetricsScrape(None, tried)
