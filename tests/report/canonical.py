"""A canonical audit report built by hand (fixed clock, version and commits) for golden tests."""

from __future__ import annotations

from mlscore.models import (
    Attestation,
    Diagnostic,
    Evidence,
    Level,
    Location,
    Report,
    RuleResult,
    Score,
    Section,
    SectionScore,
    Status,
    Target,
)

def _titles() -> dict[str, str]:
    """The paper's short titles, from the rule catalog (the one place they are kept)."""
    from mlscore.catalog import load_catalog

    return {rule.id: rule.title for rule in load_catalog()}


TITLES = _titles()

BANDS = [
    (0.0, "0", "More of a research project than a productionized system."),
    (
        1.0,
        "(0, 1]",
        "Not totally untested, but it is worth considering the possibility of serious holes in reliability.",
    ),
    (
        2.0,
        "(1, 2]",
        "There's been first pass at basic productionization, but additional investment may be needed.",
    ),
    (
        3.0,
        "(2, 3]",
        "Reasonably tested, but it's possible that more of those tests and procedures may be automated.",
    ),
    (
        5.0,
        "(3, 5]",
        "Strong levels of automated testing and monitoring, appropriate for mission-critical systems.",
    ),
    (7.0, "> 5", "Exceptional levels of automated testing and monitoring."),
]

POINTS = {Level.NONE: 0.0, Level.MANUAL: 0.5, Level.AUTOMATED: 1.0}
CI = ".github/workflows/ci.yml"


def ev(
    summary: str,
    path: str | None,
    line: int | None = None,
    *,
    level: Level = Level.MANUAL,
    kind: str = "code",
    trigger: str | None = None,
) -> Evidence:
    return Evidence(
        summary=summary,
        location=Location(path=path, line=line) if path else None,
        level=level,
        kind=kind,  # type: ignore[arg-type]
        trigger=trigger,
    )


def result(
    rule_id: str,
    level: Level,
    rationale: str,
    next_step: str = "",
    *evidence: Evidence,
    **extra: object,
) -> RuleResult:
    return RuleResult(
        rule_id=rule_id,
        section=Section.of_rule(rule_id),
        title=TITLES[rule_id],
        level=level,
        points=POINTS[level],
        evidence=tuple(evidence),
        rationale=rationale,
        next_step=next_step if level != Level.AUTOMATED else "",
        **extra,  # type: ignore[arg-type]
    )


def score_of(results: list[RuleResult]) -> Score:
    sections = []
    for section in Section:
        rs = [r for r in results if r.section == section]
        sections.append(
            SectionScore(
                section=section,
                points=sum(r.points for r in rs),
                max_points=7.0,
                automated=sum(r.level == Level.AUTOMATED for r in rs),
                manual=sum(r.level == Level.MANUAL for r in rs),
                none=sum(r.level == Level.NONE for r in rs),
            )
        )
    value = min(s.points for s in sections)
    band, text = next((b, t) for upper, b, t in BANDS if value <= upper)
    return Score(
        value=value,
        band=band,
        band_text=text,
        sections=tuple(sections),
        weakest=tuple(s.section for s in sections if s.points == value),
    )


def _results(head: bool) -> list[RuleResult]:
    A, M, N = Level.AUTOMATED, Level.MANUAL, Level.NONE
    push = f"{CI}:9 (push, pull_request)"
    out = [
        result(
            "DATA1",
            A,
            "A schema is validated by a test that CI runs.",
            "",
            ev(
                "pandera schema for training features",
                "src/churn/schema.py",
                8,
                level=A,
                trigger=push,
            ),
            ev(
                "test_schema validates training data",
                "tests/test_schema.py",
                5,
                level=A,
                kind="test",
                trigger=push,
            ),
        ),
        result(
            "DATA2",
            M,
            "An executed notebook compares feature importances.",
            "Run the feature-importance analysis in CI and fail on features with no benefit.",
            ev(
                "executed notebook with permutation importances",
                "notebooks/features.ipynb",
                kind="notebook",
            ),
        ),
        result(
            "DATA3",
            N,
            "No measurement of feature cost was found.",
            "Record per-feature latency and memory cost, e.g. in a benchmark run by CI.",
            human_only=False,
        ),
        result(
            "DATA4",
            A,
            "A test asserts that banned columns are not used as features.",
            "",
            ev(
                "assert 'age' not in FEATURES",
                "tests/test_features.py",
                21,
                level=A,
                kind="test",
                trigger=push,
            ),
        ),
        result(
            "DATA5",
            N,
            "Only people can vouch for privacy controls.",
            "Add an attestation under [tool.mlscore.attestations] with owner, date and link.",
            human_only=True,
        ),
        result(
            "DATA6",
            N,
            "Only people can vouch for the time to add a feature.",
            "Add an attestation under [tool.mlscore.attestations] with owner, date and link.",
            human_only=True,
        ),
        result(
            "DATA7",
            A,
            "Feature code has unit tests that CI runs.",
            "",
            ev(
                "tests for churn.features",
                "tests/test_features.py",
                1,
                level=A,
                kind="test",
                trigger=push,
            ),
        ),
        result(
            "MODEL1",
            A,
            "Model code is in git and pull requests are reviewed.",
            "",
            ev(
                "CODEOWNERS requires review of src/churn/",
                ".github/CODEOWNERS",
                1,
                level=A,
                kind="config",
            ),
        ),
        result(
            "MODEL2",
            N,
            "Only people can vouch for offline/online metric correlation.",
            "Run a small A/B test with a degraded model and record the result as an attestation.",
            human_only=True,
        ),
        result(
            "MODEL3",
            M,
            "A grid search exists but nothing runs it.",
            "Schedule the hyperparameter search (e.g. a weekly CI job).",
            ev("GridSearchCV over C and penalty", "src/churn/tune.py", 14),
        ),
        result(
            "MODEL4",
            N,
            "No staleness analysis was found.",
            "Compare the current model with older ones and record the quality-by-age curve.",
        ),
        result(
            "MODEL5",
            A,
            "Training compares the model with a DummyClassifier baseline in CI.",
            "",
            ev(
                "baseline comparison in test_train",
                "tests/test_train.py",
                30,
                level=A,
                kind="test",
                trigger=push,
            ),
        ),
        result(
            "MODEL6",
            M,
            "A slice report is committed.",
            "Turn the slice report into a test with thresholds that CI runs.",
            ev("per-country metrics", "reports/slices.md", 1, kind="doc"),
            status=Status.FAILING,
        ),
        result(
            "MODEL7",
            N,
            "No fairness or inclusion check was found.",
            "Slice predictions by protected group and test the gap (e.g. fairlearn MetricFrame).",
        ),
        result(
            "INFRA1",
            M,
            "Seeds are fixed in training code.",
            "Add a CI test that trains twice and compares predictions.",
            ev("random_state=42 passed to the model", "src/churn/train.py", 22),
        ),
        result(
            "INFRA2",
            A,
            "Model code is unit tested in CI.",
            "",
            ev(
                "test_fit_reduces_loss",
                "tests/test_train.py",
                12,
                level=A,
                kind="test",
                trigger=push,
            ),
        ),
        result(
            "INFRA3",
            M,
            "An end-to-end pipeline test exists, but no CI job runs it.",
            "Run tests/test_pipeline.py from CI on every pull request.",
            ev(
                "pipeline test from raw data to predictions",
                "tests/test_pipeline.py",
                3,
                kind="test",
            ),
        ),
        result(
            "INFRA4",
            N,
            "No quality gate before serving was found.",
            "Add a step that blocks deployment when the new model is worse than the previous one.",
        ),
        result(
            "INFRA5",
            M,
            "A notebook steps through a single prediction.",
            "Add a test that runs one example through the model and checks intermediate outputs.",
            ev(
                "executed notebook inspecting one example", "notebooks/debug.ipynb", kind="notebook"
            ),
        ),
        result(
            "INFRA6",
            N,
            "No canary rollout was found.",
            "Use a canary rollout (Argo Rollouts, Flagger or KServe canaryTrafficPercent).",
        ),
        result(
            "INFRA7",
            M,
            "A documented rollback procedure exists.",
            "Automate rollback (e.g. keep the previous model version deployable by one command in CI).",
            ev("rollback runbook", "docs/runbook.md", 40, kind="doc"),
        ),
        result(
            "MON1",
            A,
            "Dependabot opens pull requests for dependency updates.",
            "",
            ev("dependabot updates for pip", ".github/dependabot.yml", 3, level=A, kind="config"),
        ),
        result(
            "MON2",
            N,
            "No input invariant monitoring was found.",
            "Deploy the mlscore sidecar, or an alert rule on input schema violations.",
        ),
        result(
            "MON3",
            N,
            "No training/serving skew check was found.",
            "Log serving features and compare them with the training pipeline's output (mlscore data skew).",
        ),
        result(
            "MON4",
            N,
            "No alert on model age was found.",
            "Export the model's training time as a metric and alert when it is too old.",
        ),
        result(
            "MON5",
            N,
            "No NaN or infinity alerting was found.",
            "Alert on NaN/inf in predictions (the sidecar exports mlscore_nonfinite_predictions_total).",
        ),
        result(
            "MON6",
            M,
            "A latency dashboard is committed.",
            "Add a Prometheus alert rule on serving latency.",
            ev(
                "Grafana dashboard with p95 latency",
                "deploy/grafana/serving.json",
                kind="monitoring",
            ),
        ),
        result(
            "MON7",
            N,
            "No prediction-quality monitoring was found.",
            "Monitor prediction bias against labels as they arrive, with an alert rule.",
        ),
    ]
    if head:
        by_id = {r.rule_id: r for r in out}
        by_id["INFRA3"] = result(
            "INFRA3",
            A,
            "CI runs the end-to-end pipeline test on every pull request.",
            "",
            ev(
                "pipeline test from raw data to predictions",
                "tests/test_pipeline.py",
                3,
                level=A,
                kind="test",
                trigger=f"{CI}:14 (push, pull_request)",
            ),
        )
        attestation = Attestation(
            rule="MON3",
            owner="ana@example.org",
            date="2026-01-20",
            link="https://wiki.example.org/skew-review",
            source="pyproject.toml [tool.mlscore.attestations.MON3]",
        )
        by_id["MON3"] = result(
            "MON3",
            M,
            "Attested: a quarterly manual skew review.",
            "Automate the skew check: log serving features and compare them in a scheduled job.",
            ev(
                "attestation by ana@example.org, 2026-01-20",
                "pyproject.toml",
                31,
                kind="attestation",
            ),
            attestation=attestation,
        )
        by_id["MODEL3"] = result(
            "MODEL3",
            M,
            "A grid search exists but nothing runs it.",
            "Schedule the hyperparameter search (e.g. a weekly CI job).",
            ev("GridSearchCV over C and penalty", "src/churn/tune.py", 18),
        )
        out = list(by_id.values())
    return out


def canonical_report(*, head: bool = True) -> Report:
    """The head (or base) report of the canonical project; head gains INFRA3 (automated) and MON3 (attested)."""
    results = _results(head)
    return Report(
        version="0.1.0",
        generated_at="2026-02-01T12:00:00Z",
        target=Target(
            path=".",
            name="churn-model",
            commit=("c0ffee" if head else "ba5e00") + "1234567890abcdef1234567890abcdef12",
            ref="refs/pull/7/merge" if head else "main",
            remote_url="https://github.com/acme/churn-model.git",
            web_url="https://github.com/acme/churn-model",
            files=57,
        ),
        config_digest="sha256:5d41402abc4b2a76b9719d911017c592",
        selected=tuple(TITLES),
        score=score_of(results),
        results=tuple(results),
        diagnostics=(
            Diagnostic(path="notebooks/old.ipynb", message="not valid JSON (line 3): skipped"),
        ),
    )
