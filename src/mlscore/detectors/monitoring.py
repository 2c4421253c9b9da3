"""Detectors for the Monitoring section (MON1-MON7)."""

from __future__ import annotations

import re
from typing import Any

from mlscore.detectors.code import (
    HAND_RUN_RX,
    automated_run,
    function_at,
    is_serving_file,
    on_standard_path,
    serving_files,
)
from mlscore.detectors.common import (
    Context,
    Outcome,
    code_evidence,
    finish,
    hit_evidence,
)
from mlscore.detectors.data import _constrained_models, _schema_uses
from mlscore.facts.python import is_test_path
from mlscore.models import Evidence, Level, Location

SCHEDULED = ("ci_schedule", "schedule")


def _alerts(ctx: Context, category: str) -> list[Outcome]:
    """Alert rules whose expression concerns ``category`` (latency, errors, nonfinite, drift, prediction, age):
    automated when the tree also configures a notifier, else a threshold a person must look at (C13)."""
    out = []
    mon = ctx.monitoring
    notifies = bool(getattr(mon, "notifies", False))
    level = Level.AUTOMATED if notifies else Level.MANUAL
    for alert in getattr(mon, "alerts", ()) if mon is not None else ():
        cats = getattr(alert, "categories", ())
        if category in cats:
            what = category.replace('_', ' ')
            out.append(Outcome(level, [Evidence(summary=f"alert rule {alert.name}: {alert.expr[:80]}",
                                                location=Location(path=alert.path, line=alert.line),
                                                level=level, kind="monitoring")],
                               f"an alert rule fires on {what} and the tree routes alerts to a notifier" if notifies
                               else f"an alert rule fires on {what}, but nothing in the tree notifies anyone when it "
                                    "fires, so a person must watch for it (LABELING.md C13)"))
    return out


def _sidecar(ctx: Context) -> Evidence | None:
    for m in ctx.manifests:
        if getattr(m, "mlscore_sidecar", False):
            return Evidence(summary="mlscore sidecar deployed beside the model server",
                            location=Location(path=m.path, line=m.line), level=Level.AUTOMATED, kind="sidecar")
    return None


SPLIT_DATA_RX = re.compile(r"(?i)(^|[/_.-])(train|test|valid|validation|holdout|eval|dev)(_?set|_?split)?[/_.-]")
SERVED_DATA_RX = re.compile(r"(?i)serv|prod|live|infer|request|logged|logs?/|current|latest|online|traffic|payload")


def _current_is_served(text: str) -> bool:
    """Whether a `--current X` argument names served data rather than a split of the training data."""
    m = re.search(r"--current[=\s]+(\S+)", text)
    if m is None:
        return True
    value = m.group(1)
    return bool(SERVED_DATA_RX.search(value)) or not SPLIT_DATA_RX.search(value)


def _scheduled_data_check(ctx: Context, rx: str) -> list[Outcome]:
    """`mlscore data check` or a drift tool run by CI or a scheduler on served data: automated on a schedule,
    manual when it runs only on the team's pushes (LABELING.md G6)."""
    out = []
    for text, run in ctx.automation.invocations:
        if not re.search(rx, text) or (run.swallowed and not run.surfaced) or not _current_is_served(text):
            continue
        level = Level.AUTOMATED if run.scheduled else Level.MANUAL
        out.append(Outcome(level, [Evidence(summary=f"{'scheduled ' if run.scheduled else ''}check: {text[:90]}",
                                            location=run.location, level=level, kind="schedule" if run.scheduled else "ci",
                                            trigger=run.describe())],
                           "a scheduled job checks it and fails or alerts" if run.scheduled else
                           "CI checks it, but only when the team pushes, so changes between pushes go unnoticed"))
    return out


def _current_data_is_served(py: Any) -> bool:
    """Whether the data a drift report calls 'current' is read from served inputs (logs, exports, requests)."""
    text = "\n".join(py.lines)
    names = set(re.findall(r"current_data\s*=\s*([A-Za-z_]\w*)", text)) | set(
        re.findall(r"(?:validate_statistics|generate_statistics_from_\w+)\(\s*([A-Za-z_]\w*)", text))
    for name in names:
        for m in re.finditer(rf"(?m)^[ \t]*{re.escape(name)}\s*=\s*(.+)$", text):
            source = m.group(1)
            if SERVED_DATA_RX.search(source) and not SPLIT_DATA_RX.search(source):
                return True
    return False


GATE_RX = re.compile(r"(?m)(return\s+0\s+if\s+.*\s+else\s+1|return\s+1\s+if|sys\.exit\(|raise\s+\w*(Error|Exception)|"
                     r"\bassert\s+\w)")


def _scheduled_scripts(ctx: Context, path_rx: str, content_rx: str) -> list[Outcome]:
    """Scripts matching ``path_rx`` whose code matches ``content_rx`` and fails on a threshold: automated when
    a schedule runs them (G6a), manual when only pushes do (or nothing does)."""
    out = []
    prx, crx = re.compile(path_rx), re.compile(content_rx)
    for path in ctx.facts.python_paths:
        if not prx.search(path) or re.search(r"(^|/)tests?/", path):
            continue
        text = ctx.facts.texts[path]
        if not crx.search(text) or not GATE_RX.search(text):
            continue
        for run in ctx.automation.effective(path):
            level = Level.AUTOMATED if run.scheduled else Level.MANUAL
            out.append(Outcome(level, [Evidence(summary=f"runs {path}", location=run.location, level=level,
                                                kind="schedule" if run.scheduled else "ci", trigger=run.describe())],
                               "a scheduled job measures it and fails on a threshold" if run.scheduled else
                               "CI measures it against a threshold, but only when the team pushes"))
            if run.scheduled:
                break
    return out


def _hand_run_drift(ctx: Context) -> list[Outcome]:
    """A drift or data-quality report on served data that a person runs (a script or a notebook)."""
    out = []
    drift_rx = r"(^|\.)(DataDriftPreset|DataDriftTable|DataQualityPreset|validate_statistics|generate_statistics_from_\w+)$"
    for py, call in ctx.calls(drift_rx, prefilter=r"DataDrift|DataQuality|validate_statistics|tfdv",
                              literals=("datadrift", "dataquality", "validate_statistics", "tfdv")):
        if not _current_data_is_served(py):
            continue  # comparing the training split with the test split is not monitoring (LABELING.md MON2)
        out.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"drift of served inputs checked by hand: "
                                                                       f"{call.name}")],
                           "a person runs a drift check of served inputs against the training data"))
        break
    return out


#: Two-sample tests and divergences that compare a current sample of a feature with a reference sample.
DRIFT_TEST_RX = re.compile(r"(^|\.)(ks_2samp|chisquare|chi2_contingency|wasserstein_distance|jensenshannon|"
                           r"anderson_ksamp|mannwhitneyu|energy_distance|\w*population_stability_index|\w*psi)$")
_SERVED_WORDS_RX = re.compile(r"(?i)inference|serving|served|production|prod_|request|live_|predictions?_log|online")
_TRAINING_WORDS_RX = re.compile(r"(?i)train|reference|baseline")


def _served_drift_tests(ctx: Context, *, skew: bool) -> list[Outcome]:
    """Code that compares served inputs (an inference log, production data) with a reference sample by a
    two-sample test and a threshold: drift of serving inputs (MON2), and skew when the reference is the training
    data (MON3, LABELING.md §3 #29). Automated when a schedule runs it (G6a), manual otherwise; comparing the
    training split with the test split is neither."""
    out: list[Outcome] = []
    for py, call in ctx.calls(DRIFT_TEST_RX, prefilter=r"ks_2samp|chisquare|chi2_contingency|wasserstein|jensenshannon|"
                                                       r"anderson_ksamp|mannwhitneyu|energy_distance|psi",
                              literals=("ks_2samp", "chisquare", "chi2_contingency", "wasserstein", "jensenshannon",
                                        "anderson_ksamp", "mannwhitneyu", "energy_distance", "psi")):
        if py.cell_of_line is not None:
            continue  # a notebook analysis; served-data checks there are found by the catalog
        text = "\n".join(py.lines)
        if not _SERVED_WORDS_RX.search(text) or not re.search(r"(?i)threshold|p_?value\s*[<>]|alpha|drift", text):
            continue  # a train/test comparison or an analysis with no verdict
        if skew and not _TRAINING_WORDS_RX.search(text):
            continue
        runs = [r for r in ctx.automation.effective(py.path, imports=True) if r.scheduled]
        level = Level.AUTOMATED if runs else Level.MANUAL
        what = "served inputs compared with the training data" if skew else "served inputs compared with a reference"
        out.append(Outcome(level, [code_evidence(py, call.line, f"{what}: {call.name}", level,
                                                 runs[0] if runs else None)],
                           f"{what} by a statistical test with a threshold"
                           + (", on a schedule" if runs else ", when someone runs it")))
        if runs:
            break
    return out


# -- MON1: dependency changes notify ------------------------------------------------------------------

#: Installing the project's dependencies as they are today (not from a lock or hashes).
INSTALL_RX = re.compile(r"\b(pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install\b|\bconda\s+(env\s+(create|update)|install)\b|"
                        r"\bmamba\s+(env\s+create|install)\b|\bpoetry\s+(update|add)\b|\buv\s+(lock\s+--upgrade|sync\s+--upgrade)")
LOCKED_INSTALL_RX = re.compile(r"--require-hashes|--frozen|--locked|--no-deps|\bpip-sync\b|\bpipenv\s+sync\b|"
                               r"\bconda-lock\s+install\b|-c\s+\S*constraints|--constraint")
#: Steps that tell people: an issue opened, a chat or mail message (actions or commands).
NOTIFY_USES_RX = re.compile(r"(?i)issue|slack|teams|discord|mattermost|telegram|mail|notif|pagerduty|opsgenie|webhook")


def _installs_only_tools(command: str) -> bool:
    """`pip install --upgrade pip setuptools wheel`: the installer's own tools, not the project's dependencies."""
    m = re.search(r"install\s+(.*)", command)
    words = [w for w in (m.group(1) if m else "").split() if not w.startswith("-")]
    return bool(words) and all(re.match(r"(pip|setuptools|wheel|uv|pipx|poetry|build|twine)([<>=!~].*)?$", w)
                               for w in words)


def _all_pinned(ctx: Context, command: str, run: Any) -> bool:
    """Whether every requirements file the install names pins every package exactly: a scheduled build from
    pinned requirements notices no upstream change (LABELING.md MON1 not evidence)."""
    files = re.findall(r"(?:-r|--requirement)[ =]+(\S+)", command)
    if not files or ctx.deps is None:
        return False
    base = run.location.path.rsplit("/", 1)[0] + "/" if "/" in run.location.path else ""
    for name in files:
        candidates = {name.lstrip("./"), (base + name).lstrip("./")}
        packages = [p for p in getattr(ctx.deps, "packages", ()) if p.file in candidates]
        if not packages or not all(p.pinned for p in packages):
            return False
    return True


def _scheduled_dependency_builds(ctx: Context) -> list[Outcome]:
    """A scheduled CI run that installs today's dependencies (not a lock) and notifies people when it fails: it
    notices upstream changes between the team's pushes (LABELING.md MON1 '1'); without a notification step in the
    tree the red run waits for someone to look (0.5, G6)."""
    installs = [(text, run) for text, run in (*ctx.automation.setup, *ctx.automation.invocations)
                if run.scheduled and INSTALL_RX.search(text) and not LOCKED_INSTALL_RX.search(text)
                and not (run.swallowed and not run.surfaced) and not _all_pinned(ctx, text, run)
                and not _installs_only_tools(text)]
    def workflow(run: Any) -> str:
        return (run.chain[0] if run.chain else str(run.location)).rsplit(":", 1)[0]

    # something in the same scheduled workflow must be able to fail on what was installed (tests, a build...)
    checked = {workflow(r) for t, r in ctx.automation.invocations
               if r.scheduled and not (r.swallowed and not r.surfaced) and not INSTALL_RX.search(t)}
    installs = [(t, r) for t, r in installs if workflow(r) in checked]
    if not installs:
        return []
    text, run = installs[0]
    files = {job.file for job in ctx.ci if "schedule" in getattr(job, "trigger_kinds", ())}
    notify = None
    for job in ctx.ci:
        if job.file not in files and job.file != run.location.path:
            continue
        for step in getattr(job, "steps", ()):
            uses = step.uses.name if getattr(step, "uses", None) is not None else ""
            if set(getattr(step, "surfaces", ())) & {"issue", "notification"} or (uses and NOTIFY_USES_RX.search(uses)):
                notify = Evidence(summary=f"a failed scheduled build notifies people: {uses or step.name or 'step'}",
                                  location=Location(path=job.file, line=step.line), level=Level.AUTOMATED, kind="ci")
                break
        if notify is not None:
            break
    install = Evidence(summary=f"scheduled build installs current dependencies: {text[:80]}", location=run.location,
                       level=Level.AUTOMATED if notify else Level.MANUAL, kind="ci", trigger=run.describe())
    if notify is not None:
        return [Outcome(Level.AUTOMATED, [install, notify],
                        "a scheduled build installs the current dependencies and notifies people when it breaks")]
    return [Outcome(Level.MANUAL, [install], "a scheduled build installs the current dependencies, but nothing in the "
                                              "tree notifies anyone when it breaks")]


def mon1(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    deps = ctx.deps
    for bot in getattr(deps, "bots", ()) if deps is not None else ():
        ecosystems = set(getattr(bot, "ecosystems", ()))
        runtime = ecosystems - {"github-actions", "gitsubmodule"}
        if runtime:
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(
                summary=f"{bot.tool} watches {', '.join(sorted(runtime))} dependencies",
                location=Location(path=bot.path, line=bot.line), level=Level.AUTOMATED, kind="config")],
                f"{bot.tool} notices upstream dependency changes on its own schedule"))
    scan = r"pip-audit|safety\s+check|safety\s+scan|trivy|snyk|osv-scanner|grype|dependency-check"
    for text, run in ctx.automation.invocations:
        if re.search(scan, text) and not (run.swallowed and not run.surfaced):
            level = Level.AUTOMATED if run.scheduled else Level.MANUAL
            outcomes.append(Outcome(level, [Evidence(summary=f"dependency scan: {text[:80]}", location=run.location,
                                                     level=level, kind="ci", trigger=run.describe())],
                                    "dependencies are scanned " + ("on a schedule" if run.scheduled else
                                                                  "only when the team pushes")))
    for job in ctx.ci:
        for step in getattr(job, "steps", ()):
            use = getattr(step, "uses", None)
            uses = getattr(use, "name", "") if use is not None else ""
            if re.search(r"trivy-action|snyk/actions|pypa/gh-action-pip-audit|dependency-review-action", uses):
                scheduled = "schedule" in getattr(job, "trigger_kinds", ())
                level = Level.AUTOMATED if scheduled else Level.MANUAL
                outcomes.append(Outcome(level, [Evidence(summary=f"dependency scan action {uses}",
                                                         location=Location(path=job.file, line=step.line), level=level,
                                                         kind="ci")],
                                        "dependencies are scanned " + ("on a schedule" if scheduled else
                                                                      "on the team's own pushes")))
    outcomes += _scheduled_dependency_builds(ctx)
    precommit = ctx.facts.read(".pre-commit-config.yaml") or ""
    for number, line in enumerate(precommit.splitlines(), 1):
        if re.search(r"^\s*-?\s*id:\s*(pip-audit|safety|safety-check|python-safety-dependencies-check|osv-scanner|"
                     r"trivy\w*|snyk\w*)\s*$", line):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="dependency audit as a local pre-commit hook",
                                                            location=Location(path=".pre-commit-config.yaml", line=number),
                                                            kind="config")],
                                    "dependencies are audited only when a developer commits (a local pre-commit hook)"))
            break
    result = finish(ctx, "MON1", outcomes)
    history = ctx.history()
    if result.level is Level.NONE and history is not None and history.bot_commits:
        bots = ", ".join(f"{n} {bot}" for bot, n in sorted(history.bot_commits.items()))
        result.rationale = (f"no dependency bot or scheduled scan in the tree; the git history has commits by {bots}, "
                            "but a bot configured outside the tree cannot be verified (commit its config file)")
    return result


# -- MON2: input invariants hold in serving -----------------------------------------------------------

#: A rejection of a request: an HTTP 4xx, a bad-request error, a ValueError the framework turns into an error reply.
_REJECT_RX = re.compile(r"(?i)raise\s+(HTTPException\(\s*(status_code\s*=\s*)?(4\d\d|status\.HTTP_4\d\d)|"
                        r"\w*(BadRequest|InvalidInput|ValidationError|ValueError)\w*\()|abort\(\s*4\d\d|"
                        r"return\s+[^\n]*\b4(00|22)\b")
#: A condition on input values beyond their types: a bound, a membership, a size, a non-finite or a blank check.
_VALUE_CONDITION_RX = re.compile(r"^\s*(el)?if\b.*(<=?|>=?|\bnot\s+in\b|\bin\s*[\[({]|\blen\(|isnan|isfinite|\.std\(|"
                                 r"\.min\(|\.max\(|\bunique\b|contrast|\bsize\b|\bshape\b)")
_NOT_INPUT_RX = re.compile(r"(?i)\bmodel\b\s+is\s+None|token|api_?key|auth|password|credential|rate_?limit|user_?id\s*==")


def _serving_input_guards(ctx: Context) -> list[Outcome]:
    """The serving code checks each request's values beyond their types and rejects the ones that violate them
    (LABELING.md MON2 1, G6b: a live guard on every request): `if len(candidates) < num_recs: raise ValueError(...)`,
    an image-size or contrast check answered with HTTP 422."""
    for py in serving_files(ctx):
        lines = py.lines
        for number, text in enumerate(lines, 1):
            if not _VALUE_CONDITION_RX.match(text) or _NOT_INPUT_RX.search(text):
                continue
            following = "\n".join(lines[number: number + 3])
            fn = function_at(py, number)
            body = "\n".join(lines[fn.line - 1: fn.end_line]) if fn is not None else ""
            if fn is None or not (re.search(r"(?i)validat|check|sanit|verify", fn.name)
                                  or re.search(r"(?i)\bpredict\w*\(|\binfer\w*\(|\brecommend\w*\(|\bmodel\(", body)):
                continue  # the request's own parameters (a comparison endpoint's list of cities), not the model's input
            if _REJECT_RX.search(following):
                return [Outcome(Level.AUTOMATED, [code_evidence(py, number, f"serving rejects requests whose values "
                                                                            f"violate a constraint: {text.strip()[:80]}",
                                                                Level.AUTOMATED, kind="code")],
                                "every serving request is checked against constraints beyond types and rejected "
                                "when it violates them")]
    return []


def mon2(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    models = _constrained_models(ctx)
    names = {name for _py, _line, name in models if name != "schema"}
    for py, line, what in _schema_uses(ctx, names):
        if is_serving_file(ctx, py):
            outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(py, line, f"serving input validated: {what}",
                                                                    Level.AUTOMATED, kind="code")],
                                    "every serving request is validated against constraints beyond types"))
            break
    if not outcomes:
        outcomes += _serving_input_guards(ctx)
    outcomes += _alerts(ctx, "drift") + _alerts(ctx, "input")
    outcomes += _scheduled_data_check(ctx, r"mlscore\S*\s+data\s+check|great_expectations\s+checkpoint\s+run|"
                                           r"gx\s+checkpoint\s+run")  # drift libraries run from code: the catalog
    outcomes += _hand_run_drift(ctx)
    outcomes += _served_drift_tests(ctx, skew=False)
    sidecar = _sidecar(ctx)
    if sidecar:
        outcomes.append(Outcome(Level.AUTOMATED, [sidecar], "the mlscore sidecar validates live inputs and alerts"))
    for source, check in ctx.checks_for("MON2"):
        if check.status not in ("skipped", "error"):
            kind = ctx.report_kinds.get(source, "data")
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"{check.title}: {check.message}",
                                                            location=Location(path=source), kind=kind)],
                                    f"a saved `mlscore {kind}` report checked serving inputs"))
    return finish(ctx, "MON2", outcomes, report=False)


# -- MON3: training/serving skew ---------------------------------------------------------------------

def mon3(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = _served_drift_tests(ctx, skew=True)
    names = r"DetectFeatureSkew|skew_comparator|validate_data_skew"
    for site in ctx.call_sites(names)[:2]:
        run = automated_run(ctx, site.path, kinds=SCHEDULED)
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence(f"skew detection: {site.callee(names)}", level, run)],
                                "serving features are compared with training features"))
    outcomes += _scheduled_data_check(ctx, r"mlscore\S*\s+(data\s+check|probe).*--reference|mlscore\s+probe.*--expected")
    skew_test = re.compile(r"(?i)skew|(serv\w*|online)_\w*(train\w*|offline)|(train\w*|offline)_\w*(serv\w*|online)")
    for py in ctx.facts.tests(literals=("skew", "online", "serving", "offline")):
        fn = next((f for f in py.test_functions() if skew_test.search(f.name) and f.asserts), None)
        if fn is not None:
            outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, fn.line, f"{fn.name} compares serving and "
                                                                              "training features", kind="test")],
                                    "a test checks that serving and training compute the same features "
                                    "(outside serving, so it is the manual level)"))
            break
    outcomes += _alerts(ctx, "skew")
    sidecar = _sidecar(ctx)
    if sidecar:
        outcomes.append(Outcome(Level.AUTOMATED, [sidecar],
                                "the mlscore sidecar compares live input distributions with the training profile"))
    return finish(ctx, "MON3", outcomes)


# -- MON4: models not too stale ----------------------------------------------------------------------

def mon4(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = _alerts(ctx, "age")
    train_rx = (r"(^|\s)(dvc\s+repro|kedro\s+run|mlflow\s+run|python3?\s+(-m\s+)?(\S*[/.])?"
                r"(re)?train(ing|er|_model|_pipeline)?(\.py)?(\s|$)|python3?\s+(-m\s+)?(\S*[/.])?(run_)?pipeline(\.py)?(\s|$))")
    for text, run in ctx.automation.invocations:
        if run.scheduled and re.search(train_rx, text) and not (run.swallowed and not run.surfaced):
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(summary=f"scheduled retraining: {text[:80]}",
                                                               location=run.location, level=Level.AUTOMATED,
                                                               kind="schedule", trigger=run.describe())],
                                    "the model is retrained on a schedule"))
            break
    for sched in ctx.schedules:
        if getattr(sched, "trains", False):
            templated = bool(re.search(r"\bvar\.|\$\{|\{\{|\$\(|^\$", getattr(sched, "cron", "") or ""))
            # a cadence that is a variable is set outside the tree (G1): a defined schedule, not an enabled one
            level = Level.MANUAL if getattr(sched, "disabled", False) or templated else Level.AUTOMATED
            outcomes.append(Outcome(level, [Evidence(summary=f"retraining schedule {getattr(sched, 'cron', '')}".strip(),
                                                     location=Location(path=sched.path, line=sched.line), level=level,
                                                     kind="schedule")],
                                    "a retraining schedule is " + ("defined, but its cadence is set outside the tree"
                                                                   if templated else "defined but disabled"
                                                                   if level is Level.MANUAL else "enabled")))
    for path, text in ctx.facts.docs():
        m = re.search(r"(?i)\bretrain(ed|ing)?\b[^.\n]{0,60}\b(every|daily|weekly|monthly|quarterly|each (day|week|month))",
                      text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"documented retraining cadence: {m.group(0)[:80]}",
                                                            location=Location(path=path, line=line), kind="doc")],
                                    "a retraining cadence is documented"))
            break
    result = finish(ctx, "MON4", outcomes)
    history = ctx.history()
    if result.level is not Level.AUTOMATED and history is not None:
        from mlscore.detectors.model import model_specs

        specs = [s for s in model_specs(ctx) if s[0].cell_of_line is None]
        changed = history.last_change(specs[0][0].path) if specs else None
        if changed is not None and history.last_commit is not None:
            days = (history.last_commit - changed).days
            result.rationale = (result.rationale or "no retraining schedule or model-age alert") + (
                f"; for context, {specs[0][0].path} last changed {days} days before the audited commit")
    return result


# -- MON5: numerically stable ------------------------------------------------------------------------

#: What a non-finite check of the inputs tests: the data fed to the model, not its weights, losses or outputs.
_INPUT_NAME_RX = re.compile(r"X|x|X_\w+|x_\w+|inputs?|features?|data|df|batch_x|y|y_true|labels?|targets?")
NONFINITE_RX = re.compile(r"\b(isnan|isinf|isfinite|isneginf|isposinf|check_numerics|detect_anomaly|TerminateOnNaN|"
                          r"nan_to_num)\b")


def mon5(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    # a guard that acts on non-finite values in the standard training or serving path
    for hit in ctx.grep(r"\bif\b.*\b(isnan|isinf|isfinite)\s*\(|TerminateOnNaN|detect_anomaly|check_numerics",
                        paths=lambda p: p.endswith(".py"), limit=60,
                        literals=("isnan", "isinf", "isfinite", "terminateonnan", "detect_anomaly", "check_numerics")):
        py = ctx.facts.py(hit.path)
        if py is None or py.is_test_file or HAND_RUN_RX.search(hit.path):
            continue
        arg = re.search(r"\b(?:isnan|isinf|isfinite)\s*\(\s*(?:np\.asarray\(|np\.asanyarray\()?\s*([A-Za-z_]\w*)", hit.text)
        if arg and _INPUT_NAME_RX.fullmatch(arg.group(1)):
            continue  # a check of the input data or labels is input validation (D1/MON2), not the model's stability
        if "TerminateOnNaN" in hit.text or "check_numerics" in hit.text or "detect_anomaly" in hit.text:
            acts = True
        else:
            following = "\n".join(py.lines[hit.line - 1: hit.line + 3])
            acts = bool(re.search(r"\braise\b|\bcontinue\b|\bskip|sys\.exit|abort|alert", following))
            if re.search(r"nan_to_num|fillna|dropna|\.replace\(|np\.where\(", following):
                acts = False  # cleaning data to fit is not a guard (LABELING.md MON5)
        if acts and function_at(py, hit.line) is None:
            outcomes.append(Outcome(Level.MANUAL, [hit_evidence(hit, f"one-off check at start-up: {hit.text[:80]}")],
                                    "a non-finite check runs once at start-up, not on every step or prediction"))
            continue
        if acts and not (on_standard_path(hit.path) or is_serving_file(ctx, py)):
            outcomes.append(Outcome(Level.MANUAL, [hit_evidence(hit, f"non-finite check: {hit.text[:80]}")],
                                    "a non-finite check exists, but outside the standard training and serving code "
                                    "(a one-off probe or a helper run by hand), so it does not guard every step or "
                                    "prediction"))
            continue
        if acts:
            outcomes.append(Outcome(Level.AUTOMATED, [hit_evidence(hit, f"non-finite guard: {hit.text[:90]}", Level.AUTOMATED)],
                                    "a guard acts on the first NaN or infinity in training or serving"))
            break
    # output validation with range constraints in serving (response models)
    models = _constrained_models(ctx)
    names = {name for _py, _line, name in models if name != "schema"}
    for py in serving_files(ctx):
        if "response_model" not in ctx.facts.texts.get(py.path, ""):
            continue
        for number, line in enumerate(py.lines, 1):
            m = re.search(r"response_model\s*=\s*(\w+)", line)
            if m and m.group(1) in names:
                outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(py, number, f"output range validated: {m.group(1)}",
                                                                        Level.AUTOMATED)],
                                        "every served prediction is validated against a range, which rejects NaN"))
                break
    outputs = {n for n in names if re.search(r"(?i)output|prediction|response|result", n)
               and not re.search(r"(?i)request|input|payload|query", n)}  # `PredictionRequest` is an input
    for py, line, what in _schema_uses(ctx, outputs):
        outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(py, line, f"output schema applied: {what}", Level.AUTOMATED)],
                                "model outputs are validated against a schema on every prediction"))
        break
    outcomes += _alerts(ctx, "nonfinite")
    sidecar = _sidecar(ctx)
    if sidecar:
        outcomes.append(Outcome(Level.AUTOMATED, [sidecar], "the mlscore sidecar counts non-finite predictions and alerts"))
    # tests that check for NaN: manual level
    for py in ctx.facts.tests(literals=("isnan", "isinf", "isfinite", "nan_to_num")):
        text = "\n".join(py.lines)
        m = NONFINITE_RX.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, line, "test checks for non-finite values", kind="test")],
                                    "tests check numerical stability, but nothing guards live runs"))
            break
    return finish(ctx, "MON5", outcomes)


# -- MON6: computing performance ---------------------------------------------------------------------

#: A duration measured in the project's code (`runtime = time() - start`, `int(time.time() - self.start_time)`) or a
#: timer around training or inference (`with Timer("Model training"):`).
_TIMED_RX = re.compile(r"\b(?:time\.)?(?:time|perf_counter|monotonic|default_timer)\(\)\s*-\s*[\w.]*(?:start|t0|tic|begin)\w*|"
                       r"(?i:with\s+\w*timer\(\s*[\"'][^\"'\n]*(?:train|fit|predict|infer|scor|evaluat))")
#: The file trains or serves a model.
_TRAINS_OR_SERVES_RX = re.compile(r"\.fit\(|\.train\(|\.predict(?:_proba)?\(|\bTrainer\(|\bdef\s+(?:train|fit|predict)\w*\(")


def _timed_training_or_inference(ctx: Context) -> Outcome | None:
    """Training or inference time measured and logged by the project's own training or serving code on every run
    (LABELING.md MON6 0.5: measured and recorded, no threshold or alert)."""
    for hit in ctx.grep(_TIMED_RX, paths=lambda p: p.endswith(".py") and not is_test_path(p), limit=20,
                        literals=("time()", "perf_counter()", "monotonic()", "default_timer()", "timer(")):
        if HAND_RUN_RX.search(hit.path) or re.search(r"(?i)(^|/)(bench\w*|scripts?|examples?|notebooks?|docs?)/",
                                                     hit.path):
            continue
        text = ctx.facts.texts.get(hit.path, "")
        if not _TRAINS_OR_SERVES_RX.search(text):
            continue  # a download or a data job timed, not the model's computing performance
        if not _recorded(text.splitlines(), hit.line):
            continue  # returned to a caller or discarded, not recorded for anyone to see
        return Outcome(Level.MANUAL, [hit_evidence(hit, f"training or inference time measured: {hit.text[:80]}")],
                       "training or serving speed is measured and logged on every run, without a threshold or alert")
    return None


_RECORD_RX = re.compile(r"(?i)\b(log\w*|print|info|debug|warning|mlflow|wandb|writer|metrics?|history|record|"
                        r"tensorboard|add_scalar)\b")


def _recorded(lines: list[str], line: int) -> bool:
    """Whether a measured duration is logged or recorded: on its own line (a timer's `with` counts: it reports by
    design), or through the name it is assigned to within the next six lines."""
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if re.search(r"(?i)with\s+\w*timer\(", here) or _RECORD_RX.search(here):
        return True
    m = re.match(r"\s*([\w.\[\]\"']+)\s*=", here)
    if m is None:
        return False
    name = m.group(1).split(".")[-1].strip("[]\"'")
    return any(name in nxt and _RECORD_RX.search(nxt) for nxt in lines[line: line + 6])


def mon6(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = _alerts(ctx, "latency") + _alerts(ctx, "resources")
    outcomes += _scheduled_scripts(ctx, r"(?i)(bench|latenc|perf|load_?test|throughput|speed|memory)[^/]*\.py$",
                                   r"(?i)perf_counter|time\.time\(|timeit|latenc|throughput|memory|rss")
    sidecar = _sidecar(ctx)
    if sidecar:
        outcomes.append(Outcome(Level.AUTOMATED, [sidecar], "the mlscore sidecar tracks latency and alerts on regressions"))
    metric_rx = (r"(^|\.)(Histogram|Summary)$")
    for py, call in ctx.calls(metric_rx, prefilter=r"prometheus_client|Histogram\(|Summary\("):
        if any(re.search(r"(?i)latenc|duration|seconds|time", a) for a in call.args) or "prometheus" in "\n".join(py.lines):
            outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"latency metric collected: {call.name}")],
                                    "latency is collected continuously but nothing alerts on a regression"))
            break
    for py, call in ctx.calls(r"(^|\.)(Instrumentator|latency|instrument|start_run)$",
                              prefilter=r"prometheus_fastapi_instrumentator|metrics\.latency|log_system_metrics"):
        if call.name.endswith("start_run") and "log_system_metrics" not in call.kwargs:
            continue
        outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"performance metrics collected: {call.name}")],
                                "computing performance is collected but not alerted on"))
        break
    for hit in ctx.grep(r"log_system_metrics\s*[:=]\s*True|\bstep_time\b|\bloader_time\b|real[-_ ]time factor|"
                        r"samples_per_sec|throughput",
                        paths=lambda p: p.endswith((".py", ".yaml", ".yml")), limit=5)[:1]:  # docs claims are not evidence
        outcomes.append(Outcome(Level.MANUAL, [hit_evidence(hit, f"performance measured: {hit.text[:80]}")],
                                "training or serving speed is measured and logged, without alerts"))
    if not any(o.level is not Level.NONE for o in outcomes):
        timed = _timed_training_or_inference(ctx)
        if timed is not None:
            outcomes.append(timed)
    for path in ctx.facts.python_paths:
        text = ctx.facts.texts[path]
        if "benchmark" not in text:
            continue
        m = re.search(r"(?m)^[ \t]*def (test_\w+|bench\w*|time_\w+)\(\s*benchmark\b|^[ \t]*def (time|peakmem|mem)_\w+\(", text)
        if m:
            line = text.count("\n", 0, text.index("def", m.start())) + 1
            run = automated_run(ctx, path)
            threshold = run is not None and any(re.search(r"--benchmark-compare-fail|asv\s+continuous", t)
                                                for t, r in ctx.automation.invocations if r.scheduled)
            level = Level.AUTOMATED if threshold else Level.MANUAL
            outcomes.append(Outcome(level, [Evidence(summary="performance benchmark", location=Location(path=path, line=line),
                                                     level=level, kind="test", trigger=run.describe() if run else None)],
                                    "a performance benchmark runs" + (" on a schedule against a baseline" if threshold
                                                                     else ", but nothing fails on a regression")))
            break
    for path in ctx.facts.paths():
        if re.search(r"(?i)(^|/)locustfile\w*\.py$|(^|/)k6[^/]*\.js$", path):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="load test", location=Location(path=path, line=1),
                                                            kind="test")],
                                    "a load test exists, run by hand"))
            break
    return finish(ctx, "MON6", outcomes)


# -- MON7: prediction quality on served data -----------------------------------------------------------

def mon7(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = _alerts(ctx, "prediction")
    # served predictions joined with the labels that arrived, scored and failing below a floor
    outcomes += _scheduled_scripts(
        ctx, r"(?i)(serv|prod|online|live|monitor)[^/]*\.py$",
        r"(?is)(merge|join)\(.{0,300}(label|churn|target|truth|outcome|feedback).{0,400}"
        r"(roc_auc|accuracy|f1|precision|recall|rmse|mae|mse|log_loss|brier|calibration)")
    sidecar = _sidecar(ctx)
    if sidecar:
        outcomes.append(Outcome(Level.AUTOMATED, [sidecar], "the mlscore sidecar alerts on prediction drift"))
    outcomes += _scheduled_data_check(ctx, r"mlscore\S*\s+data\s+check.*--prediction|ClassificationPreset|RegressionPreset")
    for py, call in ctx.calls(r"(^|\.)(Histogram|Summary|Gauge)$", prefilter=r"prometheus_client|Histogram\("):
        texts = (*call.args, call.function or "")
        if any(re.search(r"(?i)latenc|duration|seconds|_time\b|time to", a) for a in texts):
            continue
        if any(re.search(r"(?i)predict|output|score|model_", a) for a in texts):
            outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"prediction distribution collected: "
                                                                                f"{call.args[0] if call.args else call.name}")],
                                    "the served prediction distribution is collected but not alerted on"))
            break
    if not any(o.level is not Level.NONE for o in outcomes):
        logged = _recorded_predictions(ctx)
        if logged is not None:
            outcomes.append(logged)
    return finish(ctx, "MON7", outcomes)


#: A call that stores or ships a record somewhere a person can query it: a database row, a log event shipped to a
#: store (Fluentd, Elasticsearch), a stream record, a table; not a line in the container's own log file.
_STORE_CALL_RX = re.compile(r"(?i)(\.(add|insert\w*|emit|index|put_record\w*|to_sql|create)\(|\.log\(\s*[\"']predict|"
                            r"\b(create_\w*prediction\w*|create_\w*log\w*|insert_\w*prediction\w*|save_prediction\w*|"
                            r"store_prediction\w*|record_prediction\w*)\b)")
_PREDICTION_WORD_RX = re.compile(r"(?i)\bpredict\w*|\bprobabilit\w*|\bscores?\b")


def _recorded_predictions(ctx: Context) -> Outcome | None:
    """The serving path stores every prediction it makes (a database row, a log event shipped to a store, a
    stream record): served predictions collected continuously for a person to examine (LABELING.md MON7 0.5, G6:
    collected and stored, no threshold or alert)."""
    for py in serving_files(ctx):
        for fn in py.functions:
            body = py.lines[fn.line - 1: fn.end_line]
            if not any(_PREDICTION_WORD_RX.search(b) for b in body):
                continue
            for offset, text in enumerate(body):
                if _STORE_CALL_RX.search(text) and not text.lstrip().startswith(("#", "def ", "async def ")) and (
                        _PREDICTION_WORD_RX.search(text) or any(_PREDICTION_WORD_RX.search(t) and "=" in t
                                                                 for t in body[offset + 1: offset + 8])
                        or re.search(r"(?i)log\w*\(\s*[\"']predict", text)):
                    if re.search(r"(?i)\b(logger|logging|log)\.(info|debug|warning|error)\(", text):
                        continue  # a log line in the process's output, not a store of predictions
                    return Outcome(Level.MANUAL, [code_evidence(py, fn.line + offset, f"served predictions recorded: "
                                                                                     f"{text.strip()[:80]}")],
                                   "the serving path records every prediction, but nothing evaluates them on a "
                                   "schedule or alerts")
    return None
