"""A FastAPI model service that misbehaves on purpose, for the probe's failing-check tests.

Run: ``uvicorn misbehaving_app:app --app-dir tests/probe``. Faults:

- bad input: no validation of row values, so a string, null or missing feature raises -> 500;
- NaN outputs: a zero feature gives a NaN score; a huge one a "probability" above 1;
- nondeterminism: a little random noise on every score;
- skew: petal_length is read in the wrong unit (divided by 10) compared with the offline model;
- slow leak: every request sleeps 1 ms longer than the one before (capped at 200 ms);
- every 20th single-row request for the first iris row (a hot key) answers 503;
- /ready says 503 (warming up) for ever; no /metrics; no model version anywhere.

``MISBEHAVE_UNHEALTHY=1`` also makes /health answer 500. ``MISBEHAVE_TOKEN=x`` requires the header
``Authorization: Bearer x`` and echoes the token back in error bodies (a leak the probe must redact).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
WEIGHTS = (0.4, -1.1, 0.9, 1.6)
BIAS = -2.0
#: The first iris row: the probe's latency run repeats it, and every 20th call for it answers 503.
HOT_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}

app = FastAPI(title="misbehaving-model", version="0.0.1")
state = {"calls": 0}


class PredictRequest(BaseModel):
    rows: list[dict[str, Any]]


def offline_score(row: dict[str, float]) -> float:
    """The offline (correct) model: logistic regression on the four iris features."""
    z = BIAS + sum(w * float(row[f]) for w, f in zip(WEIGHTS, FEATURES))
    return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, z))))


def _served_score(row: dict[str, Any]) -> float:
    values = {f: float(row[f]) for f in FEATURES}  # KeyError / ValueError / TypeError -> 500
    if any(v == 0.0 for v in values.values()):
        return math.nan
    if any(abs(v) > 1e30 for v in values.values()):
        return 1.5
    values["petal_length"] = values["petal_length"] / 10.0  # the skew: wrong unit at serving time
    return offline_score(values) + random.gauss(0.0, 1e-4)


def _auth(request: Request) -> JSONResponse | None:
    token = os.environ.get("MISBEHAVE_TOKEN")
    if token and request.headers.get("authorization") != f"Bearer {token}":
        return JSONResponse({"detail": "missing or wrong token"}, status_code=401)
    return None


@app.get("/health")
async def health() -> JSONResponse:
    if os.environ.get("MISBEHAVE_UNHEALTHY") == "1":
        return JSONResponse({"status": "database connection lost"}, status_code=500)
    return JSONResponse({"status": "ok"})


@app.get("/ready")
async def ready() -> JSONResponse:
    return JSONResponse({"status": "warming up"}, status_code=503)


@app.post("/predict")
async def predict(body: PredictRequest, request: Request) -> Response:
    denied = _auth(request)
    if denied is not None:
        return denied
    state["calls"] += 1
    await asyncio.sleep(min(0.2, 0.001 * state["calls"]))
    if state["calls"] % 20 == 0 and len(body.rows) == 1 and body.rows[0] == HOT_ROW:
        return JSONResponse({"detail": "overloaded"}, status_code=503)
    try:
        scores = [_served_score(row) for row in body.rows]
    except Exception as exc:  # noqa: BLE001 - deliberately sloppy: internal errors leak to the client as 500s
        token = os.environ.get("MISBEHAVE_TOKEN", "")
        return JSONResponse({"error": f"{type(exc).__name__}: {exc} (auth {token})"}, status_code=500)
    if not scores:
        return JSONResponse({"error": "IndexError: list index out of range"}, status_code=500)
    return Response(json.dumps({"predictions": scores}), media_type="application/json")
