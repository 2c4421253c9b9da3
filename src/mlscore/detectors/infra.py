"""Detectors for the ML Infrastructure section (INFRA1-INFRA7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlscore.detectors.code import (
    TestUse,
    _calls_through_fixtures,
    _fixtures,
    automated_run,
    function_at,
    level_of_tests,
    serving_exists,
    serving_files,
    tests_using,
)
from mlscore.detectors.common import (
    Context,
    Outcome,
    Run,
    code_evidence,
    documented,
    finish,
    hit_evidence,
    report_checks,
)
from mlscore.facts.python import is_test_path
from mlscore.models import Evidence, Level, Location

# -- INFRA1: reproducible training ---------------------------------------------------------------------

CORE_ML = {"scikit-learn", "sklearn", "torch", "tensorflow", "tensorflow-cpu", "keras", "xgboost", "lightgbm",
           "catboost", "jax", "transformers", "pandas", "numpy", "statsmodels", "prophet", "pytorch-lightning",
           "lightning", "spacy", "mlflow", "tfx", "tensorflow-transform", "tensorflow-data-validation",
           "tensorflow-model-analysis", "torchvision", "sentence-transformers", "onnxruntime", "fastai", "timm",
           "pyspark", "rasa", "scipy"}
LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "conda-lock.yml", "conda-lock.yaml")
DATA_FILE_RX = re.compile(r"(?i)\.(csv|tsv|parquet|feather|jsonl|arrow|xlsx?|h5|hdf5|npz|npy|pkl\.dvc|dvc)$")


STOCHASTIC_RX = re.compile(r"^(RandomForest\w+|ExtraTrees\w+|GradientBoosting\w+|XGB\w+|LGBM\w+|CatBoost\w+|"
                           r"MLP\w+|SGD\w+|KMeans|IsolationForest|BaggingClassifier|BaggingRegressor)$")


def _unseeded_estimator(ctx: Context) -> Evidence | None:
    """A stochastic estimator constructed without a seed: training cannot be reproduced exactly."""
    from mlscore.detectors.model import model_specs

    for py, line, _what in model_specs(ctx)[:1]:  # the selected model, not candidates explored beside it
        for call in py.calls:
            if call.line == line and STOCHASTIC_RX.match(call.name.rsplit(".", 1)[-1]) and not (
                {"random_state", "seed", "random_seed", "**"} & set(call.kwargs)
            ):
                return code_evidence(py, line, f"{call.name.rsplit('.', 1)[-1]} is constructed without a seed")
    return None


SEED_LINE_RX = re.compile(
    r"\b(random\.seed|manual_seed(_all)?|set_seed|set_random_seed|seed_everything|use_deterministic_algorithms|"
    r"default_rng|RandomState|PRNGKey)\s*\(\s*[\w\"']|\b(random_state|random_seed|seed)\s*=\s*(\d+|[A-Za-z_][\w.]*)\s*[,)]"
)


CONFIG_SEED_RX = re.compile(r"(?im)^[ \t]*[\"']?(random_state|random_seed|seed|rng_seed|global_seed|manual_seed)[\"']?"
                            r"[ \t]*[:=][ \t]*\d+")


def _seeds(ctx: Context) -> Evidence | None:
    """A seed set for the training path's random operations: in code, in a training config, in the notebook that
    trains the model, or recognised by the signal catalog (a line-level search: no file is parsed)."""
    if _unseeded_estimator(ctx) is not None:
        return None
    hits = ctx.grep(SEED_LINE_RX, paths=lambda p: p.endswith(".py") and not re.search(r"(^|/)tests?/|test_", p),
                    limit=1, literals=("seed", "random_state", "use_deterministic", "default_rng", "randomstate",
                                       "prngkey"))
    if hits:
        return hit_evidence(hits[0], f"seeded: {hits[0].text[:80]}")
    for path, text in ctx.facts.texts.items():
        low = text.lower()
        if path.endswith((".yaml", ".yml", ".json", ".toml", ".cfg")) and ("seed" in low or "random_state" in low) \
                and not re.search(
                r"(^|/)(\.github|\.gitlab|tests?)/", path):
            m = CONFIG_SEED_RX.search(text)
            if m:
                return Evidence(summary=f"seeded in the training config: {m.group(0).strip()[:60]}",
                                location=Location(path=path, line=text.count("\n", 0, m.start()) + 1), kind="config")
    for nb in ctx.facts.notebooks.values():
        if nb.error is None and "seed" in nb.code.lower():
            for number, line in enumerate(nb.code.split("\n"), 1):
                if SEED_LINE_RX.search(line) and not line.lstrip().startswith("#"):
                    cell = nb.cell_of_line[number] if number < len(nb.cell_of_line) else None
                    return Evidence(summary=f"seeded in the notebook: {line.strip()[:60]}" +
                                    (f" (cell {cell})" if cell is not None else ""), location=Location(path=nb.path),
                                    kind="notebook")
    return _aspect(ctx, "seeds")


def _aspect(ctx: Context, aspect: str) -> Evidence | None:
    """The first signal-catalog hit showing one reproducibility measure, as evidence."""
    from mlscore.detectors.signal_levels import aspect_hits

    for hit in aspect_hits(ctx, "INFRA1", aspect):
        return Evidence(summary=f"{hit.signal.title}: {hit.text[:80]}", location=Location(path=hit.path, line=hit.line),
                        kind="dependency" if aspect == "pins" else "config")
    return None


#: Dependency files of something other than the model: load tests, docs builds, examples, tests, CI tooling.
ASIDE_DEPS_RX = re.compile(r"(?i)(^|/)[^/]*(load[_-]?test|locust|k6|bench|docs?|examples?|tests?|ci|lint|dev)[^/]*(/|$)")


def _pins(ctx: Context) -> Evidence | None:
    for lock in LOCK_FILES:
        for path in ctx.facts.paths():
            if path == lock or path.endswith("/" + lock):
                return Evidence(summary=f"lock file {lock}", location=Location(path=path, line=1), kind="dependency")
    deps = ctx.deps
    if deps is not None:
        pinned = [p for p in getattr(deps, "packages", ()) if getattr(p, "pinned", False)
                  and getattr(p, "name", "").lower() in CORE_ML]
        loose = [p for p in getattr(deps, "packages", ()) if not getattr(p, "pinned", False)
                 and getattr(p, "name", "").lower() in CORE_ML and not getattr(p, "dev", False)]
        if pinned and len(pinned) >= len(loose):
            # the model's own pins, not those of a load test, a docs build or an example beside it
            p = min(pinned, key=lambda q: (bool(ASIDE_DEPS_RX.search(q.file)), q.file.count("/"), q.file))
            return Evidence(summary=f"core ML libraries pinned exactly ({p.name}{p.spec})",
                            location=Location(path=p.file, line=p.line), kind="dependency")
        if pinned or loose:
            return _aspect(ctx, "pins")  # e.g. loose local requirements, training in a pinned framework container
        return _pins_in_docs(ctx) or _aspect(ctx, "pins")
    # without parsed dependency facts: count exact pins of core ML libraries in requirements files
    core = "|".join(re.escape(n) for n in sorted(CORE_ML, key=len, reverse=True))
    hits = ctx.grep(rf"(?i)^({core})\b\s*([=<>!~]=?|\[|;|$)", limit=200,
                    paths=lambda p: p.rsplit("/", 1)[-1].startswith("requirements") or p.endswith("environment.yml"))
    pinned = [h for h in hits if re.search(r"==\s*[\w.]+\s*($|;|#|\\)", h.text)]
    if pinned and len(pinned) * 2 > len(hits):
        return hit_evidence(pinned[0], f"core ML libraries pinned exactly ({len(pinned)} of {len(hits)})",
                            kind="dependency")
    return None if hits else (_pins_in_docs(ctx) or _aspect(ctx, "pins"))


def _pins_in_docs(ctx: Context) -> Evidence | None:
    """No dependency file names the core libraries: exact versions written down in the docs still pin them."""
    core = "|".join(re.escape(n) for n in sorted(CORE_ML, key=len, reverse=True))
    docs = ctx.grep(rf"(?i)\b({core})\s*==\s*\d[\w.]*", paths=lambda p: p.lower().endswith((".md", ".rst")),
                    limit=3, literals=("==",))
    if len(docs) >= 2:
        return hit_evidence(docs[0], f"core ML library versions pinned in the docs: {docs[0].text[:60]}",
                            kind="dependency")
    return None


def _versioned_data(ctx: Context) -> Evidence | None:
    for path in ctx.facts.paths():
        if path.endswith(".dvc") and not path.startswith(".dvc/"):
            return Evidence(summary="data versioned with DVC", location=Location(path=path, line=1), kind="config")
    if "dvc.lock" in ctx.facts.index:
        return Evidence(summary="pipeline inputs hashed in dvc.lock", location=Location(path="dvc.lock", line=1),
                        kind="config")
    for entry in ctx.facts.index:
        path = entry.path
        if DATA_FILE_RX.search(path) and entry.size > 2048 and re.search(r"(?i)(^|/)(data|dataset|datasets)/", path) \
                and not re.search(r"(?i)(^|/)(tests?|fixtures?|examples?)/", path):
            return Evidence(summary="training data committed to git", location=Location(path=path), kind="data")
    return _aspect(ctx, "versioned-data")


def infra1(ctx: Context, params: dict[str, Any]) -> Outcome:
    measures = {"seeds": _seeds(ctx), "pinned libraries": _pins(ctx), "versioned data": _versioned_data(ctx)}
    present = {k: v for k, v in measures.items() if v is not None}
    missing = [k for k in measures if k not in present]
    evidence = list(present.values())
    if len(present) < int(params.get("min_measures", 2)):
        return Outcome(Level.NONE, evidence,
                       f"only {len(present)} of 3 reproducibility measures ({', '.join(present) or 'none'}); "
                       f"missing: {', '.join(missing)}")
    # an automated check that re-trains and compares with the recorded outputs
    for py in ctx.facts.tests(literals=("reproduc", "determinis", "same_result", "twice")):
        for fn in py.test_functions():
            if re.search(r"(?i)reproduc|determinis|same_result|twice", fn.name) and fn.asserts:
                run = automated_run(ctx, py.path)
                if run:
                    return Outcome(Level.AUTOMATED, [code_evidence(py, fn.line, f"{fn.name} re-trains and compares",
                                                                   Level.AUTOMATED, run, "test"), *evidence],
                                   "seeds, pins and versioned data, and CI checks that training reproduces")
    return Outcome(Level.MANUAL, evidence,
                   f"{len(present)} of 3 reproducibility measures ({', '.join(present)}); no automated check that"
                   " training reproduces")


# -- INFRA2: model spec unit tested --------------------------------------------------------------------

MODEL_PATH_RX = re.compile(r"(?i)(^|/)[^/]*(model|models|net|network|arch|layers?|classifier|regressor|estimator|"
                           r"train|training|trainer|pipeline)[^/]*\.py$|(^|/)(models?|networks?|layers)/([^/]+/)*[^/]*\.py$")
MODEL_API_RX = re.compile(r"(^|[._])(load|load_model|load_checkpoint|from_pretrained|build_model|create_model|"
                          r"get_model|train|fit|\w*predict\w*|forward|encode_\w+|generate|recommend|rank|"
                          # a model factory: `get_recommender("als")`, `load_ranker()`, `make_classifier()`
                          r"_?(create|build|make|get|load)_\w*(model|classifier|regressor|network|net|estimator|"
                          r"recommender|ranker|detector))$")
GATE_PATH_RX = re.compile(r"(?i)(eval|valid|gate|test|check|promot|deploy|metric|bless|quality|register|accept)[^/]*\.py$")
FIT_CALL_RX = re.compile(r"(^|[._])(fit|\w*predict\w*|forward|train|train_model|inference|evaluate|"
                         r"build_model|step|backward|compile|recommend|"
                         # a model factory (Keras style): `model._create_binary_classifier(vocab, hparams)`
                         r"_?(create|build|make|get)_\w*(model|classifier|regressor|network|net|estimator|recommender|"
                         r"ranker))$")
_SCRIPT_ARG_RX = re.compile(r"""["']((?:\./)?[\w./-]+\.py)["']""")
_SHELL_CALL_RX = re.compile(r"(^|\.)(subprocess\.\w+|check_call|check_output|system|Popen|run_cli)$")


def _script_tests(ctx: Context, path_rx: re.Pattern[str]) -> Iterator[TestUse]:
    """Tests that run one of the project's training or model scripts as a program (`subprocess.run([sys.executable,
    "scripts/train.py"])`) and assert on the result (its exit status, what it wrote): the model code built and run
    end to end by a test (LABELING.md I2)."""
    for py in ctx.facts.tests(literals=("subprocess", "check_call", "os.system"),
                              first=lambda p: bool(ctx.automation.effective(p))):
        for fn in py.test_functions():
            if fn.asserts == 0 or not any(_SHELL_CALL_RX.search(c) for c in fn.calls):
                continue
            body = "\n".join(py.lines[fn.line - 1: fn.end_line])
            for m in _SCRIPT_ARG_RX.finditer(body):
                name = m.group(1).removeprefix("./")
                target = name if name in ctx.facts.texts else None
                if target is not None and path_rx.search(target) and not is_test_path(target):
                    yield TestUse(py, fn, target, (name,), fn.calls)
                    break


def infra2(ctx: Context, params: dict[str, Any]) -> Outcome:
    uses = tests_using(ctx, None, name_rx=re.compile(params.get("model_paths", MODEL_PATH_RX.pattern)))
    good = (use for use in uses if any(FIT_CALL_RX.search(c) for c in (use.calls or use.function.calls)))
    # tests of any local module that load or run a model through the project's own API (`clip.load(...)`)
    level, run, use = level_of_tests(ctx, good)
    if level is not Level.AUTOMATED:
        # tests of any local module that load or run a model through the project's own API (`clip.load(...)`)
        api = (u for u in tests_using(ctx, None, name_rx=re.compile(r"\.py$"))
               if any(MODEL_API_RX.search(n) for n in u.names))
        level2, run2, use2 = level_of_tests(ctx, api)
        if level2.rank > level.rank:
            level, run, use = level2, run2, use2
    if level is not Level.AUTOMATED:
        level3, run3, use3 = level_of_tests(ctx, _script_tests(ctx, re.compile(params.get("model_paths",
                                                                                        MODEL_PATH_RX.pattern))))
        if level3.rank > level.rank:
            level, run, use = level3, run3, use3
    outcomes = []
    if use is not None:
        ev = [code_evidence(use.py, use.function.line, f"{use.function.name} exercises {use.target}", level, run,
                            "test")]
        outcomes.append(Outcome(level, ev, "model code is unit tested" + (
            " and CI runs the tests" if level is Level.AUTOMATED else ", but nothing runs the tests automatically")))
    # and what the signal catalog knows (a framework's own model test: `rasa test --fail-on-prediction-errors`)
    return finish(ctx, "INFRA2", outcomes,
                  "no test builds, trains or runs the project's model code and checks the result")


# -- INFRA3: the full pipeline is integration tested ----------------------------------------------------

TRAIN_CMD_RX = re.compile(r"(^|\s)(dvc\s+(repro|exp\s+run)|kedro\s+run|mlflow\s+run|metaflow|"
                          r"python3?\s+(-m\s+)?\S*(train|pipeline|main)\S*|zenml\s+pipeline\s+run|"
                          # a subcommand of the project's CLI or dispatcher: `python cli.py train`, `run.py pipeline`
                          r"python3?\s+\S+\.py\s+(train\w*|pipeline|fit)(\s|$))")


def _dvc_targets_train(ctx: Context, command: str, run: Run) -> bool:
    """`dvc repro STAGE` runs only that stage and the stages upstream of it: it is a training run only when one of
    the files it reaches trains (re-scoring outputs with a frozen model stage is using the pipeline, LABELING.md I3).
    `dvc repro` with no stage, `-P` or `-R` reproduces everything and is taken at its word."""
    m = re.search(r"\bdvc\s+repro\b(.*)", command)
    if m is None:
        return True
    args = m.group(1).split()
    if not [a for a in args if not a.startswith("-")] or {"-P", "--all-pipelines", "-R", "--recursive"} & set(args):
        return True
    start = f"{run.location.path}:{run.location.line}"
    for path in ctx.automation.paths():
        if not path.endswith(".py"):
            continue
        if any(r.chain and r.chain[0] == start for r in ctx.automation.effective(path, imports=True)) \
                and _TRAINING_CODE_RX.search(ctx.facts.texts.get(path, "")):
            return True
    return False


def _runs_training(ctx: Context, command: str) -> bool:
    """Whether a `python path/x.py` command runs training code (the script fits or trains, or imports code that
    does): a build script under `ops/pipeline/` is not the ML pipeline. Commands of pipeline tools and scripts
    outside the tree are taken at their word."""
    m = re.search(r"python3?\s+(?:-m\s+(\S+)|(\S+\.py))", command)
    if m is None:
        return True
    if m.group(1):
        path = ctx.facts.resolve_import(m.group(1), "")
    else:
        name = m.group(2).lstrip("./")
        path = name if name in ctx.facts.texts else next(
            (p for p in ctx.facts.python_paths if p.endswith("/" + name)), None)
    if path is None:
        return True
    text = ctx.facts.texts.get(path, "")
    return bool(_TRAINING_CODE_RX.search(text) or re.search(r"(?i)train|pipeline|fit", " ".join(
        ctx.facts.import_targets(path))) or _reaches_training(ctx, path))


_CHECK_CMD_RX = re.compile(r"(?i)(^|\s)(pytest|python3?\s+(-m\s+)?\S*(eval|test|valid|predict|infer|serv|score|check)"
                           r"\S*|dvc\s+(repro|metrics|exp)|mlflow\s+models\s+(predict|serve)|"
                           r"python3?\s+\S+\.py\s+(eval\w*|accept\w*|test\w*|valid\w*|check\w*|score)(\s|$))")


def _script_path(ctx: Context, command: str) -> str | None:
    m = re.search(r"python3?\s+(?:-m\s+(\S+)|(\S+\.py))", command)
    if m is None:
        return None
    if m.group(1):
        return ctx.facts.resolve_import(m.group(1), "")  # type: ignore[no-any-return]
    name = m.group(2).lstrip("./")
    return name if name in ctx.facts.texts else next((p for p in ctx.facts.python_paths if p.endswith("/" + name)), None)


def _chains_evaluation(ctx: Context, command: str, run: Run) -> bool:
    """Whether a CI run of the training script goes on to evaluate the model or use what it exported (LABELING.md
    I3: loading or preparing data, then training, then evaluation or a usable model): the script or the modules it
    imports compute a metric, or the same CI file runs an evaluation, a test or the model after it. Pipeline tools
    (dvc repro, kedro run, mlflow run) and scripts outside the tree are taken at their word; a job that only
    trains and pickles is training, not an integration test."""
    path = _script_path(ctx, command)
    if path is None:
        return True
    texts = [ctx.facts.texts.get(path, ""), *(ctx.facts.texts.get(t, "") for t in ctx.facts.import_targets(path))]
    if any(METRIC_CODE_RX.search(t) or re.search(r"\.score\(|load_model\(|pickle\.load\(|joblib\.load\(", t)
           for t in texts):
        return True
    return any(other is not run and other.location.path == run.location.path and other_text != command
               and _CHECK_CMD_RX.search(other_text) for other_text, other in ctx.automation.invocations)


def _scheduled_real_pipeline(ctx: Context) -> list[Outcome]:
    """The real pipeline started by a schedule or an orchestrator trigger, chaining training with evaluation
    (LABELING.md I3: "the real pipeline being triggered automatically ... with failure checks"): the files one
    schedule reaches include code that trains and code that computes a metric."""
    reached: dict[str, list[tuple[str, Run]]] = {}
    for path in ctx.automation.paths():
        for run in ctx.automation.effective(path, imports=True):
            if run.kind == "schedule" and run.chain:
                reached.setdefault(run.chain[0], []).append((path, run))
    for _start, items in sorted(reached.items()):
        texts = [ctx.facts.texts.get(path, "") for path, _run in items]
        if any(_TRAINING_CODE_RX.search(t) for t in texts) and any(METRIC_CODE_RX.search(t) for t in texts):
            entry, run = next(((p, r) for p, r in items if r.how != "import"), items[0])
            return [Outcome(Level.AUTOMATED, [Evidence(summary=f"a schedule runs the training pipeline: {entry}",
                                                       location=run.location, level=Level.AUTOMATED, kind="schedule",
                                                       trigger=run.describe())],
                            "a schedule runs the real pipeline end to end (training, then evaluation)")]
    return []


def infra3(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    for text, run in ctx.automation.invocations:
        if run.swallowed and not run.surfaced:
            continue
        if run.kind.startswith("ci_") and TRAIN_CMD_RX.search(text) and not re.search(
                r"\s(--help|-h|--version|-V|--dry-run)\b", text) and _runs_training(ctx, text) \
                and _dvc_targets_train(ctx, text, run) and _chains_evaluation(ctx, text, run):
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(summary=f"CI runs the pipeline: {text[:100]}",
                                                               location=run.location, level=Level.AUTOMATED, kind="ci",
                                                               trigger=run.describe())],
                                    "CI runs the training pipeline end to end"))
            break
    outcomes += _scheduled_real_pipeline(ctx)
    # tests that chain training with evaluation or a usable model
    found_manual = False
    for py in ctx.facts.tests(literals=("train", "fit", "pipeline", "main", "subprocess", "clirunner", "run_cli",
                                        "os.system", "check_call"),
                              first=lambda p: bool(ctx.automation.effective(p))):
        if found_manual:
            break
        if re.search(r"(?i)(^|/)unit(_?tests?)?/|(^|/)test_?unit", py.path):
            continue  # unit tests by the project's own layout; an integration test chains the stages (I3)
        fixtures = _fixtures(ctx, py)
        for fn in py.test_functions():
            body = "\n".join(py.lines[fn.line: fn.end_line])
            calls = _calls_through_fixtures(fn, fixtures)
            lasts = {c.rsplit(".", 1)[-1] for c in calls}
            shell = any(re.search(r"(^|\.)(subprocess\.\w+|check_call|check_output|system|CliRunner|invoke|run_cli)$", c)
                        for c in calls)
            entry = shell or bool(lasts & {"run_pipeline", "main"}) or any(
                c.endswith(("pipeline.run", "session.run", "Session.run")) for c in calls)
            trains = any(re.match(r"(?i)(train\w*|fit|fit_model)$", last) for last in lasts)
            if not (entry or trains) or not re.search(r"(?i)train|pipeline|end_to_end|e2e|integration|script|main",
                                                      fn.name + py.path):
                continue
            if entry and not trains and not (shell and re.search(r"(?i)train|dvc\s+repro|kedro\s+run", body)) and \
                    not _reaches_training(ctx, py.path):
                continue  # `main()` of something that trains nothing (a CLI, a site generator) is not the ML pipeline
            if not entry and not any(PREPARE_CALL_RX.match(last) for last in lasts):
                continue  # fitting a model on arrays made in the test is a unit test of the model (I2), not I3
            if not (fn.asserts or re.search(r"check_call|check=True|returncode|run_cli", body)):
                continue
            run = automated_run(ctx, py.path)
            level = Level.AUTOMATED if run else Level.MANUAL
            outcomes.append(Outcome(level, [code_evidence(py, fn.line, f"{fn.name} runs the pipeline", level, run, "test")],
                                    "an integration test runs the training pipeline"
                                    + (" in CI" if run else ", but nothing runs it automatically")))
            found_manual = True  # automated-first order: nothing after this can be better
            break
    return finish(ctx, "INFRA3", outcomes)


#: Calls that load or prepare data: the stage before training that an integration test chains (LABELING.md I3).
PREPARE_CALL_RX = re.compile(r"(?i)(load\w*|read_\w+|prepar\w*|preprocess\w*|split\w*|make_dataset|ingest\w*|get_data\w*|"
                             r"fetch\w*|build_features|extract\w*|process_data\w*|clean\w*)$")
#: Code that scores a model: the evaluation stage an integration run chains after training.
METRIC_CODE_RX = re.compile(r"\b(mean_squared_error|mean_absolute_error|r2_score|roc_auc_score|accuracy_score|f1_score|"
                            r"precision_score|recall_score|log_loss|classification_report|evaluate)\s*\(")
_TRAINING_CODE_RX = re.compile(r"\.fit\(|\btrain\w*\(|Trainer\(|\.train\(|fit_model\(")


def _reaches_training(ctx: Context, test_path: str) -> bool:
    """Whether a test module imports the project's training code (a module that fits or trains a model)."""
    for target in ctx.facts.import_targets(test_path):
        if _TRAINING_CODE_RX.search(ctx.facts.texts.get(target, "")):
            return True
    return False


# -- INFRA4: model quality validated before serving ----------------------------------------------------

#: Registering, promoting, exporting for serving or deploying a model: a path to serving a gate can stand on.
PATH_TO_SERVING_RX = re.compile(r"(^|\.)(register_model|create_registered_model|create_model_version|"
                                r"set_registered_model_alias|transition_model_version_stage|RegisterModel|ModelStep|"
                                r"upload_model|push_to_hub|deploy|create_endpoint|update_endpoint|Pusher)$")


def path_to_serving(ctx: Context) -> bool:
    """Whether the tree registers, promotes, deploys or serves a model (LABELING.md I4: a gate validates a model
    before serving; test-set evaluation when nothing is deployed or exported is not evidence)."""

    def compute() -> bool:
        if serving_exists(ctx) or any(getattr(job, "deploys", False) for job in ctx.ci):
            return True
        deploy_rx = re.compile(r"(?i)(^|[/_.-])deploy\w*([/_.-]|$)")
        if any(deploy_rx.search(f"{job.file} {job.name}") for job in ctx.ci) or any(
                deploy_rx.search(p) for p in ctx.facts.python_paths if not is_test_path(p)):
            return True  # a deployment job or script: the model goes somewhere, by CI or by hand
        if any(ctx.call_sites(r"register_model|create_model_version|set_registered_model_alias|"
                              r"transition_model_version_stage|RegisterModel|ModelStep|upload_model|push_to_hub|"
                              r"create_endpoint|update_endpoint|Pusher", tests=False, limit=1)):
            return True
        if any(re.search(r"registered_model_name\s*=", ctx.facts.texts.get(p, "")) for p in ctx.facts.python_paths
               if ctx.facts.has_any(p, ("registered_model_name",))):
            return True
        from mlscore.detectors.signal_levels import hits

        return any("INFRA4" in h.signal.informs and h.kind in ("cloudformation", "terraform", "yaml") for h in hits(ctx))

    return ctx.memo("path_to_serving", compute)  # type: ignore[no-any-return]


#: The gate's own file registers, promotes or deploys the model after it (a retraining pipeline's task).
_REGISTERS_RX = re.compile(r"\b\w*(register|promot|deploy|log_model|upload_model|push_model)\w*\(")
_GATE_DEF_LITERALS = ("def eval", "def valid", "def gate", "def check", "def promot", "def accept", "def approv",
                      "def bless", "def quality", "def regist", "def reject", "def _eval", "def _valid", "def _check",
                      "def _gate", "def _promot", "def _accept")
_GATE_FN_NAME_RX = re.compile(r"(?i)eval|valid|gate|check|promot|accept|approv|bless|quality|register|reject")
#: A verdict kept in a flag: `accepted = threshold_min <= metric_value <= threshold_max` (then `if not accepted: raise`).
_GATE_FLAG_RX = re.compile(r"(?i)(\w*(?:accept|pass|ok|good|valid|meets?|approv|bless)\w*)\s*=[^=\n][^\n]*"
                           r"\b(?:score|accuracy|f1|auc|rmse|mse|mae|r2|precision|recall|metric\w*)\b[^\n]*[<>]")


def infra4(ctx: Context, params: dict[str, Any]) -> Outcome:
    if not path_to_serving(ctx) and not report_checks(ctx, "INFRA4"):
        return Outcome(Level.NONE, [], "nothing in the tree registers, deploys or serves a model, so there is no path "
                                       "to serving for a quality gate to guard")
    outcomes = []
    # an explicit threshold check on a model metric that fails the run
    # metric words bounded by letters, not by underscores: `pr_auc_valid`, `new_model_mse`
    gate_rx = re.compile(r"(?i)if\s+(?:.*[^a-z])?(score|accuracy|f1|auc|rmse|mse|mae|r2|precision|recall|metric\w*)"
                         r"(?:[^a-z].*)?[<>]=?.*:\s*$|"
                         r"assert\s+.*\b(score|accuracy|f1|auc|rmse|mse|mae|r2|precision|recall)\w*\s*[<>]=?|"
                         + _GATE_FLAG_RX.pattern.removeprefix("(?i)"))
    gate_files = re.compile(params.get("gate_paths", GATE_PATH_RX.pattern))
    def gate_file(p: str) -> bool:  # a gate by its path, or a module that defines a function named like one
        return p.endswith(".py") and bool(gate_files.search(p) or ctx.facts.has_any(p, _GATE_DEF_LITERALS))

    for hit in ctx.grep(gate_rx, paths=gate_file, limit=80,
                        literals=("score", "accuracy", "f1", "auc", "rmse", "mse", "mae", "r2", "precision", "recall",
                                  "metric")):
        py = ctx.facts.py(hit.path)
        if py is None:
            continue
        if not gate_files.search(hit.path):
            fn = function_at(py, hit.line)  # a gate by its function's name: `def evaluate_candidate(summary)`
            if fn is None or not _GATE_FN_NAME_RX.search(fn.name):
                continue
        following = "\n".join(py.lines[hit.line: hit.line + 4])
        is_assert = hit.text.startswith("assert")
        flag = _GATE_FLAG_RX.match(hit.text.strip())
        if flag is not None:
            # `accepted = threshold_min <= metric_value <= threshold_max` ... `if not accepted: raise ...`
            later = "\n".join(py.lines[hit.line: hit.line + 40])
            m = re.search(rf"(?m)^\s*if\s+not\s+{re.escape(flag.group(1))}\s*:\s*$", later)
            following = later[m.end():].split("\n", 5)[:5] if m else []
            following = "\n".join(following)
        if not is_assert and not re.search(r"raise|sys\.exit|exit\(|return False|return -?[1-9]|abort", following):
            continue
        if _hardcoded_metric(py, hit.text):
            continue  # a placeholder gate comparing constants evaluates no model (G2)
        if re.search(r"(?i)(^|/)(tests?/|test_)", hit.path) and not is_assert:
            continue
        run = automated_run(ctx, hit.path)
        deploy_gated = run is not None and (_deploy_after(ctx, run) or (
            run.kind in ("pipeline", "schedule", "ci_schedule") and _REGISTERS_RX.search(ctx.facts.texts.get(hit.path, ""))))
        level = Level.AUTOMATED if deploy_gated else Level.MANUAL
        outcomes.append(Outcome(level, [hit_evidence(hit, f"quality threshold: {hit.text[:90]}", level)],
                                "a metric threshold decides whether the model may be served" if deploy_gated else
                                "a metric threshold check exists, but nothing in the tree ties it to the path to serving"))
    for text, run in ctx.automation.invocations:
        if re.search(r"dvc\s+metrics\s+diff|cml\s+(comment|send-comment)|cml-send-comment|mlflow\s+.*evaluate", text):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"metrics shown to a person: {text[:80]}",
                                                            location=run.location, kind="ci", trigger=run.describe())],
                                    "metrics are computed automatically and shown to a person, with no pass/fail criterion"))
            break
    outcomes += _champion_challenger(ctx)
    return finish(ctx, "INFRA4", outcomes)


#: Functions that decide whether a candidate model replaces the one in production.
GATE_FUNCTION_RX = re.compile(r"(?i)promot|gate|accept|champion|challenger|compare_models|best_model|should_(deploy|register|"
                              r"promote)|validate_model|model_validation|is_better|beats")
_RIVALS_RX = re.compile(r"(?i)\b(champion|production|prod|current|baseline|incumbent)")
_CANDIDATE_RX = re.compile(r"(?i)\b(candidate|challenger|new)")
_METRIC_WORD_RX = re.compile(r"(?i)rmse|mse|mae|mape|auc|accuracy|f1|precision|recall|r2|loss|score|metric")


def _champion_challenger(ctx: Context) -> list[Outcome]:
    """A function that compares the candidate's metrics with the current (champion) model's and returns a verdict:
    a no-regression gate (LABELING.md I4). Automated when the training pipeline, a schedule or CI runs it and the
    tree has a path to serving; a comparison a person runs is the manual level."""
    out: list[Outcome] = []
    for py in ctx.facts.python_matching(r"champion|challenger|candidate", notebooks=False,
                                        literals=("champion", "challenger", "candidate")):
        if py.is_test_file:
            continue
        for fn in py.functions:
            if not GATE_FUNCTION_RX.search(fn.name):
                continue
            body = "\n".join(py.lines[fn.line - 1: fn.end_line])
            if not (_RIVALS_RX.search(body) and _CANDIDATE_RX.search(body) and _METRIC_WORD_RX.search(body)
                    and re.search(r"[^<>=!]([<>]=?)[^<>=]", body)):
                continue
            if re.search(r"(?im)^\s*(deploy_flag|accepted|passed|promote)\s*=\s*(1|True)\s*(#.*)?$", body):
                continue  # a verdict forced after the fact is no gate (§5 C10)
            run = automated_run(ctx, py.path, kinds=("pipeline", "schedule", "ci_schedule", "ci_push", "ci_release",
                                                     "ci_manual"))
            level = Level.AUTOMATED if run is not None and path_to_serving(ctx) else Level.MANUAL
            out.append(Outcome(level, [code_evidence(py, fn.line, f"{fn.name} compares the candidate with the current "
                                                                  "model's metrics", level, run)],
                               "a no-regression comparison with the current model decides promotion"
                               + (", run by the training pipeline" if level is Level.AUTOMATED else
                                  ", run by hand or not tied to the path to serving")))
            return out
    return out


def _hardcoded_metric(py: Any, line: str) -> bool:
    """Whether the metric a gate compares is a literal constant of the same module (``ACCURACY = 0.93``)."""
    names = re.findall(r"\b([A-Za-z_]\w*)\b", line)
    for name in names:
        if re.search(r"(?i)min|max|threshold|limit|floor|target|budget|toleran|gap|bound", name):
            continue  # the threshold is a constant by design; the metric must be computed
        if re.search(r"(?i)score|accuracy|f1|auc|rmse|mse|mae|r2|precision|recall|metric", name):
            rx = re.compile(rf"^{re.escape(name)}\s*(:\s*float)?\s*=\s*-?\d+(\.\d+)?\s*(#.*)?$")
            if any(rx.match(text) for text in py.lines):
                return True
    return False


def _deploy_after(ctx: Context, run: Any) -> bool:
    """Whether a deployment in the same CI file depends on the job that runs the gate, or a later command of that
    file registers, promotes or deploys the model (a registry the serving side loads from is the path to serving)."""
    for job in ctx.ci:
        if getattr(job, "file", None) == run.location.path and getattr(job, "deploys", False):
            return True
    for text, other in ctx.automation.invocations:
        if other.location.path == run.location.path and (other.location.line or 0) > (run.location.line or 0) \
                and _PROMOTE_CMD_RX.search(text) and not re.search(r"(?i)mkdocs|gh-deploy|gh-pages|sphinx|\bdocs?\b", text):
            return True
    return False


_PROMOTE_CMD_RX = re.compile(r"(?i)(^|[\s/_.-])(register\w*|promot\w*|deploy\w*|release_model|push_model|"
                             r"upload_model)([\s/_.-]|$)")


# -- INFRA5: debuggable on a single example -----------------------------------------------------------

def infra5(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    names = (r"TreeExplainer|KernelExplainer|DeepExplainer|LinearExplainer|shap\.Explainer|LimeTabularExplainer|"
             r"explain_instance|register_forward_hook|IntegratedGradients|force_plot|waterfall|plot_alignment|"
             r"decision_path")
    from mlscore.detectors.model import candidate_file

    for site in ctx.call_sites(names, tests=None):
        if "register_forward_hook" in site.text and not _inspects(ctx, site):
            continue  # a hook the library uses to work (pipelining, offloading), not a tool to inspect one example
        if not is_test_path(site.path) and candidate_file(ctx, site.path):
            continue  # a notebook or script that explains a candidate, not the shipped model (G9)
        if is_test_path(site.path):
            run = automated_run(ctx, site.path)
            level = Level.AUTOMATED if run else Level.MANUAL
        else:
            level, run, _use = level_of_tests(ctx, tests_using(ctx, {site.path}, name_rx=None))
            level = level if level is not Level.NONE else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence(f"per-example inspection: {site.callee(names)}", level, run)],
                                "a single example can be traced or explained"
                                + (" and it is exercised automatically" if level is Level.AUTOMATED else "")))
        if level is Level.AUTOMATED or len(outcomes) >= 12:
            break
    # the project's own single-example tracer: explain_row(), per-row contributions, intermediate outputs
    if not outcomes:
        own = re.compile(r"(?m)^[ \t]*def\s+(explain\w*|\w*contribution\w*|\w*attribution\w*|trace_\w+|"
                         r"debug_(example|row|sample|prediction)\w*|intermediate\w*)\s*\(")
        for path in ctx.facts.python_paths:
            text = ctx.facts.texts[path]
            if is_test_path(path) or "def " not in text:
                continue
            m = own.search(text)
            if m is None:
                continue
            line = text.count("\n", 0, m.start()) + 1
            level, run, _use = level_of_tests(ctx, tests_using(ctx, {path}, name_rx=None))
            level = level if level is not Level.NONE else Level.MANUAL
            outcomes.append(Outcome(level, [Evidence(summary=f"single-example tracer {m.group(1)}()",
                                                     location=Location(path=path, line=line), level=level, kind="code",
                                                     trigger=run.describe() if run else None)],
                                    "the project's own function traces one example through the model"
                                    + (" and CI tests it" if level is Level.AUTOMATED else "")))
            if level is Level.AUTOMATED:
                break
    for m in ctx.manifests:
        if getattr(m, "explainer", False):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="explainer configured in serving",
                                                            location=Location(path=m.path, line=m.line), kind="manifest")],
                                    "an explain endpoint is configured"))
    return finish(ctx, "INFRA5", outcomes)


INSPECT_RX = re.compile(r"(?i)debug|inspect|trace|visuali[sz]|activation|feature_?map|explain|intermediate|probe|"
                        r"interpret|attention_map|saliency")


def _inspects(ctx: Context, site: Any) -> bool:
    """Whether a forward hook serves inspection: the enclosing function (or the hook's own name) says it captures
    activations or intermediate outputs for a person to look at (LABELING.md I5; library hooks are not)."""
    py = ctx.facts.py(site.path) if site.path.endswith(".py") else None
    if py is None:
        return bool(INSPECT_RX.search(site.text))
    fn = next((f for f in py.functions if f.line <= site.line <= f.end_line), None)
    return bool(INSPECT_RX.search(site.text) or (fn is not None and INSPECT_RX.search(fn.name)))


# -- INFRA6: canaried before serving -----------------------------------------------------------------

def infra6(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    for m in ctx.manifests:
        if getattr(m, "canary", False):
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(summary=f"canary rollout: {m.summary}",
                                                               location=Location(path=m.path, line=m.line),
                                                               level=Level.AUTOMATED, kind="manifest")],
                                    "new models receive a slice of traffic and are checked before full rollout"))
    # a SageMaker variant weight alone is not a shift (every variant has one): weighted-variants signals judge splits
    for hit in ctx.grep(r"canaryTrafficPercent|setWeight|kind:\s*Canary\b|trafficPercent",
                        paths=lambda p: p.endswith((".yaml", ".yml", ".json", ".tf", ".py")), limit=3):
        outcomes.append(Outcome(Level.AUTOMATED, [hit_evidence(hit, f"staged traffic shift: {hit.text[:80]}",
                                                               Level.AUTOMATED, "manifest")],
                                "a staged traffic shift is configured"))
    canary_doc = re.compile(r"(?i)canary|staged (rollout|release)|progressive (rollout|delivery)|shadow (deploy|traffic)|"
                            r"blue[- ]green")
    steps = re.compile(r"(?m)^[ \t]*(\d+\.|[-*])\s+\S|```|`[^`\n]{3,}`")
    outcomes += documented(ctx, canary_doc, steps, "documented canary procedure",
                           "a canary procedure is documented and carried out by people",
                           also=re.compile(r"(?i)\d+\s*%|traffic|share|subset|replica|staging"))
    return finish(ctx, "INFRA6", outcomes)


#: The project's own rollback of a model or release (`rollback_serving_release`, `revert_model`): compound names, so
#: a database session's `.rollback()` is not one.
ROLLBACK_CALL_RX = re.compile(r"(?i)(^|\.)(\w+_(roll_?back|revert)\w*|(roll_?back|revert)_\w+)$")


def _rollback_code(ctx: Context) -> list[Outcome]:
    """Code that rolls a model or release back: automated when the pipeline, a schedule or CD calls it on a failed
    check (LABELING.md I7 1: a rollback performed by a system), manual as a command a person runs."""
    out: list[Outcome] = []
    for py, call in ctx.calls(ROLLBACK_CALL_RX, prefilter=r"roll_?back_|_roll_?back|revert_|_revert",
                              literals=("rollback", "roll_back", "revert")):
        if py.cell_of_line is not None or re.search(r"(?i)migrat|alembic|database|_db\b|\bdb_", call.name + py.path):
            continue
        run = automated_run(ctx, py.path, kinds=("pipeline", "schedule", "ci_schedule", "ci_push", "ci_release",
                                                 "ci_manual"))
        level = Level.AUTOMATED if run is not None else Level.MANUAL
        out.append(Outcome(level, [code_evidence(py, call.line, f"the project's rollback: {call.name}", level, run)],
                           "the pipeline rolls the serving model back by itself" if run else
                           "a rollback of the serving model exists as code a person runs"))
        if run is not None:
            break
    return out


# -- INFRA7: rollback ---------------------------------------------------------------------------------

#: An environment variable naming the served model's version, run or registry reference (LABELING.md I7 0.5).
_VERSION_ENV_RX = re.compile(r"os\.(?:environ(?:\.get)?|getenv)\s*[\[(]\s*[\"']((?:\w+_)?(?:MODEL_(?:VERSION|URI|ALIAS|STAGE|"
                             r"TAG|RUN_ID|PATH_VERSION)|RUN_ID|MLFLOW_RUN_ID|MODEL_REGISTRY_VERSION)\w*)[\"']")
#: A registry or run reference to the served model: `models:/churn/3`, `models:/churn@champion`, `runs:/<id>/model`.
_REGISTRY_REF_RX = re.compile(r"\b(models:/[\w.{}$-]+(?:/[\w.{}$-]+|@[\w.{}$-]+)|runs:/[\w.{}$-]+/[\w./{}$-]*)")
#: A deploy command that names an explicit registry version (`az ml model deploy --model churn:3`, `:$(MODEL_VERSION)`).
_DEPLOY_VERSION_RX = re.compile(r"(?i)\b(deploy|serve|create|update)\b.*--model[= ]['\"]?[\w.$(){}-]+:(\d+|[$][({]?[\w.]*VERSION)")


def _explicit_version(ctx: Context) -> list[Outcome]:
    """Serving that selects an explicit, immutable model version, so that reverting is a config change
    (LABELING.md I7 0.5): an environment variable naming the version, run or registry reference read by the serving
    or deployment code; a registry version, alias or run reference it loads (not `latest`); a deploy command that
    names a registry version."""
    out: list[Outcome] = []
    serving = {py.path for py in serving_files(ctx)}
    named = [p for p in ctx.facts.python_paths if p not in serving and not is_test_path(p)
             and re.search(r"(?i)(^|/|_)(deploy|serv|inference|predict|app)[^/]*\.py$", p)]
    for path in [*sorted(serving), *named]:
        if not ctx.facts.has_any(path, ("model_", "run_id", "models:/", "runs:/")):
            continue
        py = ctx.facts.py(path)
        if py is None:
            continue
        text = ctx.facts.texts.get(path, "")
        for rx, what in ((_VERSION_ENV_RX, "an environment variable names the served model version"),
                         (_REGISTRY_REF_RX, "serving loads an explicit registry version, alias or run")):
            for m in rx.finditer(text):
                ref = m.group(1)
                if re.search(r"(?i)latest", ref):
                    continue  # a mutable pointer is no version (I7 not evidence)
                line = text.count("\n", 0, m.start()) + 1
                if py.lines and py.lines[line - 1].lstrip().startswith("#"):
                    continue
                out.append(Outcome(Level.MANUAL, [code_evidence(py, line, f"{what}: {ref}")],
                                   "serving selects an explicit model version, so reverting is a config change"))
                return out
    for text, run in ctx.automation.invocations:
        if _DEPLOY_VERSION_RX.search(text):
            out.append(Outcome(Level.MANUAL, [Evidence(summary=f"the deployment names a registry version: {text[:80]}",
                                                       location=run.location, kind="ci", trigger=run.describe())],
                               "the deployment names an explicit registry version, so reverting is a config change"))
            break
    return out


def infra7(ctx: Context, params: dict[str, Any]) -> Outcome:
    if not serving_exists(ctx) and not report_checks(ctx, "INFRA7"):
        return Outcome(Level.NONE, [], "nothing in the tree serves a model, so there is nothing to roll back")
    outcomes = []
    for m in ctx.manifests:
        if getattr(m, "auto_rollback", False):
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(summary=f"automatic rollback: {m.summary}",
                                                               location=Location(path=m.path, line=m.line),
                                                               level=Level.AUTOMATED, kind="manifest")],
                                    "the rollout strategy rolls back automatically on failed analysis"))
        elif getattr(m, "pinned_version", None):
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"serving pins version {m.pinned_version}",
                                                            location=Location(path=m.path, line=m.line), kind="manifest")],
                                    "serving selects an explicit model version, so reverting is a config change"))
    # a CD workflow that redeploys a chosen earlier version, or rolls back by itself
    rollback_rx = re.compile(r"kubectl\s+.*rollout\s+undo|helm\s+rollback|kubectl\s+.*set\s+image\s+.*\$\{\{\s*"
                             r"(inputs|github\.event\.inputs)\.|helm\s+upgrade\s+.*\$\{\{\s*(inputs|github\.event\.inputs)\.|"
                             r"gcloud\s+run\s+services\s+update-traffic|az\s+ml\s+online-endpoint\s+update\s+.*traffic|"
                             r"mlflow\s+.*(transition|set-alias).*\$\{\{\s*(inputs|github\.event\.inputs)\.")
    for text, run in ctx.automation.invocations:
        if rollback_rx.search(text) and run.kind.startswith("ci_") and not (run.swallowed and not run.surfaced):
            outcomes.append(Outcome(Level.AUTOMATED, [Evidence(summary=f"CD redeploys a chosen earlier version: "
                                                                       f"{text[:80]}", location=run.location,
                                                               level=Level.AUTOMATED, kind="ci", trigger=run.describe())],
                                    "a CD workflow redeploys a chosen earlier model version"))
            break
    outcomes += _rollback_code(ctx)
    model_ptr = [p for p in ctx.facts.paths() if re.search(r"(?i)(model|\.pkl|\.joblib|\.pt|\.onnx|\.h5)[^/]*\.dvc$", p)]
    if model_ptr:
        outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="served model versioned by a DVC pointer",
                                                        location=Location(path=model_ptr[0], line=1), kind="config")],
                                "the served model is a versioned DVC pointer, so reverting is a checkout"))
    for py, call in ctx.calls(r"(^|\.)(set_registered_model_alias|transition_model_version_stage|load_model)$",
                              prefilter=r"models:/|set_registered_model_alias|transition_model_version_stage"):
        if call.name.endswith("load_model") and not any("models:/" in a and not a.rstrip("/").endswith("/latest")
                                                        for a in call.args):
            continue
        outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"model registry version/alias: {call.name}")],
                                "serving loads a registry version or alias, so reverting is a registry change"))
    outcomes += _explicit_version(ctx)
    for path, text in ctx.facts.docs():
        m = re.search(r"(?im)^[ \t]{0,3}#{1,4}\s*.*\b(roll(ing|ed)? ?back|revert(ing)? (a|the) model)", text)
        # a procedure, not a claim: the section must say how (a command or a code block)
        section = text[m.end(): m.end() + 2000] if m else ""
        if m and re.search(r"```|`[^`\n]{3,}`|\b(kubectl|helm|git (checkout|revert)|mlflow|dvc|docker)\b", section) \
                and re.search(r"(?i)\bmodels?\b|\bserving\b|\binference\b|\bendpoints?\b", section):
            line = text.count("\n", 0, m.start()) + 1
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary="documented rollback procedure",
                                                            location=Location(path=path, line=line), kind="doc")],
                                    "a rollback procedure is documented"))
            break
    return finish(ctx, "INFRA7", outcomes)
