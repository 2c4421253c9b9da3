"""Typed access to params.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class FeatureSpec:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    protected: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


@dataclass(frozen=True)
class Params:
    seed: int
    data_path: Path
    schema_path: Path
    test_size: float
    target: str
    features: FeatureSpec
    model: dict = field(default_factory=dict)
    slice_columns: tuple[str, ...] = ()
    min_slice_size: int = 20


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    raw = yaml.safe_load(path.read_text())
    root = path.parent
    feats = raw["features"]
    spec = FeatureSpec(
        numeric=tuple(feats["numeric"]),
        categorical=tuple(feats["categorical"]),
        protected=tuple(feats.get("protected", ())),
    )
    overlap = set(spec.inputs) & set(spec.protected)
    if overlap:
        raise ValueError(f"{path}: protected attributes listed as model inputs: {sorted(overlap)}")
    return Params(
        seed=int(raw["seed"]),
        data_path=root / raw["data"]["path"],
        schema_path=root / raw["data"]["schema"],
        test_size=float(raw["data"]["test_size"]),
        target=raw["target"],
        features=spec,
        model=dict(raw["model"]),
        slice_columns=tuple(raw["evaluation"]["slice_columns"]),
        min_slice_size=int(raw["evaluation"].get("min_slice_size", 20)),
    )
