"""Detectors for the Model section (MODEL1-MODEL7)."""

from __future__ import annotations

import re
from typing import Any

from mlscore.detectors.code import automated_run
from mlscore.detectors.common import (
    ESTIMATOR_RX,
    SIMPLE_MODEL_RX,
    Context,
    Outcome,
    code_evidence,
    documented,
    finish,
    script_lines,
)
from mlscore.facts import linear
from mlscore.facts.python import is_test_path
from mlscore.models import Evidence, Level, Location

OUTCOME_KINDS = ("pipeline", "schedule", "ci_schedule")

# -- MODEL1: specs reviewed and checked in ----------------------------------------------------------------

MODEL_DEF_RX = re.compile(r"(^|\.)(nn\.Module|Module|keras\.Model|Model|tf\.keras\.Model|LightningModule|PreTrainedModel|"
                          r"BaseEstimator)$")
#: Copies of the project's code made by builds and vendoring: never the selected model.
GENERATED_PATH_RX = re.compile(r"(^|/)(build/lib[^/]*|dist|site-packages|\.eggs|node_modules|vendor|vendored|third_party|"
                               r"\.tox|\.nox|\.venv|venv)/")
#: Files whose name says they train, define or build the model.
SPEC_FILE_RX = re.compile(r"(?i)(train|model|fit|estimator|factory|network|arch|net\b|classifier|regressor|pipeline|"
                          r"recipe)[^/]*$")
#: Files that explore or compare candidates rather than define the selected model (LABELING.md G9).
ASIDE_FILE_RX = re.compile(r"(?i)(^|/)[^/]*(explor|eda\b|analys|importance|compar|baseline|benchmark|demo|example|"
                           r"sandbox|playground|scratch|tutorial|experiment|notebook)[^/]*(/|$)")
#: Class names of building blocks and wrappers rather than whole models.
BLOCK_CLASS_RX = re.compile(r"(?i)(layer|block|linear|attention|embedding|conv\w*|norm|head|mlp|bottleneck|wrapper|"
                            r"loss|api|adapter|lora|cache|pool\w*|dropout|activation|module)$")
#: Keys of a training or model config that are hyperparameters.
HYPERPARAM_KEY_RX = re.compile(
    r"(?im)^[ \t]*[\"']?(learning_rate|lr|n_estimators|max_depth|batch_size|micro_batch_size|epochs|num_epochs|max_epochs|"
    r"hidden_size|hidden_dim|n_embd|d_model|num_layers|n_layers|n_layer|num_heads|n_head|dropout|weight_decay|"
    r"num_boost_round|min_child_weight|subsample|colsample_bytree|eta|max_iter|l1_ratio|momentum|"
    r"num_leaves|min_samples_split|min_samples_leaf|kernel_size|warmup_steps|max_steps|train_max_steps)"
    r"[\"']?[ \t]*[:=]")
#: the same, on RE2 for whole config files (one linear pass; Python's engine took 16 s over kserve's 120 MB of YAML)
HYPERPARAM_KEY_LINEAR = linear.compile(HYPERPARAM_KEY_RX.pattern)
#: a hyperparameter config is a page or two; a YAML or JSON file of megabytes is generated or data
MAX_CONFIG_CHARS = 500_000
#: An entry of a model factory's registry: `"xgboost": xgb.XGBRegressor,` (a class chosen by configuration).
FACTORY_ENTRY_RX = re.compile(r"^[ \t]*[\"'][\w .-]{1,40}[\"'][ \t]*:[ \t]*(?:[A-Za-z_]\w*\.){0,3}([A-Za-z_]\w*)[ \t]*,?[ \t]*"
                              r"(#.*)?$")
SPEC_PREFILTER = (r"Classifier|Regressor|Regression|SVC|SVR|XGB|LGBM|CatBoost|Sequential|nn\.Module|LightningModule|"
                  r"KMeans|Prophet|ARIMA|PreTrainedModel|Ridge|Lasso|keras|Module\)|hyperparameters|"
                  r"(xgb|xgboost|lgb|lightgbm)\.train\(")
#: Boosting libraries' functional training API: `xgb.train(params, dtrain, num_boost_round)` is the model's spec.
_FUNCTIONAL_TRAIN_RX = re.compile(r"(^|\.)(xgb|xgboost|lgb|lightgbm)\.train$")


def _spec_path_score(ctx: Context, path: str) -> int:
    name = path.rsplit("/", 1)[-1]
    score = 3 if SPEC_FILE_RX.search(name.rsplit(".", 1)[0]) else 1 if SPEC_FILE_RX.search(path) else 0
    if ASIDE_FILE_RX.search(path):
        score -= 4
    if path.endswith(".ipynb"):
        score -= 1
    if ctx.automation.effective(path):
        score += 2
    return score


def model_specs(ctx: Context) -> list[tuple[Any, int, str]]:
    """(py, line, what) for the selected model's specification in the project's own code and notebooks, best
    first: estimators constructed (with or without arguments, ``**params`` included), training jobs given
    hyperparameters, and model classes, in the files that train or define the model rather than those that
    explore candidates (LABELING.md M1, G9)."""

    def compute() -> list[tuple[Any, int, str]]:
        scored: list[tuple[int, int, Any, int, str]] = []
        candidates = [p for p in ctx.facts.python_paths if not GENERATED_PATH_RX.search(p) and not is_test_path(p)]
        candidates.sort(key=lambda p: -_spec_path_score(ctx, p))
        parsed = 0
        order = 0
        for py in ctx.facts.python_matching(SPEC_PREFILTER, paths=candidates):
            if py.is_test_file or GENERATED_PATH_RX.search(py.path):
                continue
            parsed += 1
            if parsed > 60 and len(scored) >= 3:
                break  # files come best-named first: enough to choose from
            base = _spec_path_score(ctx, py.path)
            fits = any(c.name.endswith((".fit", ".train", "fit_model", "train_model")) for c in py.calls)
            torch = py.imports_any(("torch",)) is not None
            for call in py.calls:
                last = call.name.rsplit(".", 1)[-1]
                if last == "Sequential" and (torch or "nn." in call.name):
                    continue  # torch.nn.Sequential is a block of layers, not a model
                keras_functional = last == "Model" and ("keras" in call.name or py.imports_any(
                    ("tensorflow", "keras")) is not None) and (set(call.kwargs) & {"inputs", "outputs"}
                                                              or len(call.args) >= 2)
                if (ESTIMATOR_RX.search(last) or "hyperparameters" in call.kwargs
                        or last == "set_hyperparameters" or _FUNCTIONAL_TRAIN_RX.search(call.name)
                        or keras_functional):
                    what = f"{call.name if _FUNCTIONAL_TRAIN_RX.search(call.name) else last}" \
                           f"({', '.join(call.kwargs[:3])})"
                    order += 1
                    scored.append((base + 2 + (2 if fits else 0) + (1 if call.kwargs else 0), -order, py,
                                   call.line, what))
                    break
            for name, bases, line in py.classes:
                if any(MODEL_DEF_RX.search(b) for b in bases):
                    order += 1
                    penalty = 3 if BLOCK_CLASS_RX.search(name) else 0
                    scored.append((base + 1 - penalty, -order, py, line, f"class {name}({', '.join(bases)})"))
            for number, text in enumerate(py.lines, 1):
                m = FACTORY_ENTRY_RX.match(text)
                if m and ESTIMATOR_RX.search(m.group(1)):
                    order += 1
                    scored.append((base + 2, -order, py, number, f"model registry entry {m.group(1)}"))
                    break
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [(py, line, what) for _score, _order, py, line, what in scored[:3]]

    return ctx.memo("model_specs", compute)  # type: ignore[no-any-return]


def candidate_file(ctx: Context, path: str) -> bool:
    """Whether ``path`` builds only models other than the selected one (LABELING.md G9: evidence about exploratory
    candidates or abandoned baselines is not evidence about the shipped model). Files that build no model (they
    load the shipped one) are not candidates."""
    specs = model_specs(ctx)
    if not specs:
        return False
    chosen = specs[0][2].split("(", 1)[0].rsplit(" ", 1)[-1]
    py = ctx.facts.notebooks[path].python if path in ctx.facts.notebooks else ctx.facts.py(path)
    if py is None or py.path == specs[0][0].path:
        return False
    built = {c.name.rsplit(".", 1)[-1] for c in py.calls if ESTIMATOR_RX.search(c.name.rsplit(".", 1)[-1])}
    return bool(built) and chosen not in built


def config_specs(ctx: Context) -> list[tuple[str, int, str]]:
    """(path, line, keys) of training or model configs with hyperparameters (YAML, JSON, TOML): the spec of a
    config-driven project or framework recipe (LABELING.md M1, §5 C4)."""

    def compute() -> list[tuple[str, int, str]]:
        out = []
        for path, text in ctx.facts.texts.items():
            if not path.endswith((".yaml", ".yml", ".json", ".toml", ".cfg")) or GENERATED_PATH_RX.search(path):
                continue
            if re.search(r"(?i)(^|/)(\.github|\.gitlab|\.circleci|tests?|docs?|fixtures?|\.dvc)/|"
                         r"(^|/)(package(-lock)?\.json|pyproject\.toml|dvc\.lock|[^/]*lock[^/]*)$", path):
                continue
            if "apiVersion:" in text[:2000] or len(text) > MAX_CONFIG_CHARS:
                continue  # a Kubernetes object, or generated data: not a training config
            keys = {m.group(1).lower(): m for m in HYPERPARAM_KEY_LINEAR.finditer(text)}
            if len(keys) >= 2:
                first = min(keys.values(), key=lambda m: m.start())
                out.append((path, text.count("\n", 0, first.start()) + 1, ", ".join(sorted(keys)[:4])))
        out.sort(key=lambda item: (-_spec_path_score(ctx, item[0]), item[0]))
        return out[:3]

    return ctx.memo("config_specs", compute)  # type: ignore[no-any-return]


REVIEW_FILES = (
    ".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS", "CODE_OWNERS.rst",
    ".github/PULL_REQUEST_TEMPLATE.md", ".github/pull_request_template.md", "PULL_REQUEST_TEMPLATE.md",
    ".github/PR_TEMPLATE.md", "docs/pull_request_template.md", ".gitlab/merge_request_templates/Default.md",
)


PR_TEMPLATE_RX = re.compile(r"(?i)(^|/)(pull_request_template(\.md|\.txt)?|pull_request_template/[^/]+\.md|"
                            r"\.gitlab/merge_request_templates/[^/]+\.md|pr_template\.md)$")


CODE_CHECK_COMMAND_RX = re.compile(r"\b(pytest|py\.test|unittest|tox|nox|make|mypy|ruff|flake8|pylint|black|pyright|"
                                   r"isort|pre-commit)\b")


_LINTERS = ("ruff", "flake8", "pylint", "mypy", "black", "pyright", "isort")
_TEST_RUNNERS = ("pytest", "py.test", "unittest")


def _check_covers(command: str, spec: str, paths: list[str] | None = None) -> bool | None:
    """Whether a CI code-check command covers the file holding the spec: a linter over the whole tree or a directory
    holding it (True or False); a test runner (None: decided by what the tests import); tox, nox, make and
    pre-commit run what their own config says (True: taken at their word)."""
    words = command.replace("=", " ").split()
    for i, word in enumerate(words):
        tool = word.rsplit("/", 1)[-1]
        if tool in _TEST_RUNNERS or (tool in ("python", "python3") and words[i + 1: i + 3] in (["-m", "pytest"],
                                                                                               ["-m", "unittest"])):
            return None
        if tool in _LINTERS:
            args = [w for w in words[i + 1:] if not w.startswith("-") and w not in ("check", "format")]
            args = [a for a in args if not re.match(r"^[|&;>]", a)]
            if paths is not None:  # option values (`--output-file=lint.xml`, `--format junit-xml`) are not paths
                norm = {a: a.removeprefix("./").rstrip("/") for a in args}
                args = [a for a in args if a in (".", "./") or any(p == norm[a] or p.startswith(norm[a] + "/")
                                                                   for p in paths)]
            return not args or any(a in (".", "./") or spec == a or spec.startswith(a.rstrip("/") + "/")
                                   for a in args)
        if tool in ("tox", "nox", "make", "pre-commit"):
            return True
    return None


def _pr_check_covers(ctx: Context, job: Any, spec: str | None) -> bool:
    """Whether a pull-request job that checks code checks the file holding the spec (LABELING.md M1: "a CI workflow
    triggered by pull requests that actually checks the code holding the spec"): a linter over it, or a test the
    job runs that imports it. A spec in a config or a notebook is taken as covered by any check (what reads a config
    is not traced)."""
    if spec is None or not spec.endswith(".py"):
        return True
    if any(r.kind == "ci_pull_request" and r.location.path == job.file for r in ctx.automation.effective(spec)):
        return True  # the job runs the spec's own script (`python scripts/train.py`): every change to it is exercised
    paths = list(ctx.facts.paths())
    verdicts = [_check_covers(c, spec, paths) for c in getattr(job, "commands", ()) if CODE_CHECK_COMMAND_RX.search(c)]
    if any(v is True for v in verdicts):
        return True
    if None not in verdicts:
        return False
    # the tests this job runs, and what they import (three levels: `import clip` -> clip/clip.py -> clip/model.py)
    frontier = [t for t in ctx.facts.test_paths if any(
        r.kind == "ci_pull_request" and r.location.path == job.file for r in ctx.automation.effective(t))]
    seen = set(frontier)
    for _depth in range(4):
        if spec in seen:
            return True
        nxt = []
        for path in frontier:
            for target in ctx.facts.import_targets(path):
                if target not in seen:
                    seen.add(target)
                    nxt.append(target)
        frontier = nxt
    return spec in seen


def review_mechanisms(ctx: Context, spec: str | None = None) -> list[Evidence]:
    """CODEOWNERS, PR templates, committed rulesets requiring reviews, and PR-triggered CI that checks the code
    holding the spec (``spec``: its path) or posts training results to the pull request (LABELING.md M1)."""
    out: list[Evidence] = []
    owner = _repo_owner(ctx)
    for path in ctx.facts.paths():
        low = path.lower()
        if GENERATED_PATH_RX.search(path):
            continue
        if low.endswith("codeowners") or low.endswith("code_owners.rst"):
            if _foreign_codeowners(ctx.facts.read(path) or "", owner):
                continue  # left over from a template or course of another organisation (LABELING.md G2)
            out.append(Evidence(summary="review mechanism: CODEOWNERS names reviewers", location=Location(path=path, line=1),
                                level=Level.AUTOMATED, kind="config"))
        elif PR_TEMPLATE_RX.search(path):
            out.append(Evidence(summary="review mechanism: pull request template", location=Location(path=path, line=1),
                                level=Level.AUTOMATED, kind="config"))
        elif low.startswith(".github/rulesets/") and low.endswith(".json"):
            text = ctx.facts.read(path) or ""
            if "pull_request" in text:
                out.append(Evidence(summary="committed ruleset requires pull requests", location=Location(path=path, line=1),
                                    level=Level.AUTOMATED, kind="config"))
    for job in ctx.ci:
        if "pull_request" not in getattr(job, "trigger_kinds", ()):
            continue
        if getattr(job, "checks_code", False) and _pr_check_covers(ctx, job, spec):
            out.append(Evidence(summary=f"CI job '{job.name}' checks code on every pull request",
                                location=Location(path=job.file, line=job.line), level=Level.AUTOMATED, kind="ci"))
            break
        if getattr(job, "comments_pr", False):
            out.append(Evidence(summary=f"CI job '{job.name}' posts training results to every pull request",
                                location=Location(path=job.file, line=job.line), level=Level.AUTOMATED, kind="ci"))
            break
    return out


#: Organisations whose starter repositories ship a CODEOWNERS file that students' copies keep.
TEMPLATE_ORGS = ("udacity", "datacamp", "coursera", "dataquest")


def _repo_owner(ctx: Context) -> str | None:
    remote = ctx.cache.get("remote_url")
    if isinstance(remote, str):
        m = re.search(r"github\.com[:/]([^/]+)/", remote)
        if m:
            return m.group(1).lower()
    return None


def _foreign_codeowners(text: str, owner: str | None) -> bool:
    owners = {m.group(1).lower() for m in re.finditer(r"@([\w.-]+)(/[\w.-]+)?", text)}
    if not owners:
        return True
    if owner is not None:
        return owner not in owners
    return all(o in TEMPLATE_ORGS for o in owners)


def model1(ctx: Context, params: dict[str, Any]) -> Outcome:
    specs = model_specs(ctx)
    code = [s for s in specs if s[0].cell_of_line is None]
    ev: list[Evidence] = []
    if code or specs:
        py, line, what = (code or specs)[0]
        ev.append(code_evidence(py, line, f"model specification: {what}"))
    configs = config_specs(ctx)
    if configs and (not code or _spec_path_score(ctx, configs[0][0]) >= _spec_path_score(ctx, code[0][0].path)):
        path, line, keys = configs[0]
        ev.insert(0 if not code else 1, Evidence(summary=f"model hyperparameters in a config ({keys})",
                                                 location=Location(path=path, line=line), kind="config"))
    if not ev:
        return finish(ctx, "MODEL1", [], "no model specification (estimator, network or training config) is checked in")
    spec_path = ev[0].location.path if ev[0].location is not None else None
    review = review_mechanisms(ctx, spec_path)
    if review:
        return Outcome(Level.AUTOMATED, ev[:2] + review[:2],
                       "the model specification is in version control and changes to it go through review")
    return finish(ctx, "MODEL1", [Outcome(Level.MANUAL, ev[:2], "the model specification is in version control, but no "
                                          "review mechanism is configured")])


# -- MODEL2: offline/online correlation (people) ----------------------------------------------------------

def model2(ctx: Context, params: dict[str, Any]) -> Outcome:
    return finish(ctx, "MODEL2", [],
                  "offline/online correlation is measured outside the repository; record it as an attestation")


# -- MODEL3: hyperparameters tuned ------------------------------------------------------------------------



def model3(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    # library searches with generic names (optimize, fmin, create_study) are the signal catalog's, which checks
    # that the file imports the library
    names = (r"GridSearchCV|RandomizedSearchCV|HalvingGridSearchCV|HalvingRandomSearchCV|BayesSearchCV|"
             r"optuna\.create_study|hyperopt\.fmin|tune\.run|tune\.Tuner|keras_tuner\.\w+|"
             r"wandb\.sweep|ParameterGrid|BayesianOptimization")
    for site in ctx.call_sites(names):
        callee = site.callee(names)
        if callee.rsplit(".", 1)[-1] in ("create_study", "fmin", "optimize") and not re.search(
                r"optuna|hyperopt", ctx.facts.texts.get(site.path, "") or site.path):
            continue
        outcomes.append(Outcome(Level.MANUAL, [site.evidence(f"hyperparameter search: {callee}")],
                                "a hyperparameter search exists and is run by hand"))
        if len(outcomes) >= 2:
            break
    # trial and error over several values with measured results: `for C in [0.1, 1, 10]: ... cross_val_score(...)`
    sources = [(p, ctx.facts.texts[p]) for p in ctx.facts.python_paths if not is_test_path(p)]
    sources += [(nb.path, nb.code) for nb in ctx.facts.notebooks.values() if nb.error is None]
    for path, text in sources:
        if "for " not in text or not ("cross_val" in text or (".fit(" in text and "score" in text)):
            continue
        m = _scored_value_loop(text)
        if m and not re.search(r"(?i)seed|fold|epoch|batch|file|path|col|feature", m.group(1)):
            line = text.count("\n", 0, m.start()) + 1
            nb = ctx.facts.notebooks.get(path)
            where_ = Location(path=path) if nb else Location(path=path, line=line)
            cell = f" (cell {nb.cell_of_line[line]})" if nb and line < len(nb.cell_of_line) else ""
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"values of {m.group(1)} tried and scored{cell}",
                                                            location=where_, kind="notebook" if nb else "code")],
                                    "several values of a hyperparameter are tried and scored by hand"))
            break
    for path in ctx.facts.paths():
        if re.search(r"(^|/)sweep\w*\.ya?ml$", path) or (path.endswith((".yaml", ".yml")) and
                                                         "kind: Experiment" in (ctx.facts.texts.get(path) or "")
                                                         and "katib" in (ctx.facts.texts.get(path) or "")):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="hyperparameter sweep config",
                                                            location=Location(path=path, line=1), kind="config")],
                                    "a sweep configuration exists"))
    outcomes.extend(_tuning_in_pipeline(ctx, outcomes))
    result = finish(ctx, "MODEL3", outcomes)
    if result.level is Level.MANUAL:
        result.rationale += (" (automated credit needs a pipeline step whose selected values flow into the trained"
                             " model, e.g. a DVC tuning stage whose output is a dependency of the training stage)")
    return result


#: `for C in [0.1, 1, 10]:` on one line: the loop header of a trial over literal values (checked for two commas in
#: Python). Each class stops where the next token starts, so the match is linear in the line.
_VALUE_LOOP_RX = re.compile(r"(?m)^[ \t]*for[ \t]+(\w+)[ \t]+in[ \t]+[\[(]([^\])\n]*)[\])][ \t]*:")
_SCORED_RX = re.compile(r"\b(?:cross_val_score|cross_validate)|\w\.fit\(")
#: Lines of the loop body searched for the scoring call.
_LOOP_BODY_LINES = 9


def _scored_value_loop(text: str) -> re.Match[str] | None:
    """The first `for NAME in [a, b, c]:` loop whose body (within 9 indented lines) scores or fits a model.

    This replaces one regular expression, `for ... in [a, b, c]: (\\n[ \\t]+.*){0,8}? ... cross_val_score`, that
    backtracked exponentially on runs of indentation (every split between `[ \\t]+` and `.*` on each of nine
    lines) and cubically on long unclosed lists of commas: one file could hold an audit for minutes. Here the
    header pattern is linear, and the body is walked line by line.
    """
    for m in _VALUE_LOOP_RX.finditer(text):
        if m.group(2).count(",") < 2:
            continue
        pos = m.end()
        eol = text.find("\n", pos)
        for _ in range(_LOOP_BODY_LINES):
            if eol < 0:
                break
            start = eol + 1
            end = text.find("\n", start)
            line = text[start:] if end < 0 else text[start:end]
            if line[:1] not in (" ", "\t"):
                break  # the body ended (a blank or dedented line ends it, as the old pattern's `\\n[ \\t]+` did)
            if _SCORED_RX.search(line):
                return m
            eol = end
    return None


def _tuning_in_pipeline(ctx: Context, found: list[Outcome]) -> list[Outcome]:
    """A DVC tuning stage whose outputs the training stage depends on: the selected values reach the model."""
    stages = ctx.cache.get("dvc_stages", [])
    out = []
    for outcome in found:
        for ev in outcome.evidence:
            path = ev.location.path if ev.location else ""
            for stage in stages:
                if path and path in stage.cmd or any(d == path for d in stage.deps):
                    feeds = [s for s in stages if s is not stage and set(s.deps) & set(stage.outs)
                             and re.search(r"(?i)train|fit", s.name + s.cmd)]
                    if feeds:
                        out.append(Outcome(Level.AUTOMATED, [Evidence(
                            summary=f"{ev.summary}; DVC stage '{stage.name}' feeds its result to stage '{feeds[0].name}'",
                            location=ev.location, level=Level.AUTOMATED, kind="code")],
                            "a pipeline stage tunes the hyperparameters and the training stage uses its result"))
    return out


# -- MODEL4: staleness impact (people or data) -----------------------------------------------------------

def model4(ctx: Context, params: dict[str, Any]) -> Outcome:
    heading = re.compile(r"(?i)stale|model age|backtest|model decay|older model|aging|ageing")
    measured = re.compile(r"(?i)(\bauc\b|accuracy|f1|precision|recall|rmse|mae|error)[^\n]{0,200}\d|\d[^\n]{0,200}"
                          r"(\bauc\b|accuracy|f1|precision|recall|rmse|mae|error)")
    outcomes = documented(ctx, heading, measured, "documented quality against model age",
                          "quality against model age is measured and recorded")
    backtests = re.compile(r"(?i)(^|/)[^/]*(backtest|staleness|stale|model_age|decay|aging)[^/]*\.py$")
    metric_call = re.compile(r"(?i)(roc_auc|accuracy|f1|precision|recall|mse|mae|rmse|r2|log_loss)\w*\s*\(")
    for path, line, run in script_lines(ctx, backtests, metric_call):
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [Evidence(summary="quality of an older model compared with a retrained one",
                                                 location=Location(path=path, line=line), level=level, kind="code",
                                                 trigger=run.describe() if run else None)],
                                "the impact of model age is measured" + (" automatically" if run else "")))
    return finish(ctx, "MODEL4", outcomes,
                  "no measurement of quality against model age; run a backtest or attest a documented one")


# -- MODEL5: a simpler model is not better ---------------------------------------------------------------

def model5(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    pre = r"Dummy(Classifier|Regressor)|LogisticRegression|LinearRegression|Ridge\(|Lasso\("
    # automated candidates first; the first comparison found is then the best there is
    # a comparison needs a simple model, a second (dummy or more complex) one, and a metric in the same file
    facts = ctx.facts
    candidates = [p for p in facts.python_paths
                  if facts.has_any(p, ("dummy", "logisticregression", "linearregression", "ridge(", "lasso("))
                  and facts.has_any(p, ("dummy", "classifier", "regressor", "forest", "boost", "xgb", "lgbm", "svc",
                                        "mlp", "catboost"))
                  and facts.has_any(p, ("score", "f1", "accuracy", "auc", "mse", "mae", "r2", "precision", "recall",
                                        "log_loss", "metric"))]
    for py in ctx.facts.python_matching(pre, first=lambda p: automated_run(ctx, p, kinds=OUTCOME_KINDS) is not None,
                                        paths=candidates):
        if outcomes:
            break
        if py.is_test_file:
            continue
        estimators = [c for c in py.calls if ESTIMATOR_RX.search(c.name.rsplit(".", 1)[-1])]
        simple = [c for c in estimators if SIMPLE_MODEL_RX.search(c.name.rsplit(".", 1)[-1])]
        complex_ = [c for c in estimators if not SIMPLE_MODEL_RX.search(c.name.rsplit(".", 1)[-1])]
        dummy = [c for c in simple if "Dummy" in c.name]
        scored = any(re.search(r"(score|f1|accuracy|auc|roc_auc|mse|mae|r2|precision|recall|log_loss|metric)", c.name, re.I)
                     for c in py.calls)
        if not scored:
            continue
        if not dummy and simple and complex_ and _alternatives(py, simple + complex_):
            continue  # `if model_type == "logistic_regression": self.model = LogisticRegression()`: one is chosen
        if dummy or (simple and complex_):
            call = (dummy or simple)[0]
            run = _comparison_run(ctx, py.path)
            level = Level.AUTOMATED if run else Level.MANUAL
            what = "a trivial baseline" if dummy else "a simpler linear model"
            outcomes.append(Outcome(level, [code_evidence(py, call.line, f"compared with {what}: "
                                                                       f"{call.name.rsplit('.', 1)[-1]}", level, run)],
                                    f"the model's metric is compared with {what}"
                                    + (" in an automated pipeline" if run else "")))
    if not outcomes:
        outcomes.extend(_baseline_across_files(ctx))
    return finish(ctx, "MODEL5", outcomes, judge=lambda o: _gated_or_manual(ctx, o))


_CHOICE_BRANCH_RX = re.compile(r"^\s*(if|elif)\b.*(==|\bin\b)\s*[\[(]?\s*[\"']|^\s*(case)\s+[\"']|^\s*else\s*:")


def _alternatives(py: Any, estimators: list[Any]) -> bool:
    """Whether the estimators are alternatives of one configured choice: each assigned to the same name in its own
    branch of an if/elif (or match) on a model-type string, so one model is trained, not compared with another."""
    targets: set[str] = set()
    for call in estimators:
        line = py.lines[call.line - 1] if 0 < call.line <= len(py.lines) else ""
        m = re.match(r"\s*([\w.\[\]'\"]+)\s*=\s*[\w.]*" + re.escape(call.name.rsplit(".", 1)[-1]) + r"\s*\(", line)
        before = next((t for t in reversed(py.lines[max(0, call.line - 3): call.line - 1]) if t.strip()), "")
        if m is None or not _CHOICE_BRANCH_RX.match(before):
            return False
        targets.add(m.group(1))
    return len(targets) == 1


_BASELINE_GATE_RX = re.compile(r"(?im)^\s*assert\b[^\n]*baseline|^\s*if\b[^\n]*baseline[^\n]*:\s*(#[^\n]*)?\n"
                               r"(\s*[^\n]*\n){0,2}?\s*(raise|sys\.exit|exit\()")


def _comparison_run(ctx: Context, path: str) -> Any:
    """The run that makes a baseline comparison automated (LABELING.md M5 1: it runs automatically and is surfaced,
    G5, G7): an orchestrated pipeline or scheduler step (its metrics are recorded as the run's outputs, C12), or a
    scheduled CI job when the comparison fails it (an assert or a raise on the baseline). A scheduled CI job that
    only prints both metrics to its log (a notifier on failure does not publish them) is the manual level."""
    run = automated_run(ctx, path, kinds=OUTCOME_KINDS)
    if run is None or not run.kind.startswith("ci_"):
        return run
    return run if _BASELINE_GATE_RX.search(ctx.facts.texts.get(path, "")) else None


def _gated_or_manual(ctx: Context, outcome: Outcome) -> Outcome:
    """A catalog finding made automated only by a scheduled CI job is the manual level unless the comparison gates
    there (see _comparison_run)."""
    if outcome.level is not Level.AUTOMATED:
        return outcome
    auto = [ev for ev in outcome.evidence if ev.level is Level.AUTOMATED]
    if not auto or not all(ev.trigger and "(ci " in ev.trigger for ev in auto):
        return outcome
    if any(ev.location is not None and _BASELINE_GATE_RX.search(ctx.facts.texts.get(ev.location.path, ""))
           for ev in auto):
        return outcome
    return Outcome(Level.MANUAL, [ev.model_copy(update={"level": Level.MANUAL}) for ev in outcome.evidence],
                   outcome.rationale + "; the CI job only prints the comparison to its log, nothing fails or publishes "
                                       "it (G7)")


METRIC_CALL_RX = re.compile(r"(?i)\b(\w*score|roc_auc\w*|accuracy\w*|f1\w*|log_loss|mean_\w+_error|r2\w*|"
                            r"precision\w*|recall\w*|scores|evaluate\w*)\s*\(")


def _baseline_across_files(ctx: Context) -> list[Outcome]:
    """A trivial baseline built by a helper (``build_baseline()``) that another module fits and scores next to
    the shipped model: the comparison spans files."""
    out = []
    for site in ctx.call_sites(r"DummyClassifier|DummyRegressor"):
        if site.cell is not None:
            continue
        lines = ctx.facts.texts.get(site.path, "").splitlines()
        name = next((m.group(1) for text in reversed(lines[: site.line])
                     if (m := re.match(r"\s*def\s+(\w+)\s*\(", text))), None)
        if name is None:
            continue
        rx = re.compile(rf"\b{re.escape(name)}\s*\(")
        for path in ctx.facts.python_paths:
            text = ctx.facts.texts[path]
            if path == site.path or re.search(r"(^|/)tests?/", path) or not rx.search(text) or \
                    not METRIC_CALL_RX.search(text):
                continue
            line = next(n for n, t in enumerate(text.splitlines(), 1) if rx.search(t))
            run = _comparison_run(ctx, path)
            level = Level.AUTOMATED if run else Level.MANUAL
            out.append(Outcome(level, [Evidence(summary=f"the model is scored next to a trivial baseline ({name}())",
                                                location=Location(path=path, line=line), level=level, kind="code",
                                                trigger=run.describe() if run else None),
                                       site.evidence("trivial baseline: DummyClassifier/DummyRegressor")],
                               "the model's metric is compared with a trivial baseline"
                               + (" in an automated pipeline" if run else "")))
            return out
    return out


# -- MODEL6: quality on slices --------------------------------------------------------------------------

#: A TFMA SlicingSpec slices only with one of these; without them it is the overall (whole-dataset) slice.
_TFMA_SLICE_KEYS = {"feature_keys", "feature_values", "slice_keys_sql"}
SLICE_FUNC_RX = re.compile(r"(?i)slice|by_group|per_group|segment|subgroup|cohort")


def model6(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    metric_rx = re.compile(r"(?i)(f1|fbeta|accuracy|precision|recall|auc|mse|mae|rmse|r2|log_loss|mape|"
                           r"(?<!silhouette_)(?<!calinski_harabasz_)(?<!davies_bouldin_)score|metric)")
    pre = r"def \w*(slice|by_group|segment|subgroup|cohort|Slice)|MetricFrame|slicing_spec|SlicingSpec"
    for py in ctx.facts.python_matching(pre, first=lambda p: bool(ctx.automation.effective(p))):
        if any(o.level is Level.AUTOMATED for o in outcomes) or len(outcomes) >= 4:
            break
        for fn in py.functions:
            if not SLICE_FUNC_RX.search(fn.name):
                continue
            body_calls = [c for c in py.calls if fn.line <= c.line <= fn.end_line]
            if any(re.search(r"(?i)silhouette|calinski|davies_bouldin|inertia", c.name) for c in body_calls):
                continue  # clustering quality of a segmentation, not model quality per slice
            if not any(metric_rx.search(c.name) for c in body_calls):
                continue  # an array `slice` or a text `segment` helper, not quality per data slice
            if py.is_test_file:
                run = automated_run(ctx, py.path)
                level = Level.AUTOMATED if run and run.real_data else Level.MANUAL
            else:
                run = automated_run(ctx, py.path, kinds=OUTCOME_KINDS)
                level = Level.AUTOMATED if run else Level.MANUAL
            outcomes.append(Outcome(level, [code_evidence(py, fn.line, f"metrics per slice: {fn.name}", level, run,
                                                          "test" if py.is_test_file else "code")],
                                    "model quality is computed per data slice"
                                    + (" automatically on real data" if level is Level.AUTOMATED else "")))
        for call in py.calls:
            if call.name.endswith("SlicingSpec") and not set(call.kwargs) & _TFMA_SLICE_KEYS:
                continue  # `tfma.SlicingSpec()` with no keys is the overall slice (TFMA docs; LABELING.md M6)
            if call.name.endswith(("MetricFrame", "SlicingSpec")):
                run = automated_run(ctx, py.path, kinds=OUTCOME_KINDS)
                level = Level.AUTOMATED if run else Level.MANUAL
                outcomes.append(Outcome(level, [code_evidence(py, call.line, f"sliced evaluation: {call.name}", level, run)],
                                        "model quality is computed per slice"))
    outcomes += _tests_of_slice_metrics(ctx, outcomes, metric_rx)
    for path in ctx.facts.paths():
        if re.search(r"(?i)(^|/)slice[_-]?(output|metrics|results)\w*\.(txt|csv|json|md)$", path):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="recorded per-slice metrics",
                                                            location=Location(path=path, line=1), kind="doc")],
                                    "per-slice results are recorded"))
    return finish(ctx, "MODEL6", outcomes)


def _tests_of_slice_metrics(ctx: Context, found: list[Outcome], metric_rx: re.Pattern[str]) -> list[Outcome]:
    """Tests that call the project's own per-slice metric function and assert on what it returns (thresholds per
    slice): automated when CI runs them on the real data (LABELING.md M6, G8)."""
    slice_funcs = {ev.summary.rsplit(": ", 1)[-1] for o in found for ev in o.evidence
                   if ev.summary.startswith("metrics per slice: ") and ev.kind == "code"}
    if not slice_funcs:
        return []
    out = []
    for py in ctx.facts.tests(literals=tuple(n.lower() for n in slice_funcs),
                              first=lambda p: bool(ctx.automation.effective(p))):
        for fn in py.test_functions():
            if fn.asserts and any(c == n or c.endswith("." + n) for c in fn.calls for n in slice_funcs):
                run = automated_run(ctx, py.path)
                level = Level.AUTOMATED if run and run.real_data else Level.MANUAL
                out.append(Outcome(level, [code_evidence(py, fn.line, f"{fn.name} asserts metrics per slice", level,
                                                         run, "test")],
                                   "a test asserts the model's quality on each data slice"
                                   + (" in CI on the real data" if level is Level.AUTOMATED else "")))
                return out
    return out


# -- MODEL7: inclusion ------------------------------------------------------------------------------------

def model7(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    names = (r"MetricFrame|demographic_parity_\w+|equalized_odds_\w+|BinaryLabelDatasetMetric|ClassificationMetric|"
             r"FairnessIndicators|disparate_impact\w*")
    for site in ctx.call_sites(names)[:3]:
        run = automated_run(ctx, site.path, kinds=OUTCOME_KINDS)
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence(f"fairness evaluation: {site.callee(names)}", level, run)],
                                "the model is evaluated across groups of people"))
    heading = re.compile(r"(?im)^[ \t]{0,3}#{1,4}\s*.*\b(bias|fairness|inclusion|ethical considerations|disparit)\w*")
    for path, text in ctx.facts.docs():
        low = path.lower()
        if not re.search(r"model[-_ ]?card|readme|evaluation|fairness", low):
            continue
        m = heading.search(text)
        if not m:
            continue
        section = text[m.end(): m.end() + 3000]
        next_head = re.search(r"(?m)^[ \t]{0,3}#{1,4}\s", section)
        section = section[: next_head.start()] if next_head else section
        groups = re.search(r"(?i)\b(race|sex|gender|age|ethnic\w*|nationality|religion|disabilit\w*|accent|dialect|"
                           r"language|region|demographic)", section)
        numbers = re.search(r"\d+(\.\d+)?\s*%|\b0\.\d{2,}", section)
        quality = re.search(r"(?i)\b(accuracy|precision|recall|f1|auc|error rate|false (positive|negative)|"
                            r"selection rate|parity|equali[sz]ed odds|word error|wer\b|performance)", section)
        if groups and quality and (numbers or "slice" in section.lower()):
            line = text.count("\n", 0, m.start()) + 1
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"documented evaluation across groups: {m.group(0).strip()[:60]}",
                                                            location=Location(path=path, line=line), kind="doc")],
                                    "an evaluation across groups of people is documented"))
    for path in ctx.facts.paths():
        if re.search(r"(?i)(^|/)slice[_-]?(output|metrics|results)\w*\.(txt|csv|json|md)$", path):
            text = ctx.facts.read(path) or ""
            if re.search(r"(?i)\b(race|sex|gender|ethnic)", text):
                outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="recorded metrics per demographic group",
                                                                location=Location(path=path, line=1), kind="doc")],
                                        "metrics across demographic groups are recorded"))
    return finish(ctx, "MODEL7", outcomes)

