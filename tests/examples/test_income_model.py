"""The bundled example is a real project: its own test suite passes and its data regenerates exactly.

It runs in a subprocess with the example as the working directory; mlscore itself never imports or
executes the example.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "income-model"

pytestmark = pytest.mark.timeout(300)


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("MLSCORE_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"the example needs {missing} (install mlscore-audit[all,test])")
        pytest.skip(f"the example needs {missing}")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_example_test_suite_passes():
    _need("pandas", "sklearn", "yaml", "joblib")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE, env=_env(), capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_example_data_regenerates_byte_for_byte(tmp_path):
    _need("pandas", "numpy")
    out = tmp_path / "income.csv"
    subprocess.run(
        [sys.executable, "scripts/generate_data.py", "--out", str(out)],
        cwd=EXAMPLE, env=_env(), check=True, capture_output=True, timeout=60,
    )
    assert out.read_bytes() == (EXAMPLE / "data" / "income.csv").read_bytes()
