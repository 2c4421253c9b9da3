"""Load the training data, validate it against the schema, and split it reproducibly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from income.params import Params
from income.schema import load_schema, validate_frame


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_dataset(params: Params) -> pd.DataFrame:
    """Read the CSV and fail loudly if it violates schema/income.schema.json."""
    frame = pd.read_csv(params.data_path)
    return validate_frame(frame, load_schema(params.schema_path))


def split(frame: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split with the configured seed."""
    train, test = train_test_split(
        frame, test_size=params.test_size, random_state=params.seed, stratify=frame[params.target]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)
