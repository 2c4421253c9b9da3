"""Remediation wording with placeholders for the repository's own terms (filled by ``mlscore.detectors.advice``).

Kept apart from the detectors so that `mlscore explain` renders rule texts without importing them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

__all__ = ["GENERIC", "PLACEHOLDERS", "render"]

#: Every placeholder a remediation may use, with the wording used when the repository says nothing more specific.
GENERIC: dict[str, str] = {
    "ci": "CI",
    "ci_job": "a CI job (for example a GitHub Actions workflow)",
    "schedule": "a scheduled job (a cron CI workflow, an orchestrator schedule or a Kubernetes CronJob)",
    "pipeline_step": "a pipeline stage (for example a DVC stage before training, run by dvc repro in CI or on a "
                     "schedule)",
    "test_command": "pytest",
    "tracker": "a committed report",
    "slices": "the input attributes that matter to your users, such as country or device",
    "rollout": "an Argo Rollouts canary with an analysis step, a Flagger Canary, or a KServe InferenceService with "
               "canaryTrafficPercent, deployed by CD",
    "dependency_bot": "Dependabot or Renovate",
    "tuner": "Optuna, GridSearchCV or RandomizedSearchCV",
    "train_data": "data/train.parquet",
}
PLACEHOLDERS = frozenset(GENERIC)


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(text: str, values: Mapping[str, str] | None = None) -> str:
    """``text`` with its placeholders filled (``GENERIC`` wording where ``values`` has none); text without
    placeholders, or with braces that are not placeholders, comes back unchanged."""
    if "{" not in text:
        return text
    fields = {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f}
    if not fields <= PLACEHOLDERS:
        return text
    return text.format_map(_Keep({**GENERIC, **(values or {})}))
