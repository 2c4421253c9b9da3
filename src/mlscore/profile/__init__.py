"""Mergeable column profiles, drift statistics and schema inference, shared by `mlscore data` and the sidecar.

Public API (stable; the sidecar builds on it). Only numpy is imported here; scipy is imported lazily
by `mlscore.profile.drift` when a p-value is needed. No pandas, no pyarrow.

Profiles
--------
``ColumnProfile(name, kind=None)``
    One column: ``count`` (rows seen), ``null_count`` (None/NaN), ``inf_count``; for numeric columns
    ``min``/``max``/``mean``/``variance`` (population, ddof=0, finite values only), a fixed-bin
    ``Histogram`` (``hist``), exact value counts while the column has at most ``distinct_cap`` distinct
    values (``distinct``), the exact finite values while there are at most ``exact_cap`` of them
    (``exact``, used for exact K-S on small data), and for skewed columns (range > 30 x IQR in the first
    batch) a mergeable relative-accuracy quantile sketch (``sketch``, 1%; ``mlscore.profile.sketch``);
    for categorical columns exact category counts
    (``categories``), pruned to the top ``topk`` once there are more than ``2 * topk`` categories (the
    pruned mass goes to ``other_count``). ``kind`` is "numeric", "categorical" or None (not seen yet; it
    is inferred from the first non-null values).

    - ``col.update(values)``: add a batch of one column (list, tuple or numpy array; None/NaN are nulls).
      Values of the wrong type for the column's kind are counted in ``type_errors``, never raised.
    - ``col.update_counts(keys, counts, nulls=0)``: add precomputed category counts (fast path).
    - ``ColumnProfile.empty_like(ref)``: an empty profile with ``ref``'s kind and **frozen** histogram
      bins; values outside the reference range go to under/overflow (count and sum, which keeps the
      Wasserstein distance exact in the tails). Use it for every current window.
    - ``a.merge(b)`` -> new profile (same name and kind; histograms must share origin/width lineage:
      profiles built from ``empty_like`` of one reference always do).
    - ``col.quantile(q)``, ``col.std``, ``col.n_unique`` (None when above ``distinct_cap``/``topk``),
      ``col.to_dict()`` / ``ColumnProfile.from_dict(d)``.

``DatasetProfile(columns=None, source=None)``
    ``row_count``, ``columns: dict[str, ColumnProfile]`` (insertion-ordered).

    - ``update_columns({"a": [...], "b": np.array(...)})``: one batch, column-major.
    - ``update_rows([{"a": 1, "b": "x"}, ...])``: one batch, row-major (the sidecar's request rows);
      a key missing in a row counts as null; unknown keys add new columns.
    - ``DatasetProfile.empty_like(ref)``: all columns ``ColumnProfile.empty_like``.
    - ``merge(other)``, ``to_dict()``/``from_dict()``, ``to_json()``/``from_json()``,
      ``save(path)``/``load(path)`` (versioned JSON: ``{"kind": "mlscore-profile", "version": 1, ...}``;
      loading an unknown version raises ``ValueError``).

Drift (``mlscore.profile.drift``)
---------------------------------
``compare_profiles(reference, current, *, columns=None, method="auto", per_column_method=None,
threshold=None, drift_share=0.5) -> list[ColumnDrift]``
    One result per column present in both. ``method="auto"`` is Evidently 0.7's default choice: with
    at most 1000 reference values, K-S (numeric, > 5 unique), chi-square (3-5 unique or categorical),
    Z-test for proportions (<= 2 unique), p < 0.05 (K-S: p <= 0.05); above 1000 reference values,
    Wasserstein-1 / std(reference) >= 0.1 (numeric, > 5 unique) and Jensen-Shannon distance >= 0.1
    (categorical or <= 5 unique). Other methods: "ks", "chisquare", "z", "wasserstein",
    "jensenshannon", "psi" (0.1). ``ColumnDrift`` has ``column, kind, method, statistic_name
    ("p_value" | "distance"), statistic, threshold, drifted (bool | None when undecidable),
    reference_n, current_n, n_unique, approximate, note`` and ``to_dict()``.
    ``dataset_drift(results, drift_share=0.5) -> (share, drifted)``.

Schema (``mlscore.profile.schema``)
-----------------------------------
``infer_schema(profile) -> list[ColumnSchema]``: type, null rate, range or allowed values.

Example (the sidecar's per-window loop)::

    ref = DatasetProfile.load("reference.profile.json")
    window = DatasetProfile.empty_like(ref)
    window.update_rows(batch_of_request_dicts)          # cheap: numpy bincount per column
    results = compare_profiles(ref, window)             # O(bins) per column, no raw data kept
"""

from __future__ import annotations

from mlscore.profile.column import ColumnProfile, Histogram
from mlscore.profile.dataset import PROFILE_KIND, PROFILE_VERSION, DatasetProfile

__all__ = ["PROFILE_KIND", "PROFILE_VERSION", "ColumnProfile", "DatasetProfile", "Histogram"]
