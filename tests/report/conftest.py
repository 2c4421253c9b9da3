"""Fixtures for report tests: the canonical reports and golden files with ``--update-goldens``."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
GOLDEN_DIR = HERE / "golden"


def _load_canonical():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("mlscore_tests_canonical", HERE / "canonical.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


canonical = _load_canonical()


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--update-goldens",
            action="store_true",
            default=False,
            help="rewrite golden files from the current output instead of comparing",
        )
    except ValueError:  # another conftest (e.g. a future tests/conftest.py) already defines it
        pass


@pytest.fixture
def head_report():  # type: ignore[no-untyped-def]
    return canonical.canonical_report(head=True)


@pytest.fixture
def base_report():  # type: ignore[no-untyped-def]
    return canonical.canonical_report(head=False)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with ``golden/<name>``; rewrite it under --update-goldens (or MLSCORE_UPDATE_GOLDENS=1)."""
    update = (
        bool(request.config.getoption("--update-goldens", default=False))
        or os.environ.get("MLSCORE_UPDATE_GOLDENS") == "1"
    )

    def check(name: str, text: str, directory: Path = GOLDEN_DIR) -> None:
        path = directory / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing: run pytest with --update-goldens")
        expected = path.read_text(encoding="utf-8")
        if expected != text:
            delta = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"golden/{name}",
                    tofile="actual",
                )
            )
            pytest.fail(
                f"output differs from golden/{name} (rerun with --update-goldens if intended):\n{delta}"
            )

    return check
