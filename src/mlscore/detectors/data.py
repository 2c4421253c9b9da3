"""Detectors for the Data section (DATA1-DATA7)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from mlscore.detectors.code import (
    automated_run,
    is_serving_file,
    level_of_tests,
    on_standard_path,
    tests_using,
)
from mlscore.detectors.common import (
    Context,
    Outcome,
    code_evidence,
    dedupe,
    documented,
    finish,
    hit_evidence,
    script_lines,
)
from mlscore.facts.python import is_test_path
from mlscore.facts.repo import Hit
from mlscore.models import Evidence, Level, Location

# -- DATA1: a schema with constraints beyond types, checked against data ---------------------------------

CONSTRAINT_KW = {"ge", "gt", "le", "lt", "min_length", "max_length", "pattern", "regex", "isin", "in_range",
                 "min_value", "max_value", "multiple_of", "allowed", "nullable", "unique", "str_matches",
                 "min_items", "max_items", "notin", "between"}
#: Classes that hold settings, not feature expectations.
CONFIG_CLASS_RX = re.compile(r"(?i)(config|settings|params|parameters|hparams|hyperparam\w*|options|args|arguments|"
                             r"trainer|training)$")
HYPERPARAM_LINE_RX = re.compile(r"(?i)^\s*(epochs?|learning_rate|lr|batch_size|n_estimators|max_depth|max_iter|"
                                r"num_\w+|n_\w+|dropout|patience|seed|momentum|weight_decay|warmup\w*)\s*[:=]")
SCHEMA_LIBS = ("pandera", "great_expectations", "tensorflow_data_validation", "tfdv", "deepchecks", "soda",
               "pydantic", "pandas_schema", "cerberus", "jsonschema", "voluptuous", "schema")
VALIDATE_CALL_RX = re.compile(r"(^|\.)(validate|check|validate_statistics|run_checkpoint|validate_instance|"
                              r"check_types|parse_obj|model_validate|expect_column_\w+)$")


#: A field declared with a constraint; the call may span lines (`Field(\n    ..., ge=0)`).
CONSTRAINT_RX = re.compile(
    r"\b(Field|Column|conint|confloat|constr|condecimal|conlist)\s*\([^)#]{0,400}?\b(ge|gt|le|lt|min_length|max_length|"
    r"pattern|regex|isin|in_range|multiple_of|min_items|max_items|allowed|unique)\s*=|\bCheck\.\w+\s*\(|"
    r"\b(conint|confloat|constr|condecimal)\s*\(\s*\w+\s*="
)


def _constrained_models(ctx: Context) -> list[tuple[Any, int, str]]:
    """(py facts, declaration line, schema name) for pydantic/pandera/dataclass schemas whose fields carry
    constraints beyond types; found by a line search, so no file is parsed here."""

    def compute() -> list[tuple[Any, int, str]]:
        found: list[tuple[Any, int, str]] = []
        lits = ("field(", "column(", "check.", "conint", "confloat", "constr", "condecimal", "conlist")
        hits = []
        for path in ctx.facts.python_paths:
            if len(hits) >= 200:
                break
            if is_test_path(path) or not ctx.facts.has_any(path, lits):
                continue
            text = ctx.facts.texts[path]
            for m in CONSTRAINT_RX.finditer(text):
                hits.append(Hit(path, text.count("\n", 0, m.start()) + 1, ""))
        for hit in hits:
            if len(found) >= 40:
                break  # enough schemas to look for their uses; a monorepo can have thousands
            lines = ctx.facts.texts[hit.path].splitlines()
            owner = decl = None
            if lines[hit.line - 1][:1] in (" ", "\t"):
                for number in range(hit.line - 1, 0, -1):
                    m = re.match(r"class\s+(\w+)", lines[number - 1])
                    if m:
                        owner, decl = m.group(1), number
                        break
                    if lines[number - 1][:1] not in (" ", "\t", "", ")", "]", "}") and lines[number - 1].strip():
                        break
            if owner is None:
                assigned = _assigned_name_lines(lines, hit.line)
                if assigned is not None:
                    owner, decl = assigned
            if owner is not None and CONFIG_CLASS_RX.search(owner):
                continue  # constraints on settings or hyperparameters, not on features
            if HYPERPARAM_LINE_RX.search(lines[hit.line - 1]):
                continue
            py = ctx.facts.py(hit.path)
            if py is None:
                continue
            decl = decl or hit.line
            if not any(f[0] is py and f[1] == decl for f in found):  # one entry per declaration
                found.append((py, decl, owner or "schema"))
        return found

    return ctx.memo("constrained_models", compute)  # type: ignore[no-any-return]


def _assigned_name_lines(lines: list[str], line: int) -> tuple[str, int] | None:
    for number in range(min(line, len(lines)), max(0, line - 60), -1):
        text = lines[number - 1]
        m = re.match(r"^([A-Za-z_]\w*)\s*(:[^=]+)?=(?!=)", text)
        if m:
            return m.group(1), number
        if text and not text[0].isspace() and not text.startswith((")", "]", "}")):
            return None
    return None


def _schema_uses(ctx: Context, names: set[str]) -> list[tuple[Any, int, str]]:
    """Non-test code that applies a schema class: validates with it or takes it as a route parameter."""
    if not names:
        return []
    rx = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names)) + r")\b")
    uses = []
    for py in ctx.facts.python_matching(rx, notebooks=False):
        if py.is_test_file:
            continue
        text_lines = py.lines
        for call in py.calls:
            parts = call.name.split(".")
            if any(p in names for p in parts[:-1]) and VALIDATE_CALL_RX.search(call.name):
                uses.append((py, call.line, f"{call.name}(...)"))
            elif parts[-1] in names and len(parts) <= 2:  # constructing the model from request data
                uses.append((py, call.line, f"{call.name}(...)"))
        if is_serving_file(ctx, py):
            for number, line in enumerate(text_lines, 1):
                if re.search(r"def \w+\(.*:\s*(" + "|".join(map(re.escape, names)) + r")\b", line) or re.search(
                    r"response_model\s*=\s*(" + "|".join(map(re.escape, names)) + r")\b", line
                ):
                    uses.append((py, number, line.strip()[:120]))
    return uses


_READS_DATA_RX = re.compile(r"\b(read_csv|read_parquet|read_json|read_table|read_excel|read_feather|read_sql\w*|"
                            r"load_dataset|dvc\.api|fetch_openml|np\.load|pq\.read_table)\s*\(|open\([^)]*\.(csv|jsonl?|parquet)")


def _reads_data(ctx: Context, test_path: str) -> bool:
    """Whether a test module (or a conftest.py above it) reads a dataset from a file or a data API, rather than
    building its frames by hand."""
    parts = test_path.split("/")[:-1]
    candidates = [test_path, *("/".join([*parts[:d], "conftest.py"]) for d in range(len(parts), -1, -1))]
    return any(_READS_DATA_RX.search(ctx.facts.texts.get(p, "")) for p in candidates)


def data1(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes: list[Outcome] = []
    models = _constrained_models(ctx)
    schema_names = {name for _py, _line, name in models if name != "schema"}
    evidence = [code_evidence(py, line, f"schema {name} declares constraints beyond types") for py, line, name in models[:2]]
    if models:
        uses = _schema_uses(ctx, schema_names)
        serving = [(py, line, s) for py, line, s in uses if is_serving_file(ctx, py)]
        pipeline = [(py, line, s) for py, line, s in uses if automated_run(ctx, py.path) or on_standard_path(py.path)]
        if serving:
            py, line, s = serving[0]
            outcomes.append(Outcome(Level.AUTOMATED, [
                code_evidence(py, line, f"serving path validates every request: {s}", Level.AUTOMATED),
                *evidence], "a schema with constraints is enforced on every serving request"))
        elif pipeline:
            py, line, s = pipeline[0]
            run = automated_run(ctx, py.path)
            outcomes.append(Outcome(Level.AUTOMATED, [
                code_evidence(py, line, f"schema applied on every run of {py.path}: {s}", Level.AUTOMATED, run),
                *evidence], "the standard training or inference path validates data against the schema"))
        elif uses:
            py, line, s = uses[0]
            outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, line, f"schema applied: {s}"), *evidence],
                                    "a schema with constraints exists and is applied by code a person runs"))
        # tests of the schema that CI runs also make the check automated when they use committed real data
        tested = tests_using(ctx, {py.path for py, _l, _n in models})
        level, run, use = level_of_tests(ctx, tested)
        if use is not None and level is Level.AUTOMATED and run is not None and run.real_data:
            outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(
                use.py, use.function.line, f"{use.function.name} checks data against the schema", level, run,
                "test")], "the schema is checked against real data in CI"))
    outcomes.extend(_validators(ctx))
    outcomes.extend(_loader_checks(ctx))
    # Great Expectations suites and checkpoints, TFDV schemas
    ge_hits = ctx.grep(r"expect_column_\w+|ExpectationSuite|add_expectation|tfdv\.(validate_statistics|infer_schema)|"
                       r"SchemaGen|ExampleValidator|DataFrameSchema|DataFrameModel",
                       paths=lambda p: p.endswith((".py", ".json", ".yml", ".yaml")), limit=20,
                       literals=("expect_column_", "expectationsuite", "add_expectation", "tfdv.", "schemagen",
                                 "examplevalidator", "dataframeschema", "dataframemodel"))
    for hit in ge_hits:
        if is_test_path(hit.path) and not _reads_data(ctx, hit.path):
            continue  # a schema checked on a frame the test builds by hand tests the code, not the data (G8)
        run = automated_run(ctx, hit.path)
        level = Level.AUTOMATED if run and (run.kind in ("pipeline", "schedule", "ci_schedule") or run.real_data) else Level.MANUAL
        outcomes.append(Outcome(level, [hit_evidence(hit, f"data validation: {hit.text[:100]}", level)],
                                "expectations are declared with a data-validation library"))
        break
    # data tests on real data: assertions about nulls / ranges in tests of CI jobs that fetch the data
    real = [p for p in ctx.facts.test_paths if any(r.real_data for r in ctx.automation.effective(p))]
    for py in ctx.facts.tests(literals=("isnull", "isna", "notnull", "between", ".min()", ".max()", "nunique"),
                              first=lambda p: True) if real else ():
        runs = [r for r in ctx.automation.effective(py.path) if r.real_data]
        if not runs:
            continue
        for fn in py.test_functions():
            body = "\n".join(py.lines[fn.line - 1: fn.end_line])
            if fn.asserts and re.search(r"isnull\(\)|isna\(\)|notnull|\.between\(|\.min\(\)|\.max\(\)|nunique|"
                                        r"dtypes?\b|\.shape\b", body):
                outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(
                    py, fn.line, f"{fn.name} asserts expectations on the real data", Level.AUTOMATED, runs[0],
                    "test")], "data expectations are asserted on real data in CI"))
                break
    # results of `mlscore data` runs given to the audit
    return finish(ctx, "DATA1", outcomes)


#: Modules that load or prepare the input data (path words).
LOADER_PATH_RX = re.compile(r"(?i)(^|[/_.-])(load\w*|data|datasets?|datamodules?|ingest\w*|prepar\w*|preprocess\w*|"
                            r"read\w*|etl|io|inputs?|loaders?|features?|validat\w*)([/_.-]|$)")
#: A check of the data itself: shapes, sizes, columns, dtypes, nulls, ranges, label or vocabulary sets.
DATA_PROPERTY_RX = re.compile(r"\.columns\b|\.isnull\(|\.isna\(|\.notna\(|\.notnull\(|"
                              r"\.min\(|\.max\(|\.between\(|\.isin\(|\.unique\(|\.nunique\(|\bisnan\(|sample_rate|"
                              r"\bsampling_rate\b|\bchannels\b|\blabels?\b|\bclasses\b|\bvocab")
#: Shapes and dtypes are expectations only against a declared constant (IMAGE_SIZE, N_CHANNELS): an array's rank
#: or a batch size checked against a literal is an API argument check.
SHAPE_PROPERTY_RX = re.compile(r"(\.shape\b|\.dtypes?\b)[^=!<>]*(==|!=|<=|>=|<|>)\s*[A-Z][A-Z0-9_]{2,}")
#: The other side of the comparison is a declared expectation: a literal, a constant or a literal collection.
EXPECTED_RX = re.compile(r"(==|!=|<=|>=|<|>|\bnot\s+in\b|\bin\b)\s*(-?\d|[A-Z][A-Z0-9_]{2,}\b|[\[({\"']|set\(|\w+\.[A-Z][A-Z0-9_]+)|"
                         r"(-?\d[\d.]*|[A-Z][A-Z0-9_]{2,})\s*(==|!=|<=|>=|<|>)|\.between\(|\.isin\(")


def _loader_checks(ctx: Context) -> list[Outcome]:
    """Asserts and raising checks in the data-loading code that compare the data with declared expectations
    (a shape, a size bound, a column or label set, a value range): a schema checked on every load (LABELING.md D1,
    G5e) when the loader is on the standard path, one a person runs otherwise."""
    out: list[Outcome] = []
    for path in ctx.facts.python_paths:
        if is_test_path(path) or not LOADER_PATH_RX.search(path) or re.search(r"(^|/)testing/", path):
            continue  # test helpers (a `testing/` package) build data; they do not load the project's
        text = ctx.facts.texts[path]
        if "assert" not in text and "raise" not in text:
            continue
        lines = text.split("\n")
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if line.startswith("assert "):
                condition = line[7:]
            elif line.startswith("if ") and line.endswith(":") and any(
                    "raise" in nxt for nxt in lines[number: number + 3]):
                condition = line[3:-1]
            else:
                continue
            if len(condition) > 300 or not (DATA_PROPERTY_RX.search(condition) and EXPECTED_RX.search(condition)
                                            or SHAPE_PROPERTY_RX.search(condition)):
                continue
            if re.match(r"^(not\s+)?isinstance\(", condition):
                continue  # a type check is not an expectation beyond the type
            if re.search(r"(==|!=|>|>=|<)\s*[01]\s*($|\b(and|or)\b|[),])", condition) and not re.search(
                    r"\.isnull|\.isna|\.notna|\.notnull|isnan", condition):
                continue  # "nothing found" is a check that data exists, not an expectation about it
            guard = on_standard_path(path)
            level = Level.AUTOMATED if guard else Level.MANUAL
            out.append(Outcome(level, [Evidence(summary=f"the data loader checks an expectation: {line[:90]}",
                                                location=Location(path=path, line=number), level=level, kind="code")],
                               "the standard data-loading code checks the data against declared expectations on "
                               "every load and fails on a violation" if guard else
                               "the data-loading code checks the data against declared expectations when a person "
                               "runs it"))
            break
        if len(out) >= 3 or any(o.level is Level.AUTOMATED for o in out):
            break
    return out


SCHEMA_FILE_RX = re.compile(r"(?i)(^|/)([^/]*schema[^/]*\.(json|ya?ml|pbtxt)|expectations?/[^/]+\.json|"
                            r"great_expectations/expectations/.+\.json)$")
JSON_SCHEMA_KW_RX = re.compile(r'"(minimum|maximum|exclusiveMinimum|exclusiveMaximum|enum|pattern|minLength|maxLength)"\s*:|'
                               r"\b(min_value|max_value|allowed_values|expectation_type|minimum|maximum)\s*:|"
                               r"int_domain|float_domain|string_domain")
VALIDATOR_NAME_RX = re.compile(r"(?i)^(validate|check|verify|assert|enforce)\w*")


def schema_files(ctx: Context) -> list[str]:
    """Declared schema artefacts with constraints beyond types (JSON Schema, TFDV, GE suites, YAML)."""

    def compute() -> list[str]:
        out = []
        for path in ctx.facts.paths():
            if SCHEMA_FILE_RX.search(path) and not re.search(r"(?i)(^|/)(tests?|fixtures?)/|rule\.schema|report\.schema",
                                                              path):
                text = ctx.facts.read(path) or ""
                if JSON_SCHEMA_KW_RX.search(text):
                    out.append(path)
        return out

    return ctx.memo("schema_files", compute)  # type: ignore[no-any-return]


def _validators(ctx: Context) -> list[Outcome]:
    """Validation functions that compare data with declared expectations and raise, and who calls them."""
    files = schema_files(ctx)
    names = [p.rsplit("/", 1)[-1] for p in files]
    modules: list[Any] = []
    if names:
        lits = tuple(n.lower() for n in names)
        named = re.compile(r"(?i)(^|/)[^/]*(schema|valid|expect|contract)[^/]*\.py$")
        for path in ctx.facts.python_paths:
            if not (named.search(path) or ctx.facts.has_any(path, lits)):
                continue
            py = ctx.facts.py(path)
            if py is not None and not py.is_test_file and "raise" in ctx.facts.texts[path]:
                modules.append(py)
    validators: dict[str, tuple[Any, Any]] = {}
    for py in modules:
        for fn in py.functions:
            if VALIDATOR_NAME_RX.search(fn.name) and any("raise" in line for line in py.lines[fn.line - 1: fn.end_line]):
                validators[fn.name] = (py, fn)
            elif VALIDATOR_NAME_RX.search(fn.name):
                validators.setdefault(fn.name, (py, fn))
    if not validators:
        if files:
            return [Outcome(Level.MANUAL, [Evidence(summary="declared schema with constraints",
                                                    location=Location(path=files[0], line=1), kind="config")],
                            "a machine-readable schema with constraints is declared, but no code checks data against it")]
        return []
    outcomes = []
    decl = [Evidence(summary="declared schema with constraints", location=Location(path=files[0], line=1), kind="config")]
    rx = re.compile(r"\b(" + "|".join(map(re.escape, validators)) + r")\s*\(")
    for py in ctx.facts.python_matching(rx, notebooks=False):
        for call in py.calls:
            short = call.name.rsplit(".", 1)[-1]
            if short not in validators or validators[short][0].path == py.path and not py.is_test_file:
                continue
            if py.is_test_file:
                run = automated_run(ctx, py.path)
                if run is not None and (run.real_data or _committed_data(ctx)):
                    outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(py, call.line, f"CI checks data with {short}()",
                                                                            Level.AUTOMATED, run, "test"), *decl],
                                            "CI validates committed data against the schema"))
                continue
            if is_serving_file(ctx, py) or on_standard_path(py.path):
                outcomes.append(Outcome(Level.AUTOMATED, [code_evidence(py, call.line,
                                                                        f"{short}() guards every run of {py.path}",
                                                                        Level.AUTOMATED), *decl],
                                        "the standard training or serving path validates data against the schema and "
                                        "raises on violations"))
            else:
                outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, call.line, f"data checked with {short}()"), *decl],
                                        "data is checked against the schema by code a person runs"))
    if not outcomes:
        py, fn = next(iter(validators.values()))
        outcomes.append(Outcome(Level.MANUAL, [code_evidence(py, fn.line, f"validator {fn.name}()"), *decl],
                                "a validator checks data against declared expectations; nothing runs it automatically"))
    return outcomes


def _committed_data(ctx: Context) -> bool:
    return any(re.search(r"(?i)\.(csv|parquet|jsonl|tsv)$", p) and re.search(r"(?i)(^|/)data(sets?)?/", p)
               for p in ctx.facts.paths())


# -- DATA2: all features are beneficial -------------------------------------------------------------------



def data2(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    names = (r"permutation_importance|SelectKBest|SelectFromModel|RFE|RFECV|mutual_info_\w+|"
             r"SequentialFeatureSelector|summary_plot|plot_importance|FeatureLabelCorrelation|get_feature_importance|"
             r"shap_values")
    sites = []
    for site in ctx.call_sites(names):
        if site.callee(names).endswith("shap_values") and not _global_attribution(ctx, site.path):
            continue  # SHAP values of single examples are INFRA5; the global importance is DATA2
        sites.append(site)
    sites.sort(key=lambda s: automated_run(ctx, s.path, kinds=("pipeline", "schedule", "ci_schedule")) is None)
    for site in sites:
        run = automated_run(ctx, site.path, kinds=("pipeline", "schedule", "ci_schedule"))
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence(f"feature analysis: {site.callee(names)}", level, run)],
                                "feature importance or selection is computed" + (" in an automated pipeline" if run else "")))
        if level is Level.AUTOMATED or len(outcomes) >= 4:
            break
    # feature_importances_ is an attribute, not a call
    for hit in ctx.grep(r"\.feature_importances_|\.coef_\b", paths=lambda p: p.endswith((".py",)), limit=5)[:1]:
        outcomes.append(Outcome(Level.MANUAL, [hit_evidence(hit, "feature importances read")],
                                "feature importances are computed"))
    for nb in ctx.facts.notebooks.values():
        if nb.error is not None or not nb.has_outputs:
            continue
        text = nb.code
        m = re.search(r"feature_importances_|permutation_importance|shap\.summary_plot|SelectKBest|mutual_info", text)
        if m:
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"feature analysis with recorded outputs: {m.group(0)}",
                                                            location=Location(path=nb.path), kind="notebook")],
                                    "a notebook records a feature analysis"))
    return finish(ctx, "DATA2", outcomes)


def _global_attribution(ctx: Context, path: str) -> bool:
    text = ctx.facts.texts.get(path)
    if text is None and path in ctx.facts.notebooks:
        text = ctx.facts.notebooks[path].code
    return bool(re.search(r"summary_plot|\.mean\(|abs\(|feature_importance|plots\.bar|plots\.beeswarm", text or ""))


# -- DATA3: feature cost (people) -------------------------------------------------------------------------

FEATURE_COST_PATH_RX = re.compile(r"(?i)(^|/)[^/]*(feature[_-]?(cost|latency|timing|budget|benchmark)|per[_-]?feature)"
                                  r"[^/]*\.py$")
TIMING_LINE_RX = re.compile(r"(?i)^\s*\w*(cost|latency|elapsed|duration|took|ms|seconds)\w*\s*=.*"
                            r"(perf_counter|time\(\)|monotonic|timeit|process_time)")
UNIT_RX = re.compile(r"\d+(\.\d+)?\s*(ms|µs|us|s|sec|seconds|MB|GB|KB|MiB|%|x)\b|\$\s*\d")


def data3(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    # code that measures each feature's cost (a per-feature timing or budget script)
    for path, line, run in script_lines(ctx, FEATURE_COST_PATH_RX, TIMING_LINE_RX):
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [Evidence(summary="each feature's compute cost is measured",
                                                 location=Location(path=path, line=line), level=level, kind="code",
                                                 trigger=run.describe() if run else None)],
                                "per-feature cost is measured" + (" automatically" if run else " by a script")))
    # a recorded review: a section about per-feature cost with measured values (not a plan or a TODO)
    heading = re.compile(r"(?i)(per[- ]feature|feature)[- ](cost|latency|budget|compute|price)")
    outcomes += documented(ctx, heading, UNIT_RX, "per-feature cost recorded",
                           "the cost of each feature is assessed and recorded")
    return finish(ctx, "DATA3", outcomes,
                  "feature cost is rarely visible in a repository; record the review as an attestation")


# -- DATA4: meta-level requirements ----------------------------------------------------------------------

def data4(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    # no lookaround, so grep tests whole files on RE2 (kserve's CRDs say "protected" and "restricted" often)
    rx = re.compile(r"(?i)(?:^|[^a-z])(forbidden|banned|prohibited|deny|denied|disallowed|blocked|restricted|sensitive|"
                    r"protected|pii)_?(features?|columns?|attributes?|fields?)(?:[^a-z]|$)|"
                    r"^[ \t]*(forbidden|banned|prohibited|denied|excluded|protected|sensitive)[ \t]*:[ \t]*\[")
    lits = ("forbidden", "banned", "prohibited", "deny", "denied", "disallowed", "blocked", "restricted", "sensitive",
            "protected", "pii", "excluded")
    # the requirement, declared in code or config, and a test that checks the model's features against it
    declared = [h for h in ctx.grep(rx, paths=lambda p: p.endswith((".py", ".yaml", ".yml", ".toml", ".json"))
                                    and not is_test_path(p), limit=10, literals=lits)]
    if declared:
        enforcing = None
        # a test that names the declared list (FORBIDDEN_FEATURES, `protected:` ...) checks the model against it
        names = {m.group(0).lower() for h in declared for m in re.finditer(r"[A-Za-z_]\w*", h.text) if rx.search(m.group(0))}
        for py in ctx.facts.tests(literals=tuple(sorted(names)) or lits, first=lambda p: bool(ctx.automation.effective(p))):
            fn = next((f for f in py.test_functions() if f.asserts and rx.search("\n".join(py.lines[f.line - 1:f.end_line]))),
                      None)
            if fn is not None:
                enforcing = (py, fn)
                break
        ev = [hit_evidence(declared[0], "requirement on which features may be used", kind="config")]
        if enforcing is not None:
            py, fn = enforcing
            run = automated_run(ctx, py.path)
            level = Level.AUTOMATED if run else Level.MANUAL
            ev.append(code_evidence(py, fn.line, f"{fn.name} checks the model's features against it", level, run,
                                    "test"))
            outcomes.append(Outcome(level, ev, "a deny-list of features is enforced automatically" if run else
                                    "a deny-list of features is checked by a test nobody runs automatically"))
    for site in ctx.call_sites(r"AnalyzerEngine|AnonymizerEngine|scrubadub\.\w+")[:2]:
        run = automated_run(ctx, site.path)
        level = Level.AUTOMATED if run else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence("PII scan of the data", level, run)],
                                "training data is scanned for personal data"))
    policy = re.compile(r"(?i)data[- ]use|polic(y|ies)|\bpii\b|personal data|sensitive|protected|prohibited|consent|"
                        r"licen[cs]e (review|compliance)|allowed sources|content filter")
    adhered = re.compile(r"(?i)\b(removed|excluded|dropped|filtered( out)?|not used|never used|reviewed|only (sites|sources|"
                         r"columns|features))\b")
    outcomes += documented(ctx, policy, adhered, "data reviewed against a data-use requirement",
                           "the project's data or features were reviewed against a documented requirement")
    return finish(ctx, "DATA4", outcomes)


# -- DATA5: privacy controls -----------------------------------------------------------------------------

PRIVACY_IAC_RX = re.compile(
    r"block_public_acls\s*=\s*true|block_public_policy\s*=\s*true|restrict_public_buckets\s*=\s*true|"
    r"public_access_prevention\s*=\s*\"enforced\"|kms_key_name|kms_master_key_id|sse_algorithm\s*=\s*\"aws:kms\"|"
    r"BlockPublicAcls:\s*true|BucketEncryption|KmsKeyId|default_kms_key_name|encryption_configuration"
)


def data5(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    for hit in ctx.grep(PRIVACY_IAC_RX, paths=lambda p: p.endswith((".tf", ".yaml", ".yml", ".json", ".hcl")), limit=10)[:2]:
        outcomes.append(Outcome(Level.AUTOMATED, [hit_evidence(hit, "data-store restriction in infrastructure code",
                                                               Level.AUTOMATED, "config")],
                                "a data-store restriction is enforced in infrastructure code"))
    for site in ctx.call_sites(r"AnonymizerEngine|anonymi[sz]e\w*|pseudonymi[sz]e\w*")[:2]:
        run = automated_run(ctx, site.path, kinds=("pipeline", "schedule", "ci_schedule"))
        level = Level.AUTOMATED if run or on_standard_path(site.path) else Level.MANUAL
        outcomes.append(Outcome(level, [site.evidence("personal data removed or pseudonymised", level, run)],
                                "personal data is removed or pseudonymised in the pipeline"))
    privacy = re.compile(r"(?i)privacy|retention|deletion|anonymi[sz]|pseudonymi[sz]|personal data|gdpr|data protection")
    control = re.compile(r"(?i)\b(hash(ed|es)?|pseudonym\w*|anonymi[sz]\w*|delete[ds]?|deletion|retention|encrypt\w*|"
                         r"access (is )?(restricted|limited)|least privilege|redact\w*)\b")
    outcomes += documented(ctx, privacy, control, "documented privacy procedure",
                           "privacy controls for the pipeline's data are documented as a procedure")
    return finish(ctx, "DATA5", outcomes,
                  "no privacy control over the pipeline's data is visible; attest reviewed controls")


REGISTRY_FILE_RX = re.compile(r"(?i)(^|/)(features?|feature[_-]?(registry|defs|definitions|store|specs?|config)|"
                              r"params|config)\.(ya?ml|json|toml)$")


def _feature_registry(ctx: Context) -> list[Outcome]:
    """A declarative feature registry read by more than one stage (and driven by a pipeline, for 1)."""
    out: list[Outcome] = []
    registries: dict[str, list[tuple[str, int]]] = {}  # file name -> (path, line of `features:`)
    for path in ctx.facts.paths():
        if not REGISTRY_FILE_RX.search(path):
            continue
        text = ctx.facts.read(path) or ""
        m = re.search(r"(?m)^[ \t]*\"?features\"?\s*[:=]", text)
        # per-feature entries (`- name: x`) or typed lists (`numeric: [a, b]`) under `features:`
        if m is None or not re.search(r"(?m)^[ \t]*-?\s*\"?name\"?\s*[:=]|^[ \t]+(numeric|numerical|categorical|"
                                      r"continuous|discrete|text|boolean|dense|sparse)\w*\s*:\s*\[", text[m.end():]):
            continue
        registries.setdefault(path.rsplit("/", 1)[-1], []).append((path, text.count("\n", 0, m.start()) + 1))
    code = [p for p in ctx.facts.python_paths if not re.search(r"(^|/)tests?/", p)]
    # registries that share a file name (one per package of a monorepo) are judged together: one pass each
    for name, entries in registries.items():
        path, line = entries[0]
        readers = {p for p in code if name in ctx.facts.texts[p]}
        consumers = set(readers)
        if readers:
            consumers.update(p for p in code if readers & ctx.facts.import_targets(p))
        paths = {p for p, _ in entries}
        stages = [s for s in ctx.cache.get("dvc_stages", []) if any(d in paths for d in s.deps)]
        if len(consumers) < 2 and not stages:
            continue
        ev = [Evidence(summary="declarative feature registry", location=Location(path=path, line=line), kind="config")]
        run = None
        if stages:
            for text_, r in ctx.automation.invocations:
                if re.search(r"\bdvc\s+(repro|exp\s+run)\b", text_) and not (r.swallowed and not r.surfaced):
                    run = r
                    break
        if run is None:
            run = next((r for p in consumers for r in ctx.automation.effective(p)
                        if r.kind in ("pipeline", "schedule", "ci_schedule")), None)
        if run is not None:
            ev.append(Evidence(summary="the pipeline builds, trains and validates from the registry",
                               location=run.location, level=Level.AUTOMATED, kind="ci", trigger=run.describe()))
            out.append(Outcome(Level.AUTOMATED, ev, "features are declared once in a registry that an automated "
                                                    "pipeline takes through transformation and training"))
        else:
            out.append(Outcome(Level.MANUAL, ev, "features are declared once in a registry read by several stages"))
    return out


# -- DATA6: new features quickly ------------------------------------------------------------------------

def data6(ctx: Context, params: dict[str, Any]) -> Outcome:
    outcomes = []
    if any(p.endswith("feature_store.yaml") for p in ctx.facts.paths()):
        views = ctx.grep(r"\bFeatureView\(|\bFeatureService\(", paths=lambda p: p.endswith(".py"), limit=3)
        if views:
            outcomes.append(Outcome(Level.MANUAL, [hit_evidence(views[0], "feature registry (Feast)", kind="config")],
                                    "features are declared once in a feature store"))
    heading = re.compile(r"(?im)^[ \t]{0,3}#{1,4}[ \t]*(how to\s+)?(add|adding|implement|implementing|create|creating)"
                         r"\s+(a\s+)?(new\s+)?(features?|inputs?|language|columns?|signals?)\b")
    for path, text in ctx.facts.docs():
        m = heading.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            outcomes.append(Outcome(Level.MANUAL, [Evidence(summary=f"documented procedure: {m.group(0).strip()[:80]}",
                                                            location=Location(path=path, line=line), kind="doc")],
                                    "a procedure for adding a feature or input is documented"))
            break
    outcomes.extend(_feature_registry(ctx))
    return finish(ctx, "DATA6", outcomes,
                  "lead time for a new feature is not visible in a repository; attest the measured time")


# -- DATA7: feature code is tested ----------------------------------------------------------------------

FEATURE_PATH_RX = re.compile(
    r"(?i)(^|/)[^/]*(feature|preprocess|pre_process|processing|transform|clean|encod|tokeni[sz]|"
    r"text|audio|dataset|datasets|data_?loader|loader|schema|split|engineer|prepare|etl|normali[sz]|adapter|reader|"
    r"ingest|impute)[^/]*\.py$|"
    r"(^|/)(data|features|preprocessing|processing|transforms?|io|audio|images?|vision|text|loaders?|adapters?|"
    r"readers?|ingestion)/[^/]*\.py$"
)
#: Functions on the path from raw data to model input, whatever module holds them (a Kedro `nodes.py`).
FEATURE_FUNC_RX = re.compile(r"(?i)(^|[._])(split\w*|preprocess\w*|\w*features?|clean\w*|encode\w*|transform\w*|"
                             r"tokeni[sz]e\w*|normali[sz]e\w*|impute\w*|scale\w*|load_(data|audio|"
                             r"image|text)\w*|read_data\w*|prepare\w*)$")
#: Calls that run a model: a test that makes them tests the model, even if it tokenises its inputs first.
MODEL_CALL_RX = re.compile(r"(?i)(^|[._])(load_model|from_pretrained|forward|generate|\w*predict\w*|fit|train\w*|"
                           r"encode_image|encode_text|available_models)$")


def _checks_feature_output(use: Any) -> bool:
    """Whether a test checks the feature code's output rather than a model's: it calls the feature code itself,
    or neither it nor its fixtures run a model (the fixture's feature output is what the asserts check)."""
    own = use.function.calls
    direct = any(c == n or c.endswith("." + n) for c in own for n in use.names)
    return direct or not any(MODEL_CALL_RX.search(c) for c in (use.calls or own))
NOT_FEATURE_FUNC_RX = re.compile(r"(?i)model|train|predict|fit|evaluat|score|report|plot")


def data7(ctx: Context, params: dict[str, Any]) -> Outcome:
    def outside_tests(u: Any) -> bool:
        return not u.target.startswith(("tests/", "test/")) and "/tests/" not in u.target

    uses = (u for u in tests_using(ctx, None, name_rx=re.compile(params.get("feature_paths", FEATURE_PATH_RX.pattern)))
            if outside_tests(u) and _checks_feature_output(u))
    level, run, use = level_of_tests(ctx, uses)
    if level is not Level.AUTOMATED:
        # feature and input functions called by name from any module of the project
        by_name = (u for u in tests_using(ctx, None, name_rx=re.compile(r"\.py$")) if outside_tests(u)
                   and any(FEATURE_FUNC_RX.search(n) and not NOT_FEATURE_FUNC_RX.search(n) for n in u.names)
                   and not any(MODEL_CALL_RX.search(n) for n in u.names)  # a model test that prepares inputs
                   and not any(n.rsplit(".", 1)[-1] == "load" for n in u.names)  # `clip.load`: a model
                   and _checks_feature_output(u))
        level2, run2, use2 = level_of_tests(ctx, by_name)
        if level2.rank > level.rank:
            level, run, use = level2, run2, use2
    if use is None:
        return Outcome(Level.NONE, [], "no test calls the project's feature or preprocessing code and checks its output")
    evidence = [code_evidence(use.py, use.function.line,
                              f"{use.function.name} tests {use.target} ({', '.join(use.names)})", level, run, "test")]
    for other in itertools.islice(uses, 8):
        if other.py.path != use.py.path and len(evidence) < 4:
            evidence.append(code_evidence(other.py, other.function.line,
                                          f"{other.function.name} tests {other.target}", level, None, "test"))
    rationale = ("feature code is unit tested and CI runs the tests" if level is Level.AUTOMATED
                 else "feature code has unit tests, but nothing runs them automatically")
    return Outcome(level, dedupe(evidence), rationale)
