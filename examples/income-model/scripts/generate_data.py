"""Generate data/income.csv: a small synthetic census-style income dataset (seeded, reproducible).

The data is synthetic on purpose: it contains no real person's record, so it can be committed and
shared. Relationships are loosely modelled on the UCI Adult dataset (income rises with education,
hours worked and age up to mid-career).

    python scripts/generate_data.py --rows 800 --seed 7 --out data/income.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

EDUCATION = ["hs-grad", "some-college", "bachelors", "masters", "doctorate"]
EDUCATION_EFFECT = {"hs-grad": -1.0, "some-college": -0.5, "bachelors": 0.4, "masters": 0.9, "doctorate": 1.3}
WORKCLASS = ["private", "self-employed", "government"]
OCCUPATION = ["clerical", "craft-repair", "exec-managerial", "prof-specialty", "sales", "service"]
OCCUPATION_EFFECT = {
    "clerical": -0.4, "craft-repair": -0.2, "exec-managerial": 0.8,
    "prof-specialty": 0.7, "sales": 0.1, "service": -0.9,
}
REGION = ["north", "south", "east", "west"]


def generate(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, size=rows)
    education = rng.choice(EDUCATION, size=rows, p=[0.35, 0.25, 0.25, 0.11, 0.04])
    workclass = rng.choice(WORKCLASS, size=rows, p=[0.7, 0.12, 0.18])
    occupation = rng.choice(OCCUPATION, size=rows)
    region = rng.choice(REGION, size=rows, p=[0.3, 0.3, 0.25, 0.15])
    sex = rng.choice(["female", "male"], size=rows)
    hours = np.clip(rng.normal(40, 10, size=rows).round(), 1, 99).astype(int)
    capital_gain = np.where(rng.random(rows) < 0.08, rng.integers(1_000, 20_000, size=rows), 0)

    career = np.minimum(age - 25, 25) / 10.0 - np.maximum(age - 60, 0) / 10.0
    logit = (
        -1.6
        + 0.8 * career
        + np.vectorize(EDUCATION_EFFECT.get)(education)
        + np.vectorize(OCCUPATION_EFFECT.get)(occupation)
        + 0.05 * (hours - 40)
        + 1.5 * (capital_gain > 0)
        + 0.3 * (workclass == "self-employed")
        + rng.normal(0, 0.3, size=rows)
    )
    label = (rng.random(rows) < 1 / (1 + np.exp(-1.8 * logit))).astype(int)
    return pd.DataFrame(
        {
            "age": age,
            "workclass": workclass,
            "education": education,
            "occupation": occupation,
            "hours_per_week": hours,
            "capital_gain": capital_gain,
            "region": region,
            "sex": sex,
            "income_over_50k": label,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("data/income.csv"))
    args = parser.parse_args()
    frame = generate(args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out} (positive rate {frame['income_over_50k'].mean():.3f})")


if __name__ == "__main__":
    main()
