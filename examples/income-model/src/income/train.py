"""Train the income model from params.yaml, evaluate it, and write the model and its metrics.

    python -m income.train --params params.yaml --out models/ --report reports/metrics.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import joblib

from income import __version__
from income.data import file_sha256, load_dataset, split
from income.evaluate import evaluate
from income.model import build_baseline, build_model
from income.params import Params, load_params


def fit(params: Params):
    """Load and validate the data, split it, fit model and baseline. Deterministic for a given seed."""
    frame = load_dataset(params)
    train, test = split(frame, params)
    y = train[params.target]
    model = build_model(params).fit(train, y)
    baseline = build_baseline(params).fit(train, y)
    return model, baseline, train, test


def run(params: Params, out_dir: Path, report_path: Path) -> dict:
    model, baseline, train, test = fit(params)
    report = evaluate(model, baseline, test, params.target, params.slice_columns, params.min_slice_size)
    report.update(
        {
            "version": __version__,
            "seed": params.seed,
            "n_train": int(len(train)),
            "data_sha256": file_sha256(params.data_path),
            "params": params.model,
        }
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out_dir / "model.joblib")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(_nan_to_none(report), indent=2, sort_keys=True, default=str) + "\n")
    return report


def _nan_to_none(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train and evaluate the income model.")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("models"))
    parser.add_argument("--report", type=Path, default=Path("reports/metrics.json"))
    args = parser.parse_args(argv)
    report = run(load_params(args.params), args.out, args.report)
    m, b = report["model"], report["baseline"]
    print(f"model    roc_auc={m['roc_auc']:.3f} log_loss={m['log_loss']:.3f} accuracy={m['accuracy']:.3f}")
    print(f"baseline roc_auc={b['roc_auc']:.3f} log_loss={b['log_loss']:.3f} accuracy={b['accuracy']:.3f}")
    print(f"wrote {args.out / 'model.joblib'} and {args.report}")


if __name__ == "__main__":
    main()
