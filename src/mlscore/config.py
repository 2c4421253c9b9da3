"""Configuration: [tool.mlscore] / .mlscore.toml / CLI precedence, attestations; the only env reader."""

from __future__ import annotations

import os


def debug_enabled() -> bool:
    """Whether MLSCORE_DEBUG asks for tracebacks instead of one-line internal errors."""
    return os.environ.get("MLSCORE_DEBUG", "") not in ("", "0", "false", "no")
