"""Simple views of manifests, monitoring configs and dependency files for the detectors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlscore.models import Diagnostic

if TYPE_CHECKING:
    from mlscore.detectors.common import Context


def populate(ctx: Context, files: list[str], read: Any, diagnostics: list[Diagnostic]) -> None:
    """Fill ctx.manifests, ctx.monitoring and ctx.deps."""
