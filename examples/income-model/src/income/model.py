"""The model specification: preprocessing plus a regularised logistic regression."""

from __future__ import annotations

from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from income.features import build_preprocessor
from income.params import Params


def build_model(params: Params) -> Pipeline:
    cfg = params.model
    if cfg.get("type") != "logistic_regression":
        raise ValueError(f"unsupported model type {cfg.get('type')!r} in params.yaml")
    classifier = LogisticRegression(
        C=float(cfg.get("C", 1.0)),
        max_iter=int(cfg.get("max_iter", 1000)),
        class_weight=cfg.get("class_weight"),
        random_state=params.seed,
    )
    return Pipeline([("features", build_preprocessor(params.features)), ("classifier", classifier)])


def build_baseline(params: Params) -> DummyClassifier:
    """The simplest possible model: always predict the training prior."""
    return DummyClassifier(strategy="prior", random_state=params.seed)
