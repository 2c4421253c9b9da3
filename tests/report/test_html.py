"""The HTML report: golden file, safety of untrusted text, and a real headless Chromium render."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

from mlscore.models import Evidence, Location, Report
from mlscore.report import RenderOptions, render
from mlscore.report.diff import compare

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

_spec = importlib.util.spec_from_file_location(
    "mlscore_tests_cdp", Path(__file__).parent / "cdp.py"
)
assert _spec and _spec.loader
cdp = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = cdp
_spec.loader.exec_module(cdp)


def _html(head: Report, base: Report) -> str:
    return render(head, "html", RenderOptions(diff=compare(base, head)))


def test_html_golden(head_report: Report, base_report: Report, golden) -> None:  # type: ignore[no-untyped-def]
    golden("report.html", _html(head_report, base_report))


def test_html_is_self_contained(head_report: Report, base_report: Report) -> None:
    page = _html(head_report, base_report)
    assert "<script" not in page
    assert not re.search(r"""\s(src|srcset|poster|data)\s*=""", page)
    assert not re.search(r"<link\b", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the CSP forbids any request, should a later edit add one
    # every link is to the audited repository at the audited commit, or an in-page anchor
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith(("#", "https://github.com/acme/churn-model/")), href
    assert (
        'href="https://github.com/acme/churn-model/blob/c0ffee1234567890abcdef1234567890abcdef12/tests/test_pipeline.py#L3"'
        in page
    )
    assert page.count("<svg") == 2  # section bars and the per-test matrix
    assert page.count('<tr id="') == 28


def test_html_escapes_untrusted_text(head_report: Report, base_report: Report) -> None:
    bad = Evidence(
        summary='<script>alert(1)</script>"',
        location=Location(path="javascript:alert(1)"),
        kind="doc",
    )
    results = tuple(
        r.model_copy(update={"evidence": (bad,), "rationale": "<img src=x onerror=alert(1)>"})
        if r.rule_id == "MON2"
        else r
        for r in head_report.results
    )
    page = render(head_report.model_copy(update={"results": results}), "html")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_html_without_remote_has_no_links(head_report: Report) -> None:
    target = head_report.target.model_copy(update={"web_url": None})
    page = render(head_report.model_copy(update={"target": target}), "html")
    assert [h for h in re.findall(r'href="([^"]*)"', page) if not h.startswith("#")] == []


@pytest.mark.integration
def test_html_renders_in_headless_chromium(
    head_report: Report, base_report: Report, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    binary = cdp.find_chromium()
    if binary is None:
        if os.environ.get("MLSCORE_REQUIRE_INTEGRATION") == "1":
            pytest.fail(
                "chromium is not installed (apt-get install chromium) and MLSCORE_REQUIRE_INTEGRATION=1"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(_html(head_report, base_report), encoding="utf-8")
    with cdp.Browser(binary) as browser:
        session, _ = cdp.load_page(browser, page)
        dom = browser.send(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify({title: document.title, svgs: document.querySelectorAll('svg').length,"
                " rows: document.querySelectorAll('tr[id]').length, width: document.documentElement.scrollWidth,"
                " height: document.documentElement.scrollHeight,"
                " matrix: document.querySelectorAll('.matrix a').length})",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        shot = browser.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1280, "height": 900, "scale": 1},
            },
            session=session,
        )
        full = browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
        )
        events = list(browser.events)

    import json

    info = json.loads(dom)
    assert info["title"] == "ML Test Score 2 · churn-model"
    assert info["svgs"] == 2 and info["rows"] == 28 and info["matrix"] == 28
    assert info["width"] <= 1280  # no horizontal scrolling at a laptop width
    problems = [
        e
        for e in events
        if (
            e["method"] == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "warning", "assert")
        )
        or e["method"] == "Runtime.exceptionThrown"
        or (
            e["method"] == "Log.entryAdded"
            and e["params"]["entry"]["level"] in ("error", "warning")
        )
    ]
    assert problems == []
    requests = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    assert requests == [page.resolve().as_uri()]  # the page itself, nothing else
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-html-viewport.png").write_bytes(base64.b64decode(shot["data"]))
    (ARTIFACTS / "report-html-full.png").write_bytes(base64.b64decode(full["data"]))
    assert (ARTIFACTS / "report-html-full.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The README screenshot is refreshed with the goldens (PNG bytes vary by Chromium version, so not compared).
    if (
        request.config.getoption("--update-goldens", default=False)
        or os.environ.get("MLSCORE_UPDATE_GOLDENS") == "1"
    ):
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs" / "img" / "report.png").write_bytes(base64.b64decode(shot["data"]))
