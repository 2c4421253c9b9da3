"""Helpers for the facts tests: repositories as in-memory {path: text} mappings."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest


def make_repo(files: dict[str, str]) -> tuple[list[str], Callable[[str], str | None]]:
    texts = {p: textwrap.dedent(t).lstrip("\n") for p, t in files.items()}
    return sorted(texts), texts.get


@pytest.fixture
def repo() -> Callable[[dict[str, str]], tuple[list[str], Callable[[str], str | None]]]:
    return make_repo
