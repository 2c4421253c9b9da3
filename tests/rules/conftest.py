"""Fixture repositories per rule: keep pytest out of them, and ``--update-goldens`` to rewrite expected.json."""

from __future__ import annotations

import pytest

# The fixture repositories contain their own tests/ folders and conftest-free packages; they are data here.
collect_ignore_glob = ["fixtures/*"]


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--update-goldens",
            action="store_true",
            default=False,
            help="rewrite golden files (and tests/rules/fixtures/*/expected.json) from the current output",
        )
    except ValueError:  # another conftest (tests/report, tests/unit) already added it
        pass
