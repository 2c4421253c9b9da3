"""The detector registry: one explicit table from the names used in rules/*.yaml to functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlscore.detectors import data, infra, model, monitoring
from mlscore.detectors.common import Context, Outcome

Detector = Callable[[Context, dict[str, Any]], Outcome]

#: The parameters each detector accepts, with their defaults; rules/*.yaml may set them, and a rule that
#: names an unknown parameter is reported as an error of that rule.
PARAMS: dict[str, dict[str, Any]] = {
    "data7": {"feature_paths": data.FEATURE_PATH_RX.pattern},
    "infra1": {"min_measures": 2},
    "infra2": {"model_paths": infra.MODEL_PATH_RX.pattern},
    "infra4": {"gate_paths": infra.GATE_PATH_RX.pattern},
}


def resolve_params(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given``; raises ValueError naming an unknown parameter."""
    known = PARAMS.get(name, {})
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"detector {name} has no parameter {unknown[0]!r} (known: {', '.join(known) or 'none'})")
    return {**known, **given}

DETECTORS: dict[str, Detector] = {
    "data1": data.data1,
    "data2": data.data2,
    "data3": data.data3,
    "data4": data.data4,
    "data5": data.data5,
    "data6": data.data6,
    "data7": data.data7,
    "model1": model.model1,
    "model2": model.model2,
    "model3": model.model3,
    "model4": model.model4,
    "model5": model.model5,
    "model6": model.model6,
    "model7": model.model7,
    "infra1": infra.infra1,
    "infra2": infra.infra2,
    "infra3": infra.infra3,
    "infra4": infra.infra4,
    "infra5": infra.infra5,
    "infra6": infra.infra6,
    "infra7": infra.infra7,
    "mon1": monitoring.mon1,
    "mon2": monitoring.mon2,
    "mon3": monitoring.mon3,
    "mon4": monitoring.mon4,
    "mon5": monitoring.mon5,
    "mon6": monitoring.mon6,
    "mon7": monitoring.mon7,
}
