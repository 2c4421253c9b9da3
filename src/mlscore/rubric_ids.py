"""Rubric test ids and the `mlscore_rubric` path-mapping syntax, shared by the pytest plugin (which must stay light:
standard library only) and the audit's static reading of pytest configs."""

from __future__ import annotations

import re

RULE_ID_RE = re.compile(r"^(DATA|MODEL|INFRA|MON)[1-7]$")


def parse_mapping_line(line: str) -> tuple[str, tuple[str, ...]] | None:
    """One `mlscore_rubric` line -> (path pattern, rubric ids); None for a blank or comment line.

    ``PATTERN = ID, ID`` (or ``PATTERN: ID ID``); ValueError with the reason for a malformed line or an unknown id."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    pattern, sep, rest = line.partition("=")
    if not sep:
        pattern, sep, rest = line.partition(":")
    pattern = pattern.strip()
    ids = tuple(i.strip().upper() for i in re.split(r"[,\s]+", rest) if i.strip())
    if not sep or not pattern or not ids:
        raise ValueError("expected 'PATTERN = ID, ID'")
    bad = [i for i in ids if not RULE_ID_RE.match(i)]
    if bad:
        raise ValueError(f"unknown rubric id {bad[0]!r}")
    return pattern.replace("\\", "/").removeprefix("./"), ids
