"""The signal catalog (rules/signals/*.yaml): every file validates, and every signal's fixtures hold.

Each signal carries positive fixtures (tiny repositories, written from the vendor's documentation, on which it must
match) and negative ones (on which it must not). A positive fixture's ``expect`` names the levels the signal alone
gives a rubric test on that fixture, judged with the real automation model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlscore.detectors.signal_levels import judge, scan_commands
from mlscore.engine import build_context
from mlscore.facts.files import index_path
from mlscore.facts.repo import collect
from mlscore.models import Level
from mlscore.signals import SignalCatalog, load_signal_file, load_signals, scanner
from mlscore.signals.model import signal_json_schema

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = ROOT / "rules" / "signals"
UPDATE = os.environ.get("MLSCORE_UPDATE_GOLDENS") == "1"

CATALOG: SignalCatalog = load_signals()
CASES = [(s, kind, i, f) for s in CATALOG.signals for kind, fixtures in (("positive", s.positive),
                                                                           ("negative", s.negative))
         for i, f in enumerate(fixtures)]


def test_schema_is_current() -> None:
    expected = signal_json_schema()
    path = SIGNALS / "signal.schema.json"
    if UPDATE:
        path.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == expected, \
        "rules/signals/signal.schema.json is stale (MLSCORE_UPDATE_GOLDENS=1 to rewrite)"


def test_every_signal_file_validates_and_ids_are_unique() -> None:
    files = sorted(SIGNALS.glob("*.yaml"))
    assert files, "no signal files"
    for path in files:
        load_signal_file(path)
    assert len(CATALOG.by_id) == len(CATALOG.signals)
    prefixes = {s.id.split(".", 1)[0] for s in CATALOG.signals}
    assert len(prefixes) >= 1


def test_a_context_signal_must_be_required_by_another(tmp_path: Path) -> None:
    from mlscore.errors import InputError

    context = CATALOG.by_id["aws-codepipeline.deploy-staging-stage"]
    assert not context.informs and any(context.id in (*s.requires, *s.requires_anywhere) for s in CATALOG.signals)
    lone = tmp_path / "lone.yaml"
    lone.write_text(
        "tool: Lone\necosystem: other\nhomepage: https://example.org\nsignals:\n"
        "  - id: lone.context\n    title: A condition nobody needs\n"
        "    match: [{text: {pattern: staging}}]\n    references: [https://example.org/docs]\n"
        "    positive: [{files: {a.txt: staging}}]\n    negative: [{files: {a.txt: prod}}]\n", encoding="utf-8")
    with pytest.raises(InputError, match="lone.context: informs no test and no signal requires it"):
        SignalCatalog([("lone.yaml", load_signal_file(lone))])


def _hits(tmp_path: Path, signal, files: dict[str, str]):  # type: ignore[no-untyped-def]
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    ctx = build_context(collect(index_path(tmp_path)))
    # the whole catalog scans, as in an audit, so that `requires` between signals is honoured
    return ctx, [h for h in scanner().scan(ctx.facts, scan_commands(ctx)) if h.signal.id == signal.id]


@pytest.mark.parametrize(("signal", "kind", "number", "fixture"), CASES,
                         ids=[f"{s.id}-{k}{i}" for s, k, i, _f in CASES])
def test_fixture(tmp_path: Path, signal, kind: str, number: int, fixture) -> None:  # type: ignore[no-untyped-def]
    ctx, hits = _hits(tmp_path, signal, fixture.files)
    if kind == "negative":
        assert not hits, f"{signal.id} matched its negative fixture {number}: {[(h.path, h.line, h.text) for h in hits]}"
        return
    assert hits, f"{signal.id} did not match its positive fixture {number}"
    for rule_id, expected in fixture.expect.items():
        assert rule_id in signal.informs, f"{signal.id}: expect names {rule_id}, which the signal does not inform"
        levels = [o.level for h in hits if (o := judge(ctx, h, rule_id)) is not None]
        got = max(levels, key=lambda lv: lv.rank, default=Level.NONE)
        assert got.value == expected, f"{signal.id} fixture {number}: {rule_id} is {got.value}, expected {expected}"


def test_coverage_page_is_current() -> None:
    from mlscore.commands.signals import render_coverage

    page = ROOT / "docs" / "coverage.md"
    expected = render_coverage(CATALOG)
    if UPDATE:
        page.write_text(expected, encoding="utf-8")
    assert page.read_text(encoding="utf-8") == expected, \
        "docs/coverage.md is stale: mlscore signals --format coverage -o docs/coverage.md"


def test_signals_command(capsys: pytest.CaptureFixture[str]) -> None:
    from mlscore.cli import main

    assert main(["signals", "--select", "MODEL6"]) == 0
    out = capsys.readouterr().out
    assert "tfma.slicing-spec" in out and "tfma.value-threshold" not in out
    assert main(["signals", "--format", "json", "--tool", "python"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {i["id"] for i in items} >= {"tfma.slicing-spec", "tfma.value-threshold"}
    assert main(["signals", "--select", "NOPE"]) == 2
    assert "unknown rule or prefix 'NOPE'" in capsys.readouterr().err


def test_catalog_patterns_are_linear_time() -> None:
    """RE2 refuses lookaround and backreferences, so a catalog pattern cannot backtrack on repository text."""
    from pydantic import ValidationError

    from mlscore.signals.model import TextMatch

    with pytest.raises(ValidationError, match="linear-time"):
        TextMatch(pattern=r"(a+)+\1")
    with pytest.raises(ValidationError, match="linear-time"):
        TextMatch(pattern=r"(?<!x)y")


def test_signal_dirs_from_config_add_signals_and_the_tree_cannot(tmp_path: Path) -> None:
    from mlscore.engine import run_audit
    from mlscore.errors import InputError

    own = tmp_path / "signals"
    own.mkdir()
    (own / "acme.yaml").write_text(
        "tool: ACME drift service\necosystem: other\nhomepage: https://example.com/acme\nsignals:\n"
        "  - id: acme.drift-job\n    title: The ACME drift job checks served inputs on a schedule\n"
        "    match:\n      - python: {calls: [acme_drift.schedule_check]}\n"
        "    informs: {MON2: {automated: always}}\n    references: [https://example.com/acme/docs]\n"
        "    positive: [{files: {m.py: 'import acme_drift\\nacme_drift.schedule_check(cron=\"@daily\")\\n'}}]\n"
        "    negative: [{files: {m.py: 'import acme_drift\\n'}}]\n", encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "monitor.py").write_text('import acme_drift\nacme_drift.schedule_check(cron="@daily")\n', encoding="utf-8")
    config = tmp_path / "mlscore.toml"
    config.write_text(f'[tool.mlscore]\nsignal_dirs = ["{own}"]\n', encoding="utf-8")
    with_dir = run_audit(repo, config_file=config, overrides={"select": ("MON2",)})
    assert with_dir.results[0].level.value == "automated"
    assert with_dir.results[0].evidence[0].location.path == "monitor.py"
    # the audited tree's own config cannot add signals for itself (they decide the score)
    (repo / ".mlscore.toml").write_text(f'signal_dirs = ["{own}"]\n', encoding="utf-8")
    without = run_audit(repo, overrides={"select": ("MON2",)})
    assert without.results[0].level.value == "none"
    assert any("signal_dirs in the audited tree's own config is ignored" in d.message for d in without.diagnostics)
    (own / "broken.yaml").write_text("tool: x\nsignals: [1]\n", encoding="utf-8")
    scanner.cache_clear()  # the catalog is compiled once per process; a new process reads the new file
    with pytest.raises(InputError, match="broken.yaml"):
        run_audit(repo, config_file=config)
