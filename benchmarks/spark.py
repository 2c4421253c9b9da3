"""Benchmark the Spark engine of `mlscore data check` against the local engine and Great Expectations on Spark.

    python benchmarks/spark.py                       # 10M rows: local vs Spark (local[2]); GE Spark vs mlscore Spark on 1M
    python benchmarks/spark.py --rows 1000000        # smaller
    python benchmarks/spark.py --fifty-million       # also 50M rows with the Spark driver at 1 GB
    python benchmarks/spark.py --ge-rows 10000000    # GE's Spark engine on the 10M file too

Data: benchmarks/data_drift.py's generator (20 numeric + 5 categorical columns, 7 shifted in the current
data, about 1% nulls in n05 and c02; deterministic seeds), written as Parquet under --data-dir (default: a
folder in the system temp directory, never the repository), reused when present. Suite: the anchors' 50
expectations (data_drift.suite_50). Each task runs in its own process; we report wall time (start-up and
imports included), the peak resident memory of the whole process tree (JVM and Python workers included,
sampled every 0.2 s) and the verdicts, and print the ratios against issue 11's targets. No assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data_drift import make_frame, suite_50

# ---------------------------------------------------------------- data


def write_file(path: Path, n: int, shifted: bool, seed: int, chunk: int = 1_000_000) -> Path:
    """n rows written in 1M-row groups, each generated from its own seed (deterministic, bounded memory)."""
    import pyarrow.parquet as pq

    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    writer = None
    for i in range(0, n, chunk):
        t = make_frame(min(chunk, n - i), shifted, seed * 1000 + i // chunk)
        if writer is None:
            writer = pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=chunk)
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


def nulls_for_nan(path: Path) -> Path:
    """The same file with NaN stored as null. Great Expectations' Spark engine counts NaN as a value while its
    pandas engine (and mlscore, on both engines) counts it as missing; with nulls both semantics agree, so the
    comparison with GE on Spark is on this file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = path.with_name(path.stem + "_nulls.parquet")
    if out.exists():
        return out
    t = pq.read_table(path)
    cols = {}
    for name in t.column_names:
        c = t.column(name)
        if pa.types.is_floating(c.type):
            c = pc.if_else(pc.is_nan(c), pa.scalar(None, c.type), c)
        cols[name] = c
    pq.write_table(pa.table(cols), out, row_group_size=1_000_000)
    return out


def data(n: int, d: Path) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    return write_file(d / f"ref_{n}.parquet", n, False, 1), write_file(d / f"cur_{n}.parquet", n, True, 2)


# ---------------------------------------------------------------- measuring a process tree


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run(cmd: list[str], out: Path) -> dict:
    """Run a command, return wall time, peak tree RSS, exit code and the report's verdicts."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t
    th.join()
    res = {"wall": wall, "peak_mib": peak[0] / 2**20, "rc": proc.returncode, "stderr": err.strip()[-400:]}
    if out.exists():
        rep = json.loads(out.read_text())
        res["timings"] = rep.get("timings")
        res["checks"] = {c["id"]: c["status"] for c in rep["checks"]}
        res["drift"] = {c["name"]: c["drift"]["drifted"] for c in rep["columns"] if c.get("drift")}
        for c in rep["checks"]:
            if c["id"] == "validation":
                res["expectations"] = [(r["type"], r.get("kwargs", {}).get("column"), r["success"],
                                        r.get("unexpected_count")) for r in c["details"]["results"]]
                res["validation_engines"] = sorted({r["engine"] for r in c["details"]["results"]})
        out.unlink()
    return res


def mlscore(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "mlscore", "data", "check", "-q", "--no-fail", "--format", "json", *args]


def spark_args(master: str, driver_memory: str, executor_memory: str | None = None) -> list[str]:
    args = ["--engine", "spark", "--spark-master", master, "--spark-conf", f"spark.driver.memory={driver_memory}"]
    if executor_memory:
        args += ["--spark-conf", f"spark.executor.memory={executor_memory}"]
    return args


def validate_task(engine: str, cur: str, suite: str, master: str, out: str) -> None:
    """The suite on Spark in a fresh process: Great Expectations' Spark execution engine ("ge") or mlscore's
    Spark aggregations ("mlscore"); the same session settings, the same file."""
    from mlscore.data.spark.session import make_session
    from mlscore.data.spark.validation import ge_validate_spark, validate_spark

    spark = make_session(master, {"spark.driver.memory": "4g"})
    exps = [{"type": e["type"], "kwargs": e["kwargs"]} for e in json.loads(Path(suite).read_text())["expectations"]]
    t = time.perf_counter()
    df = spark.read.parquet(cur)
    if engine == "ge":
        results = ge_validate_spark(df, exps)
    else:
        results = validate_spark(df, exps, cur, engine="native")
    compute = time.perf_counter() - t
    Path(out).write_text(json.dumps({
        "timings": {"total": compute},
        "checks": [{"id": "validation", "status": "failing" if any(not r.success for r in results) else "passing",
                    "details": {"results": [r.to_dict() for r in results]}}],
        "columns": [],
    }))


def write_suite(ref: Path, d: Path) -> Path:
    import great_expectations as gx  # noqa: F401  (the suite is GE's own JSON)

    from mlscore.data.suite import ge_suite_json

    p = d / f"suite50_{ref.stem}.json"
    if not p.exists():
        p.write_text(json.dumps(ge_suite_json("bench", suite_50(ref))))
    return p


def same(a: dict, b: dict) -> dict:
    """Which verdicts agree between two runs."""
    out = {}
    for key in ("checks", "drift"):
        if key in a and key in b:
            out[key] = a[key] == b[key]
    if "expectations" in a and "expectations" in b:
        pa = [(t, c, s) for t, c, s, _ in a["expectations"]]
        pb = [(t, c, s) for t, c, s, _ in b["expectations"]]
        out["expectation_verdicts"] = pa == pb
        out["unexpected_counts"] = [x[3] for x in a["expectations"]] == [x[3] for x in b["expectations"]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--ge-rows", type=int, default=1_000_000)
    ap.add_argument("--fifty-million", action="store_true")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "mlscore-bench-spark")
    ap.add_argument("--skip-ge", action="store_true")
    ap.add_argument("--only-ge", action="store_true", help="only the Great Expectations comparison")
    ap.add_argument("--only-50m", action="store_true", help="only the 50M-row runs")
    ap.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.task:
        validate_task(*args.task)
        return
    d = args.data_dir
    print(f"data in {d} (generated once, deterministic)", flush=True)
    results: dict[str, dict] = {}

    if args.only_50m:
        args.only_ge, args.skip_ge, args.fifty_million = True, True, True
    ref, cur = data(args.rows, d)
    suite = write_suite(ref, d)
    out = d / "report.json"
    common = ["--reference", str(ref), "--current", str(cur), "--suite", str(suite), "-o", str(out)]
    label = f"{args.rows / 1e6:g}M"
    if not args.only_ge:
        results[f"local {label}"] = run(mlscore(common + ["--validator", "native"]), out)
        print("local", json.dumps({k: v for k, v in results[f"local {label}"].items() if k in ("wall", "peak_mib", "rc", "timings")}), flush=True)
        results[f"spark {label}"] = run(mlscore(common + ["--validator", "native"] + spark_args(args.master, "2g")), out)
        print("spark", json.dumps({k: v for k, v in results[f"spark {label}"].items() if k in ("wall", "peak_mib", "rc", "timings", "stderr")}), flush=True)

    if not args.skip_ge:
        gref, gcur = data(args.ge_rows, d)
        gsuite = write_suite(gref, d)
        gcur = nulls_for_nan(gcur)
        glabel = f"{args.ge_rows / 1e6:g}M"
        for who in ("ge", "mlscore"):
            results[f"{who}-spark {glabel}"] = run([sys.executable, str(HERE / "spark.py"), "--task", who, str(gcur),
                                                    str(gsuite), args.master, str(out)], out)
            print(f"{who}-spark", json.dumps({k: v for k, v in results[f"{who}-spark {glabel}"].items()
                                              if k in ("wall", "peak_mib", "rc", "timings", "stderr")}), flush=True)

    if args.fifty_million and (not args.only_ge or args.only_50m):
        bref, bcur = data(50_000_000, d)
        bsuite = write_suite(bref, d) if False else suite  # the 10M suite's bounds: the same expectations
        big = ["--reference", str(bref), "--current", str(bcur), "--suite", str(bsuite), "-o", str(out)]
        results["spark 50M (driver 1g)"] = run(mlscore(big + ["--validator", "native"] + spark_args(args.master, "1g")), out)
        print("spark 50M", json.dumps({k: v for k, v in results["spark 50M (driver 1g)"].items() if k in ("wall", "peak_mib", "rc", "timings", "stderr")}), flush=True)
        results["local 50M (profiles stream; no validation)"] = run(mlscore(big + ["--validator", "none"]), out)
        print("local 50M", json.dumps({k: v for k, v in results["local 50M (profiles stream; no validation)"].items() if k in ("wall", "peak_mib", "rc", "timings", "stderr")}), flush=True)

    print("\n| task | wall | peak RSS (process tree) | exit |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['wall']:.1f} s | {r['peak_mib']:.0f} MiB | {r['rc']} |")
    if not args.only_ge:
        lo, sp = results[f"local {label}"], results[f"spark {label}"]
        print(f"\nSpark / local at {label}: {sp['wall'] / lo['wall']:.2f}x wall (target <= 2x); verdicts: {same(lo, sp)}")
    if not args.skip_ge:
        g, m = results[f"ge-spark {glabel}"], results[f"mlscore-spark {glabel}"]
        gv = g.get("timings", {}).get("total")
        mv = (m.get("timings") or {}).get("total")
        print(f"GE Spark / mlscore Spark at {glabel}: {g['wall'] / m['wall']:.2f}x wall"
              + (f", validation compute {gv:.1f} s vs {mv:.1f} s = {gv / mv:.1f}x" if gv and mv else "")
              + f" (target >= 3x); verdicts: {same(g, m).get('expectation_verdicts')}, unexpected counts: "
              f"{same(g, m).get('unexpected_counts')}")
    if args.fifty_million and (not args.only_ge or args.only_50m):
        s50, l50 = results["spark 50M (driver 1g)"], results["local 50M (profiles stream; no validation)"]
        print(f"50M: Spark (driver 1 GB) {s50['wall']:.0f} s, peak {s50['peak_mib']:.0f} MiB, exit {s50['rc']}; "
              f"local profiles {l50['wall']:.0f} s, peak {l50['peak_mib']:.0f} MiB")
    (d / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"raw results: {d / 'results.json'}")


if __name__ == "__main__":
    main()
