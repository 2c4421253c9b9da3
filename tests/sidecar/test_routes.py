"""Route labels come from a fixed set whatever the path."""

from __future__ import annotations

import pytest

from mlscore.sidecar.routes import classify


@pytest.mark.parametrize(("target", "template", "model", "version", "protocol"), [
    ("/v2/models/iris/infer", "/v2/models/{model}/infer", "iris", None, "v2"),
    ("/v2/models/iris/versions/v1/infer?x=1", "/v2/models/{model}/infer", "iris", "v1", "v2"),
    ("/v2/models/iris/ready", "/v2/models/{model}/ready", "iris", None, None),
    ("/v2/health/ready", "/v2/health/ready", None, None, None),
    ("/v1/models/half:predict", "/v1/models/{model}:predict", "half", None, "tfserving"),
    ("/invocations", "/invocations", None, None, "mlflow"),
    ("/predictions/resnet/2.0", "/predictions/{model}", "resnet", "2.0", "torchserve"),
    ("/predict", "/predict", None, None, "json"),
    ("/anything/else", "other", None, None, None),
    ("/" + "x" * 10000, "other", None, None, None),
])
def test_classify(target: str, template: str, model: str | None, version: str | None, protocol: str | None) -> None:
    route = classify(target)
    assert (route.template, route.model, route.version, route.protocol) == (template, model, version, protocol)


def test_templates_are_a_fixed_set() -> None:
    templates = {classify(f"/v2/models/m{i}/infer").template for i in range(100)}
    templates |= {classify(f"/random/{i}").template for i in range(100)}
    assert templates == {"/v2/models/{model}/infer", "other"}
