"""Time budgets: a detector or extractor that runs too long is stopped, reported, and costs only its own tests."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mlscore import guard
from mlscore.config import Config, load_config
from mlscore.engine import run_audit
from mlscore.models import Level

pytestmark = pytest.mark.timeout(120)


def _spin() -> None:
    """Pure-Python work that never ends on its own."""
    n = 0
    while True:
        n += 1


def _project(root: Path) -> Path:
    files = {
        "src/model/train.py": "from sklearn.linear_model import LogisticRegression\n\n"
                              "def train(X, y):\n    return LogisticRegression().fit(X, y)\n",
        "tests/test_train.py": "from src.model.train import train\n\ndef test_train():\n    assert train\n",
        ".github/workflows/ci.yml": "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - uses: actions/checkout@v4\n      - run: pytest tests\n",
        "monitoring/alerts.yml": "groups:\n  - name: model\n    rules:\n      - alert: HighLatency\n"
                                 "        expr: histogram_quantile(0.99, rate(request_latency_seconds_bucket[5m])) > 1\n",
        "requirements.txt": "scikit-learn==1.4.2\n",
        "README.md": "# model\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- the guard itself ------------------------------------------------------------------------------------------


def test_a_pure_python_loop_is_interrupted_at_its_budget() -> None:
    started = time.monotonic()
    got = guard.run(_spin, seconds=0.3)
    elapsed = time.monotonic() - started
    assert got.overrun and not got.ok and got.error is None
    assert 0.25 <= elapsed < 2.0
    assert got.reason() == "stopped after its 0.3 s time budget"


def test_a_catastrophic_regular_expression_is_interrupted() -> None:
    started = time.monotonic()
    got = guard.run(lambda: re.search(r"(a+)+$", "a" * 40 + "b"), seconds=0.3)
    assert got.overrun and time.monotonic() - started < 2.0


def test_except_exception_in_the_guarded_code_cannot_swallow_the_stop() -> None:
    def stubborn() -> None:
        while True:
            try:
                _spin()
            except Exception:  # noqa: BLE001, S110 - what extractors do around each file
                pass

    assert guard.run(stubborn, seconds=0.2).overrun


def test_values_and_errors_come_back_and_the_previous_handler_and_timer_are_restored() -> None:
    fired: list[float] = []

    def previous(signum: int, frame: object) -> None:
        fired.append(time.monotonic())

    old = signal.signal(signal.SIGALRM, previous)
    old_timer = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)  # somebody else's timer, e.g. pytest-timeout's
        assert guard.run(lambda: 42, seconds=5).value == 42
        failed = guard.run(lambda: 1 / 0, seconds=5)
        assert failed.error_class == "ZeroDivisionError" and failed.reason() == "failed: ZeroDivisionError"
        assert guard.run(_spin, seconds=0.1).overrun
        assert signal.getsignal(signal.SIGALRM) is previous
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining < 0.6  # still armed, and not reset to its full length
        time.sleep(0.8)
        assert fired, "the displaced timer never fired"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if old_timer[0]:
            signal.setitimer(signal.ITIMER_REAL, *old_timer)


def test_budgets_nest_and_the_outer_one_wins_when_it_runs_out_first() -> None:
    inner_result: list[object] = []

    def outer_work() -> None:
        inner_result.append(guard.run(_spin, seconds=30))  # never gets here: the outer budget ends first

    started = time.monotonic()
    outer = guard.run(outer_work, seconds=0.3)
    assert outer.overrun and not inner_result and time.monotonic() - started < 2.0

    def short_inner() -> bool:
        return guard.run(_spin, seconds=0.2).overrun

    assert guard.run(short_inner, seconds=30).value is True


def test_off_the_main_thread_the_budget_is_cooperative() -> None:
    out: dict[str, object] = {}

    def worker() -> None:
        out["interrupts"] = guard.interrupts()

        def loop() -> None:
            while True:
                guard.check()  # what the extractors' file loops and RepoFacts.grep do

        started = time.monotonic()
        out["overrun"] = guard.run(loop, seconds=0.2).overrun
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert out["interrupts"] is False and out["overrun"] is True and out["seconds"] < 2.0  # type: ignore[operator]


# -- budgets in an audit ----------------------------------------------------------------------------------------


def test_a_slow_detector_is_stopped_and_its_test_reported_incomplete(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore import detectors

    def slow(ctx: object, params: dict[str, object]) -> None:
        _spin()

    root = _project(tmp_path / "repo")
    baseline = run_audit(root, config=Config())
    monkeypatch.setitem(detectors.DETECTORS, "model3", slow)
    started = time.monotonic()
    report = run_audit(root, config=Config(detector_budget=0.5))
    assert time.monotonic() - started < 15
    model3 = report.result("MODEL3")
    assert model3 is not None and model3.incomplete == "detector model3 stopped after its 0.5 s time budget"
    assert model3.level is Level.NONE and model3.rationale.startswith("not decided: ")
    assert any(d.message.startswith("MODEL3: detector model3 stopped after its 0.5 s time budget")
               and d.severity == "error" for d in report.diagnostics)
    others = [r for r in report.results if r.rule_id != "MODEL3"]
    assert len(others) == 27 and not any(r.incomplete for r in others)
    for r in others:  # every other result stands, exactly as without the slow detector
        before = baseline.result(r.rule_id)
        assert before is not None and (r.level, r.evidence) == (before.level, before.evidence), r.rule_id


def test_a_slow_extractor_is_stopped_and_only_the_tests_reading_its_facts_are_incomplete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore.facts import monitoring

    def slow(files: object, read: object) -> None:
        _spin()

    monkeypatch.setattr(monitoring, "extract_monitoring", slow)
    root = _project(tmp_path / "repo")
    started = time.monotonic()
    report = run_audit(root, config=Config(extractor_budget=0.5))
    assert time.monotonic() - started < 15
    assert any(d.message == "facts: the monitoring extractor stopped after its 0.5 s time budget; its facts are "
               "missing" and d.severity == "error" for d in report.diagnostics)
    incomplete = {r.rule_id: r.incomplete for r in report.results if r.incomplete}
    assert incomplete, "no test reads the monitoring facts?"
    assert set(incomplete.values()) == {"the monitoring extractor stopped after its 0.5 s time budget"}
    assert all(rid.startswith("MON") for rid in incomplete), incomplete  # only monitoring detectors read them
    assert len(report.results) == 28


def test_budgets_come_from_a_config_file_passed_on_the_command_line_not_from_the_audited_tree(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "repo")
    (root / ".mlscore.toml").write_text("detector_budget = 3600\nextractor_budget = 0\naudit_budget = 0\n")
    own = load_config(root)
    assert (own.detector_budget, own.extractor_budget) == (guard.DEFAULT_DETECTOR_SECONDS,
                                                            guard.DEFAULT_EXTRACTOR_SECONDS)
    assert {n.message.split(" in ")[0] for n in own.notes} == {"detector_budget", "extractor_budget",
                                                                "audit_budget"}
    mine = tmp_path / "ci.toml"
    mine.write_text("detector_budget = 2.5\nextractor_budget = 40\naudit_budget = 600\n")
    passed = load_config(root, config_file=mine)
    assert (passed.detector_budget, passed.extractor_budget, passed.audit_budget) == (2.5, 40, 600)


def test_shared_facts_are_computed_once_under_their_own_budget(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore import detectors
    from mlscore.detectors.common import Outcome

    calls: list[str] = []

    def shared_slowly() -> str:
        calls.append("computed")
        time.sleep(0.8)  # longer than a detector's budget, shorter than the shared budget
        return "facts"

    def asks(ctx: Any, params: dict[str, object]) -> Outcome:
        assert ctx.memo("slow_but_fine", shared_slowly) == "facts"
        return Outcome(Level.MANUAL, rationale="used the shared facts")

    monkeypatch.setitem(detectors.DETECTORS, "data1", asks)
    monkeypatch.setitem(detectors.DETECTORS, "data2", asks)
    report = run_audit(_project(tmp_path / "repo"), config=Config(select=("DATA1", "DATA2"), detector_budget=0.5,
                                                                  extractor_budget=5))
    assert calls == ["computed"]  # once, and not charged to DATA1, which asked first
    assert [(r.rule_id, r.level, r.incomplete) for r in report.results] == [
        ("DATA1", Level.MANUAL, None), ("DATA2", Level.MANUAL, None)]


def test_shared_facts_that_run_out_of_time_are_not_recomputed_by_every_detector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore import detectors

    calls: list[str] = []

    def endless() -> None:
        calls.append("started")
        _spin()

    def asks(ctx: Any, params: dict[str, object]) -> None:
        ctx.memo("endless", endless)

    for name in ("data1", "data2", "data3"):
        monkeypatch.setitem(detectors.DETECTORS, name, asks)
    started = time.monotonic()
    report = run_audit(_project(tmp_path / "repo"), config=Config(select=("DATA1", "DATA2", "DATA3"),
                                                                  detector_budget=5, extractor_budget=0.5))
    assert time.monotonic() - started < 4 and calls == ["started"]
    reason = "shared facts 'endless' stopped after its 0.5 s time budget"
    assert [r.incomplete for r in report.results] == [f"detector {n} needs {reason}" for n in ("data1", "data2",
                                                                                                "data3")]
    assert [d.message for d in report.diagnostics if d.severity == "error"] == [
        f"facts: {reason}; the tests that need them are incomplete"]


def test_the_audit_budget_bounds_the_whole_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlscore import detectors

    def slow(ctx: object, params: dict[str, object]) -> None:
        _spin()

    monkeypatch.setitem(detectors.DETECTORS, "data2", slow)
    started = time.monotonic()
    report = run_audit(_project(tmp_path / "repo"), config=Config(detector_budget=30, audit_budget=1.0))
    assert time.monotonic() - started < 5
    by_id = {r.rule_id: r.incomplete for r in report.results}
    assert len(by_id) == 28
    assert by_id["DATA1"] is None  # it ran before the budget was spent
    assert by_id["DATA2"] == "detector data2 stopped: the audit's time budget ran out"
    later = [rid for rid in by_id if rid not in ("DATA1", "DATA2")]
    assert all(by_id[rid] == f"detector {rid.lower()} not run: the audit's time budget ran out" for rid in later)
    assert guard.run(lambda: 1, seconds=5).ok  # the ceiling ends with the audit


def test_a_ceiling_caps_every_budget_inside_it() -> None:
    with guard.ceiling(0.3):
        started = time.monotonic()
        got = guard.run(_spin, seconds=30)
        assert got.overrun and got.capped and time.monotonic() - started < 2
        after = guard.run(lambda: 1, seconds=30)
        assert after.overrun and after.reason() == "not run: the audit's time budget ran out"
    assert guard.run(lambda: 1, seconds=30).value == 1
