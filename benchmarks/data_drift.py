"""Benchmark `mlscore data` drift and validation against Evidently, plain scipy and Great Expectations.

    python benchmarks/data_drift.py                    # 100k and 1M rows
    python benchmarks/data_drift.py --rows 100000 --skip-evidently
    python benchmarks/data_drift.py --ten-million      # also profile a 10M-row Parquet file (peak RSS)

Data: 20 numeric + 5 categorical columns (cardinalities 3, 5, 10, 50, 200); n00-n04 and c00-c01
are shifted in the current data (7 of 25), n05 and c02 have about 1% nulls; reference = current = N
rows, as in ../shared/DATA_ANCHORS.md. Every task runs in its own Python process; we report the
process wall time (imports included), the in-process compute time and the peak RSS (VmHWM).
No assertions: the script prints the numbers and the ratios against the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
CARDS = [3, 5, 10, 50, 200]


# ---------------------------------------------------------------- data


def make_frame(n: int, shifted: bool, seed: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(20):
        if i < 5 and shifted:
            v = rng.normal(0.1 * (i + 1), 1.0 + 0.05 * i, n)
        else:
            v = rng.normal(0.0, 1.0 + 0.05 * i, n)
        if i == 5:
            v[rng.random(n) < 0.01] = np.nan
        if i % 4 == 3:
            v = np.round(np.exp(v), 3)  # some skewed, rounded columns
        cols[f"n{i:02d}"] = pa.array(v)
    for j, k in enumerate(CARDS):
        w = np.ones(k)
        if shifted and j < 2:
            w[0] = 2.0
        cats = np.array([f"c{j}_{x}" for x in range(k)])
        v = cats[rng.choice(k, n, p=w / w.sum())]
        mask = (rng.random(n) < 0.01) if j == 2 else None
        cols[f"c{j:02d}"] = pa.array(v, pa.string(), mask=mask)
    return pa.table(cols)


def write_data(n: int, d: Path) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    ref, cur = d / f"ref_{n}.parquet", d / f"cur_{n}.parquet"
    if not ref.exists():
        pq.write_table(make_frame(n, False, 1), ref)
    if not cur.exists():
        pq.write_table(make_frame(n, True, 2), cur)
    return ref, cur


def write_big(n: int, d: Path, chunk: int = 1_000_000) -> Path:
    import pyarrow.parquet as pq

    p = d / f"big_{n}.parquet"
    if p.exists():
        return p
    writer = None
    for i in range(0, n, chunk):
        t = make_frame(min(chunk, n - i), bool(i % 2), 10 + i)
        if writer is None:
            writer = pq.ParquetWriter(p, t.schema)
        writer.write_table(t, row_group_size=chunk)
    assert writer is not None
    writer.close()
    return p


def suite_50(ref_path: Path) -> list[dict]:
    """The anchors' 50 expectations: not-null x25, between x10, mean x5, stdev x3, in-set x5, row count, column set."""
    import pyarrow.parquet as pq

    t = pq.read_table(ref_path)
    names = t.column_names
    num = [c for c in names if c.startswith("n")]
    cat = [c for c in names if c.startswith("c")]
    e: list[dict] = []
    for c in names:
        e.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c, "mostly": 0.98}})
    for c in num[:10]:
        v = t.column(c).to_numpy(zero_copy_only=False)
        import numpy as np

        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        e.append({"type": "expect_column_values_to_be_between", "kwargs": {"column": c, "min_value": lo, "max_value": hi, "mostly": 0.99}})
    for c in num[:5]:
        import numpy as np

        v = t.column(c).to_numpy(zero_copy_only=False)
        m, s = float(np.nanmean(v)), float(np.nanstd(v))
        e.append({"type": "expect_column_mean_to_be_between", "kwargs": {"column": c, "min_value": m - 0.05 * s, "max_value": m + 0.05 * s}})
    for c in num[5:8]:
        import numpy as np

        s = float(np.nanstd(t.column(c).to_numpy(zero_copy_only=False)))
        e.append({"type": "expect_column_stdev_to_be_between", "kwargs": {"column": c, "min_value": 0.9 * s, "max_value": 1.1 * s}})
    for c in cat:
        vals = sorted(v for v in set(t.column(c).to_pylist()) if v is not None)
        e.append({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": c, "value_set": vals[: max(1, len(vals) - 1)], "mostly": 0.95}})
    e.append({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10**9}})
    e.append({"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": names}})
    assert len(e) == 50, len(e)
    return e


# ---------------------------------------------------------------- tasks (run in a child process)


def task_mlscore(ref: str, cur: str, out: str) -> dict:
    from mlscore.cli import main

    t = time.perf_counter()
    rc = main(["data", "check", "-q", "--reference", ref, "--current", cur, "--validator", "none",
               "--format", "json", "-o", out])
    compute = time.perf_counter() - t
    report = json.loads(Path(out).read_text())
    drift = {c["name"]: [c["drift"]["method"], c["drift"]["statistic"], c["drift"]["drifted"]]
             for c in report["columns"] if c.get("drift")}
    return {"compute": compute, "rc": rc, "drift": drift}


def task_mlscore_profile(path: str, out: str) -> dict:
    from mlscore.cli import main

    t = time.perf_counter()
    rc = main(["data", "profile", "-q", path, "-o", out])
    return {"compute": time.perf_counter() - t, "rc": rc}


def task_evidently(ref: str, cur: str, out: str) -> dict:
    import pyarrow.parquet as pq
    from evidently import Report
    from evidently.presets import DataDriftPreset

    r = pq.read_table(ref).to_pandas()
    c = pq.read_table(cur).to_pandas()
    t = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(c, r)
    d = snap.dict()
    snap.json()
    compute = time.perf_counter() - t
    drift = {}
    import re

    for m in d["metrics"]:
        hit = re.match(r"ValueDrift\(column=(.*),method=(.*),threshold=(.*)\)$", m.get("metric_name", ""))
        if hit:
            drift[hit.group(1)] = [hit.group(2), float(m["value"]), float(m["value"]) >= float(hit.group(3))]
    return {"compute": compute, "drift": drift}


def _scipy_frames(ref: str, cur: str):  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    return pq.read_table(ref).to_pandas(), pq.read_table(cur).to_pandas()


def task_scipy_defaults(ref: str, cur: str, out: str) -> dict:
    """Evidently's default tests above 1000 rows in plain numpy/scipy: W1/std(ref) and JS on shares."""
    import numpy as np
    from scipy import stats
    from scipy.spatial import distance

    r, c = _scipy_frames(ref, cur)
    t = time.perf_counter()
    res = {}
    for col in r.columns:
        a, b = r[col].dropna(), c[col].dropna()
        if a.dtype.kind == "f":
            a, b = a.to_numpy(), b.to_numpy()
            res[col] = float(stats.wasserstein_distance(a, b) / max(np.std(a), 0.001))
        else:
            keys = sorted(set(a.unique()) | set(b.unique()))
            pa_ = a.value_counts().reindex(keys, fill_value=0).to_numpy() / len(a)
            pb = b.value_counts().reindex(keys, fill_value=0).to_numpy() / len(b)
            res[col] = float(distance.jensenshannon(pa_, pb))
    return {"compute": time.perf_counter() - t, "values": res}


def task_scipy_battery(ref: str, cur: str, out: str) -> dict:
    """The issue's plain version: ks_2samp, chi2_contingency, wasserstein_distance, JS and PSI on histograms."""
    import numpy as np
    from scipy import stats
    from scipy.spatial import distance

    r, c = _scipy_frames(ref, cur)
    t = time.perf_counter()
    res = {}
    for col in r.columns:
        a, b = r[col].dropna(), c[col].dropna()
        if a.dtype.kind == "f":
            a, b = a.to_numpy(), b.to_numpy()
            ks = stats.ks_2samp(a, b).pvalue
            w = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
            edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
            ha = np.histogram(a, edges)[0] / a.size
            hb = np.histogram(b, edges)[0] / b.size
            js = distance.jensenshannon(ha, hb)
            ha2, hb2 = np.where(ha == 0, 1e-4, ha), np.where(hb == 0, 1e-4, hb)
            psi = float(np.sum((ha2 - hb2) * np.log(ha2 / hb2)))
            res[col] = {"ks": float(ks), "w": float(w), "js": float(js), "psi": psi}
        else:
            keys = sorted(set(a.unique()) | set(b.unique()))
            ca = a.value_counts().reindex(keys, fill_value=0).to_numpy()
            cb = b.value_counts().reindex(keys, fill_value=0).to_numpy()
            chi = stats.chi2_contingency(np.vstack([ca, cb])).pvalue
            js = distance.jensenshannon(ca / ca.sum(), cb / cb.sum())
            pa2, pb2 = ca / ca.sum(), cb / cb.sum()
            pa2, pb2 = np.where(pa2 == 0, 1e-4, pa2), np.where(pb2 == 0, 1e-4, pb2)
            res[col] = {"chi2": float(chi), "js": float(js), "psi": float(np.sum((pa2 - pb2) * np.log(pa2 / pb2)))}
    return {"compute": time.perf_counter() - t}


def task_ge(ref: str, cur: str, out: str) -> dict:
    import pyarrow.parquet as pq

    from mlscore.data.validation import ge_validate

    exps = json.loads(Path(out).with_suffix(".suite.json").read_text())
    table = pq.read_table(cur)
    t = time.perf_counter()
    res = ge_validate(table, exps)
    return {"compute": time.perf_counter() - t, "verdicts": [r.success for r in res]}


def task_native(ref: str, cur: str, out: str) -> dict:
    import pyarrow.parquet as pq

    from mlscore.data.validation import validate

    exps = json.loads(Path(out).with_suffix(".suite.json").read_text())
    table = pq.read_table(cur)  # read outside the timer, as in task_ge (GE's time includes to_pandas)
    t = time.perf_counter()
    res = validate(table, exps, engine="native")
    return {"compute": time.perf_counter() - t, "verdicts": [r.success for r in res],
            "engines": sorted({r.engine for r in res})}


def task_window(ref: str, cur: str, out: str) -> dict:
    """The sidecar's loop: a reference profile, then 100-row batches of request dicts and a scrape."""
    import pyarrow.parquet as pq

    from mlscore.data.readers import profile_file
    from mlscore.profile import DatasetProfile
    from mlscore.profile.drift import compare_profiles

    reference = profile_file(ref)
    rows = pq.read_table(cur).slice(0, 20_000).to_pylist()
    window = DatasetProfile.empty_like(reference)
    t = time.perf_counter()
    for i in range(0, len(rows), 100):
        window.update_rows(rows[i : i + 100])
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(10):
        res = compare_profiles(reference, window)
    scrape = (time.perf_counter() - t) / 10
    return {"compute": ingest + scrape, "ingest_us_per_row": 1e6 * ingest / len(rows), "scrape_ms": 1e3 * scrape,
            "drifted": sorted(r.column for r in res if r.drifted),
            "reference_profile_bytes": len(reference.to_json())}


TASKS = {
    "mlscore": task_mlscore, "mlscore_profile": task_mlscore_profile, "evidently": task_evidently,
    "window": task_window, "scipy_defaults": task_scipy_defaults, "scipy_battery": task_scipy_battery, "ge": task_ge, "native": task_native,
}


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would
    report the parent's high-water mark (the parent generated the data)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(argv: list[str]) -> None:
    name, *args = argv
    out = TASKS[name](*args)
    out["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(out))


def run_task(name: str, *args: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE), "--child", name, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"task {name} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(line[7:])
    res["wall"] = wall
    return res


# ---------------------------------------------------------------- main


def fmt(r: dict) -> str:
    return f"wall {r['wall']:7.2f} s  compute {r['compute']:7.2f} s  peak {r['peak_rss_mib']:7.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, action="append", help="rows per dataset (repeatable; default 100k and 1M)")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--skip-ge", action="store_true")
    ap.add_argument("--window", action="store_true", help="also time the sidecar's per-window work")
    ap.add_argument("--ten-million", action="store_true", help="also profile a 10M-row Parquet file")
    ap.add_argument("--dir", type=Path, default=None, help="where to keep the generated files")
    ap.add_argument("--json", type=Path, help="write all results here")
    args = ap.parse_args()
    d = args.dir or Path(tempfile.gettempdir()) / "mlscore-bench"
    d.mkdir(parents=True, exist_ok=True)
    results: dict = {"cpu_count": os.cpu_count(), "load": os.getloadavg()}
    for n in [r for r in (args.rows or [100_000, 1_000_000]) if r > 0]:  # --rows 0: only --ten-million
        print(f"\n=== {n:,} rows x 25 columns (7 shifted) ===", flush=True)
        ref, cur = write_data(n, d)
        out = str(d / f"report_{n}.json")
        row: dict = {}
        row["mlscore"] = run_task("mlscore", str(ref), str(cur), out)
        print(f"mlscore data check (drift)  {fmt(row['mlscore'])}", flush=True)
        row["scipy_defaults"] = run_task("scipy_defaults", str(ref), str(cur), out)
        print(f"scipy, Evidently's tests    {fmt(row['scipy_defaults'])}", flush=True)
        row["scipy_battery"] = run_task("scipy_battery", str(ref), str(cur), out)
        print(f"scipy, full battery         {fmt(row['scipy_battery'])}", flush=True)
        if not args.skip_evidently:
            row["evidently"] = run_task("evidently", str(ref), str(cur), out)
            print(f"Evidently DataDriftPreset   {fmt(row['evidently'])}", flush=True)
        m = row["mlscore"]
        drifted = sorted(k for k, v in m["drift"].items() if v[2])
        print(f"  mlscore drifted columns: {drifted}")
        if "evidently" in row:
            e = row["evidently"]
            print(f"  Evidently drifted columns: {sorted(k for k, v in e['drift'].items() if v[2])}")
            diffs = {k: abs(m["drift"][k][1] - e["drift"][k][1]) for k in e["drift"] if k in m["drift"]}
            print(f"  max |mlscore - Evidently| statistic: {max(diffs.values()):.2e} ({max(diffs, key=diffs.get)})")
            print(f"  RATIO Evidently/mlscore: process wall {e['wall'] / m['wall']:.1f}x (target >= 20x), "
                  f"compute {e['compute'] / m['compute']:.1f}x, peak RSS {e['peak_rss_mib'] / m['peak_rss_mib']:.1f}x "
                  f"(target >= 3x)")
        s, b = row["scipy_defaults"], row["scipy_battery"]
        print(f"  RATIO scipy(Evidently's tests)/mlscore: wall {s['wall'] / m['wall']:.2f}x, compute "
              f"{s['compute'] / m['compute']:.2f}x; scipy(battery)/mlscore: wall {b['wall'] / m['wall']:.2f}x, "
              f"compute {b['compute'] / m['compute']:.2f}x (target > 1x)")
        if not args.skip_ge:
            Path(out).with_suffix(".suite.json").write_text(json.dumps(suite_50(ref)))
            row["ge"] = run_task("ge", str(ref), str(cur), out)
            row["native"] = run_task("native", str(ref), str(cur), out)
            g, nv = row["ge"], row["native"]
            same = g["verdicts"] == nv["verdicts"]
            print(f"GE, 50 expectations         {fmt(g)}  ({sum(g['verdicts'])}/50 met)")
            print(f"mlscore native, same suite  {fmt(nv)}  ({sum(nv['verdicts'])}/50 met, engines {nv['engines']})")
            print(f"  RATIO GE/native: compute {g['compute'] / nv['compute']:.1f}x, wall {g['wall'] / nv['wall']:.1f}x "
                  f"(target >= 5x); identical verdicts: {same}")
        if args.window:
            row["window"] = w = run_task("window", str(ref), str(cur), out)
            print(f"sidecar window: ingest {w['ingest_us_per_row']:.1f} us/row (batches of 100 dicts), scrape "
                  f"{w['scrape_ms']:.1f} ms for 25 columns; reference profile {w['reference_profile_bytes'] / 1e3:.0f} kB; "
                  f"20k-row window drifted: {w['drifted']}")
        results[str(n)] = row
    if args.ten_million:
        n = 10_000_000
        print(f"\n=== profile a {n:,}-row Parquet file ===", flush=True)
        big = write_big(n, d)
        r = run_task("mlscore_profile", str(big), str(d / "big.profile.json"))
        print(f"mlscore data profile        {fmt(r)}  (target peak < 2048 MiB; file {big.stat().st_size / 2**20:.0f} MiB)")
        results["profile_10M"] = r
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
