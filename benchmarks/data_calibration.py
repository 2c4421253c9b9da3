"""False alarms and detection of `mlscore data check` on real and generated data (issue 13).

For each dataset, ``--splits`` random halves (reference / current, no shift at all) are checked: a run that
says FAILING is a false alarm (and WARNING is counted apart). Then the same splits with the current half's
most important feature shifted by ``--shift`` standard deviations: a run that says WARNING or FAILING
detected it. The important feature is chosen independently of mlscore (a random forest's impurity
importance on the whole dataset); mlscore is given ``--target`` and picks its important features itself.

    .venv/bin/python benchmarks/data_calibration.py                      # 5 datasets x 20 splits
    .venv/bin/python benchmarks/data_calibration.py --splits 5 --datasets breast_cancer,wine --json out.json

Datasets: scikit-learn's bundled breast_cancer (569 x 30), diabetes (442 x 10), wine (178 x 13),
digits (1797 x 64), and ``generated``: 100,000 rows of known distributions (normal, log-normal, uniform,
exponential, Student t, Poisson counts, binary, 5 and 40 categories) with a logistic target.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ALL = ("breast_cancer", "diabetes", "wine", "digits", "generated")


def load(name: str, rows: int = 100_000) -> tuple[pd.DataFrame, str]:
    """A frame with a ``target`` column."""
    if name == "generated":
        return generated(rows), "target"
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    frame = loader(as_frame=True).frame
    return frame, "target"


def generated(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "normal": rng.normal(10, 2, rows),
        "lognormal": rng.lognormal(0, 0.75, rows),
        "uniform": rng.uniform(-1, 1, rows),
        "exponential": rng.exponential(3, rows),
        "student_t": rng.standard_t(4, rows),
        "poisson": rng.poisson(4, rows),
        "binary": rng.integers(0, 2, rows),
        "cat5": rng.choice(list("abcde"), rows, p=[0.4, 0.25, 0.15, 0.12, 0.08]),
        "cat40": rng.choice([f"c{i:02d}" for i in range(40)], rows),
        "normal_b": rng.normal(0, 1, rows),
    })
    logit = 0.9 * (df["normal"] - 10) / 2 + 0.6 * np.log(df["lognormal"]) - 0.4 * df["uniform"] + (df["cat5"] == "a")
    df["target"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def important_feature(frame: pd.DataFrame, target: str) -> str:
    """The feature a random forest relies on most (numeric features only: the shift is in standard deviations)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    numeric = [c for c in frame.columns if c != target and pd.api.types.is_numeric_dtype(frame[c])
               and frame[c].std() > 0]
    sample = frame.sample(min(len(frame), 20_000), random_state=0)
    y = sample[target]
    classes = y.nunique() <= 20
    model = (RandomForestClassifier if classes else RandomForestRegressor)(n_estimators=100, random_state=0, n_jobs=1)
    model.fit(sample[numeric], y)
    return numeric[int(np.argmax(model.feature_importances_))]


def run_one(ref: pd.DataFrame, cur: pd.DataFrame, target: str, workdir: Path) -> str:
    from mlscore.data.check import CheckOptions, run_check

    rp, cp = workdir / "ref.parquet", workdir / "cur.parquet"
    ref.to_parquet(rp, index=False)
    cur.to_parquet(cp, index=False)
    report = run_check(CheckOptions(reference=rp, current=cp, target=target))
    return report.status


def bench(name: str, splits: int, shift: float, rows: int, seed: int) -> dict:
    frame, target = load(name, rows)
    feature = important_feature(frame, target)
    sd = float(frame[feature].std())
    counts = {"unshifted": {}, "shifted": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(splits):
            rng = np.random.default_rng(seed + i)
            order = rng.permutation(len(frame))
            half = len(frame) // 2
            ref, cur = frame.iloc[order[:half]], frame.iloc[order[half:]].copy()
            status = run_one(ref, cur, target, Path(tmp))
            counts["unshifted"][status] = counts["unshifted"].get(status, 0) + 1
            cur[feature] = cur[feature] + shift * sd
            status = run_one(ref, cur, target, Path(tmp))
            counts["shifted"][status] = counts["shifted"].get(status, 0) + 1
    un, sh = counts["unshifted"], counts["shifted"]
    return {
        "dataset": name, "rows": len(frame), "columns": frame.shape[1] - 1, "shifted_feature": feature,
        "splits": splits, "shift_sd": shift,
        "false_alarm_rate": un.get("failing", 0) / splits,
        "warning_rate_unshifted": un.get("warning", 0) / splits,
        "detection_rate": (sh.get("failing", 0) + sh.get("warning", 0)) / splits,
        "statuses": counts, "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(ALL))
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--shift", type=float, default=0.5, help="shift in standard deviations")
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the generated dataset")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    results = []
    for name in args.datasets.split(","):
        r = bench(name.strip(), args.splits, args.shift, args.rows, args.seed)
        results.append(r)
        print(f"{r['dataset']:<14} {r['rows']:>7} rows x {r['columns']:>2}  shifted {r['shifted_feature']!r:<26} "
              f"false alarms (FAILING) {r['false_alarm_rate']:6.1%}  warnings {r['warning_rate_unshifted']:6.1%}  "
              f"detected {r['detection_rate']:6.1%}  ({r['seconds']} s)", flush=True)
    n = sum(r["splits"] for r in results)
    fa = sum(r["false_alarm_rate"] * r["splits"] for r in results) / n
    warn = sum(r["warning_rate_unshifted"] * r["splits"] for r in results) / n
    det = sum(r["detection_rate"] * r["splits"] for r in results) / n
    print(f"{'all':<14} {n} unshifted and {n} shifted runs: false alarms {fa:.1%} (target <= 5%), "
          f"warnings on unshifted data {warn:.1%}, detection {det:.1%} (target >= 95%)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "false_alarm_rate": fa, "warning_rate": warn,
                                         "detection_rate": det}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
