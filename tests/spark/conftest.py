"""One local Spark session (local[2]) for every Spark test of a test process; the tests share it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # with `pytest -n N --dist loadgroup` (scripts/test) all Spark tests run in one worker: one JVM
    for item in items:
        if "tests/spark/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from mlscore.data.spark.session import make_session

    session = make_session("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"})
    yield session
    session.stop()
