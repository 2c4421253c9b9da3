"""Malformed and adversarial file contents: each becomes a diagnostic and the audit goes on."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.safety.hostile import assert_completed, audit

pytestmark = pytest.mark.timeout(180)


def _write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def _base(root: Path) -> None:
    _write(root, "src/ok.py", "def f(x):\n    return x + 1\n")
    _write(root, "tests/test_ok.py", "from src.ok import f\n\ndef test_f():\n    assert f(1) == 2\n")


def test_binary_and_non_utf8_python(tmp_path):
    root = tmp_path / "repo"
    _base(root)
    noise = random.Random(0).randbytes(64 * 1024)
    _write(root, "src/noise.py", noise)
    _write(root, "src/nul.py", b"import os\x00\x00\nx = 1\n")
    _write(root, "src/latin1.py", b"# caf\xe9 cr\xe8me\nname = 'd\xe9j\xe0'\n")
    _write(root, "src/bad_coding.py", b"# -*- coding: no-such-codec -*-\nx = 1\n")
    _write(root, "src/bom_then_latin.py", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n")
    _write(root, "README.md", b"# Model \xff\xfe\xfd\nAccuracy \x80 0.9\n")
    _write(root, "requirements.txt", b"numpy==1.\xff\nscikit-learn\x00==1.4\n")
    _write(root, ".github/workflows/ci.yml", b"on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: pytest \xff\n")
    _write(root, "tests/test_binary.py", noise[:4096])
    run = audit(root)
    assert_completed(run)
    assert {"src/noise.py", "src/nul.py"} <= run.diagnostic_paths(), run.diagnostics


def test_malformed_yaml_json_toml_ipynb(tmp_path):
    root = tmp_path / "repo"
    _base(root)
    _write(root, ".github/workflows/ci.yml", "on: [push\njobs: {\n  test: steps: - run\n")
    _write(root, ".github/workflows/list.yml", "- just\n- a list\n")
    _write(root, ".github/workflows/scalar.yml", "42\n")
    _write(root, ".github/workflows/null.yml", "")
    _write(root, ".github/workflows/tags.yml", "on: !!python/object/apply:os.system ['touch PWNED']\n")
    _write(root, ".gitlab-ci.yml", "\tstages:\n\t- test\n")
    _write(root, "dvc.yaml", "stages: [1, 2\n")
    _write(root, "params.yaml", "a: b: c\n")
    _write(root, "pyproject.toml", "[project\nname = 'x'\n[tool.pytest.ini_options\n")
    _write(root, "Pipfile", "[packages\nnumpy = \n")
    _write(root, "setup.cfg", "[metadata\nname\n")
    _write(root, "environment.yml", "dependencies:\n  - numpy\n - pandas\n")
    _write(root, "schema.json", '{"type": "object", "properties": {')
    _write(root, "notebooks/broken.ipynb", '{"cells": [ {"cell_type": "code", ')
    _write(root, "notebooks/wrong_shape.ipynb", json.dumps({"cells": "not a list", "nbformat": "four"}))
    _write(root, "notebooks/list.ipynb", "[1, 2, 3]")
    _write(root, "notebooks/cells_wrong.ipynb", json.dumps({"cells": [1, None, {"source": 5}], "nbformat": 4}))
    _write(root, "k8s/deploy.yaml", "apiVersion: v1\nkind: [\n")
    _write(root, "prometheus/rules.yml", "groups:\n  - rules: {alert: \n")
    _write(root, "Dockerfile", "FROM\n\x00RUN \n")
    run = audit(root)
    assert_completed(run)
    broken = {".github/workflows/ci.yml", "pyproject.toml", "notebooks/broken.ipynb"}
    assert broken <= run.diagnostic_paths(), run.diagnostics
    assert not (root / "PWNED").exists()


def test_yaml_alias_bomb(tmp_path):
    root = tmp_path / "repo"
    _base(root)
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    bomb = "\n".join(lines) + "\n"
    for rel in (".github/workflows/ci.yml", "params.yaml", "dvc.yaml", "k8s/deployment.yaml",
                "prometheus/alerts.yml", "config/train.yaml"):
        _write(root, rel, bomb)
    _write(root, ".github/workflows/bomb2.yml", "on: push\njobs:\n  j: &j\n    steps: [{run: pytest}]\n"
           + "".join(f"  j{i}: *j\n" for i in range(2000)))
    run = audit(root)
    assert_completed(run)
    assert run.max_rss_kb < 1024 * 1024, f"max RSS {run.max_rss_kb // 1024} MB"


def test_deeply_nested_documents(tmp_path):
    root = tmp_path / "repo"
    _base(root)
    depth = 100_000
    _write(root, "src/deep_expr.py", "x = " + "(" * depth + "1" + ")" * depth + "\n")
    _write(root, "src/deep_list.py", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    _write(root, "src/long_chain.py", "x = 1" + " + 1" * 200_000 + "\n")
    _write(root, "params.yaml", "[" * depth + "]" * depth + "\n")
    _write(root, ".github/workflows/ci.yml", "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000)))
    _write(root, "notebooks/deep.ipynb", "[" * depth + "]" * depth)
    _write(root, "schema.json", '{"a":' * depth + "1" + "}" * depth)
    _write(root, "pyproject.toml", "x = " + "[" * depth + "]" * depth + "\n")
    run = audit(root)
    assert_completed(run)
