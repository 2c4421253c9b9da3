"""Shared fixtures: the real params and a small hand-made frame that satisfies the schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from income.params import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def params():
    return load_params(ROOT / "params.yaml")


@pytest.fixture()
def toy_frame() -> pd.DataFrame:
    """Twelve rows where income is high exactly for long hours with a degree: easy to learn."""
    rows = []
    for i in range(12):
        rich = i % 2 == 0
        rows.append(
            {
                "age": 30 + i,
                "workclass": "private" if i % 3 else "government",
                "education": "masters" if rich else "hs-grad",
                "occupation": "exec-managerial" if rich else "service",
                "hours_per_week": 55 if rich else 25,
                "capital_gain": 5000 if i % 4 == 0 else 0,
                "region": ["north", "south", "east", "west"][i % 4],
                "sex": "female" if i % 3 else "male",
                "income_over_50k": int(rich),
            }
        )
    return pd.DataFrame(rows)
