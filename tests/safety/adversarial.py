"""A generated corpus of texts that make backtracking regular expressions (and careless parsers) take
super-linear time: long runs of separators and brackets, deep nesting, megabyte lines, unclosed constructs.

Each text ends with a line of the vocabulary the detectors' literal prefilters look for (``cross_val_score``,
``.fit(``, ``alert``, ``expr``...), so the expensive patterns behind those prefilters really run over it. The same
texts are written into every kind of file an audit reads. Nothing here is copied from a real repository: the
shapes are made up to exercise the pattern classes that backtrack (nested or adjacent quantifiers over
overlapping classes, like ``(\\n[ \\t]+.*){0,8}`` or ``[^)]*,[^)]*,[^)]*``).
"""

from __future__ import annotations

import json
from pathlib import Path

#: Words that open the literal prefilters of the detectors and extractors, so the patterns behind them run.
VOCABULARY = (
    "for x in [a, b, c]: cross_val_score cross_validate model.fit( score GridSearchCV optuna Field( pytest "
    "assert schema great_expectations expect_column pandera drift psi ks_2samp alert: expr: record: "
    "histogram_quantile latency prometheus grafana panels canary rollout weight: setWeight analysis "
    "requirements pip-compile --hash dependabot renovate schedule cron airflow DAG( dvc repro mlflow "
    "log_metric seed random_state np.random.seed torch.manual_seed feature_importances_ shap fairness "
    "slice groupby roc_auc accuracy f1 model card README privacy PII encrypt staleness retrain nan inf "
    "isnan clip kubectl apply helm upgrade docker build healthcheck readinessProbe livenessProbe "
)

SIZE = 120_000  # characters of each repeated shape: large enough that a quadratic pattern takes seconds


def shapes(size: int = SIZE) -> dict[str, str]:
    """Name -> adversarial text (every one ends with the vocabulary line); ``size``: characters of each run."""

    def _fill(unit: str, scale: float = 1.0) -> str:
        return unit * max(1, int(size * scale) // max(1, len(unit)))

    out = {
        # separators and brackets on one long line, closed and unclosed
        "commas": "x = [" + _fill("a, ") + "\n",
        "commas_unclosed": "for x in [" + _fill("a, ") + "\n    model.fit(x)\n",
        "brackets": _fill("[(") + "\n",
        "brackets_closed": _fill("[") + _fill("]") + "\n",
        "nested_quotes": _fill("\"'") + "\n",
        "braces": _fill("{\"a\": ") + "\n",
        # the loop-header shape whose body lines each start with a long run of indentation
        "indented_loop_bodies": _fill("for x in [a, b, c]:\n" + ("\t" * 60 + "y = 1\n") * 9 + "z = 2\n", 2),
        "spaced_loop_bodies": _fill("for C in (1, 2, 3):\n" + (" " * 120 + "y = C\n") * 9 + "\n", 2),
        # many openings of a call, and of the same call with arguments that never close
        "field_openings": _fill("Field(") + "\n",
        "field_args": _fill("Field(default=1, ge=0, ") + "\n",
        "call_chain": _fill("x.fit(") + "\n",
        # runs of blanks before a colon (key: value and dict patterns), and tabs mixed in
        "spaces_before_colon": "key" + " " * size + ":\n" + "k" + "\t " * (size // 2) + ": v\n",
        "many_colons": _fill("a: ") + "\n",
        "dashes": _fill("- ") + "\n",
        "hashes": _fill("#") + "\n" + _fill("# a\n"),
        "pipes": _fill("| a ") + "\n",
        "backticks": _fill("```") + "\n",
        "backslashes": _fill("\\") + "\n",
        "continuations": _fill("RUN a \\\n"),
        "and_chains": "RUN " + _fill("a && ") + "\n",
        "template_braces": _fill("{{ .Values.") + "\n" + _fill("${VAR") + "\n",
        "version_dots": "pkg==" + _fill("1.") + "\n",
        "extras": "pkg[" + _fill("a,") + "\n",
        "equals": _fill("= ") + "\n",
        "words": _fill("score ") + "\n",
        "newlines": "\n" * size,
        "blank_indented_lines": _fill(" " * 40 + "\n"),
        # a megabyte on one line
        "megabyte_line": "x = '" + "a" * (size * 8) + "'\n",
        "megabyte_spaces": " " * (size * 8) + ":\n",
    }
    return {name: text + VOCABULARY + "\n" for name, text in out.items()}


#: Where the texts go: one file per shape and kind; YAML goes where each YAML extractor looks.
KINDS = ("py", "ipynb", "yml", "md", "json", "Dockerfile", "Jenkinsfile", "requirements")
LARGE = ("megabyte_line", "megabyte_spaces")


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": [source[:5000]]}], "source": [source]}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def write_corpus(root: Path, names: list[str] | None = None, size: int = SIZE) -> dict[str, int]:
    """Write the corpus under ``root``; returns relative path -> characters. Megabyte shapes go only into the
    kinds that are read at that size (.py, .yml, Dockerfile)."""
    texts = shapes(size)
    written: dict[str, int] = {}

    def put(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written[rel] = len(text)

    yaml_dirs = (".github/workflows", "deploy", "monitoring", "pipelines")
    for i, name in enumerate(sorted(names or texts)):
        text = texts[name]
        large = name in LARGE
        put(f"src/adv/{name}.py", text)
        if large:
            put(f"{yaml_dirs[i % len(yaml_dirs)]}/{name}.yml", "kind: Deployment\napiVersion: apps/v1\n# " + text)
            put(f"docker/{name}/Dockerfile", "FROM python:3.11\nRUN " + text)
            continue
        put(f"notebooks/{name}.ipynb", notebook(text))
        put(f"{yaml_dirs[i % len(yaml_dirs)]}/{name}.yml", text)
        put(f"deploy/k8s-{name}.yaml", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nspec:\n  x: " + text)
        put(f"docs/{name}.md", "# " + text)
        put(f"config/{name}.json", text)
        put(f"docker/{name}/Dockerfile", "FROM python:3.11\nRUN " + text)
        put(f"ci/{name}/Jenkinsfile", "pipeline { stages { stage('t') { steps { sh '" + text)
        put(f"reqs/{name}/requirements.txt", text)
    return written
