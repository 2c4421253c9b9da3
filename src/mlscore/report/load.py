"""Read a saved JSON audit report back into a `Report`, with one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mlscore.errors import InputError
from mlscore.models import Report

MAX_REPORT_BYTES = 64 * 1024 * 1024


def load_report(path: str | Path) -> Report:
    """Load ``path`` (JSON written by ``mlscore audit --format json``); raise InputError naming the problem."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise InputError(
                f"{p}: report is {size} bytes, more than the {MAX_REPORT_BYTES} byte limit"
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read report: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: report is not UTF-8 text") from None
    try:
        return Report.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "(top level)"
        raise InputError(
            f"{p}: not an mlscore audit report: {where}: {first.get('msg', 'invalid')}"
        ) from None


ANCHOR_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "README.md", "README.rst", "README")


def sarif_anchor(root: Path) -> str | None:
    """The file SARIF results with no evidence file point at (GitHub needs a location): the first that exists."""
    return next((name for name in ANCHOR_FILES if (root / name).is_file()), None)
