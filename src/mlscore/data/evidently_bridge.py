"""Optional: Evidently's own DataDriftPreset report, for users who want its HTML next to ours."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlscore.errors import InputError

if TYPE_CHECKING:
    from mlscore.data.check import CheckOptions


def run_evidently(reference: Any, current: Any) -> Any:
    """Run DataDriftPreset on two pandas frames; returns Evidently's snapshot."""
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(f"--evidently-html needs evidently 0.7 (pip install 'mlscore-audit[data]'): {exc}") from None
    return Report([DataDriftPreset()]).run(current, reference)


def evidently_values(snapshot: Any) -> dict[str, tuple[str, float]]:
    """column -> (method display name, value) from a DataDriftPreset snapshot."""
    import re

    out = {}
    for m in snapshot.dict()["metrics"]:
        name = m.get("metric_name", "")
        hit = re.match(r"ValueDrift\(column=(.*),method=(.*),threshold=(.*)\)$", name)
        if hit:
            out[hit.group(1)] = (hit.group(2), float(m["value"]))
    return out


def write_evidently_html(opts: CheckOptions, path: Path) -> None:
    from mlscore.data.readers import TableReader, detect_format

    for p in (opts.reference, opts.current):
        if detect_format(Path(p)) == "profile":
            raise InputError(f"{p}: --evidently-html needs raw rows, not a saved profile")
    ref = TableReader(opts.reference, encoding=opts.encoding).read_all().to_pandas()
    cur = TableReader(opts.current, encoding=opts.encoding).read_all().to_pandas()
    common = [c for c in ref.columns if c in cur.columns]
    snapshot = run_evidently(ref[common], cur[common])
    try:
        snapshot.save_html(str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
