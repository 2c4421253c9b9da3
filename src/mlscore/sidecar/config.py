"""Sidecar settings: ``sidecar.toml`` ([sidecar], [model], [alerts]) merged under CLI options."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlscore.errors import ConfigError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus-style duration such as ``500ms``, ``30s``, ``5m``, ``1h``."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration (like 30s, 5m, 1h): {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_window(text: str | int) -> tuple[int | None, float | None]:
    """A window of ``N`` rows or of a duration: returns (rows, seconds), one of them None."""
    if isinstance(text, int) or str(text).strip().isdigit():
        rows = int(text)
        if rows < 1:
            raise ValueError("window rows must be >= 1")
        return rows, None
    return None, parse_duration(str(text))


def parse_hostport(text: str, *, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, host 127.0.0.1) into a pair."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{what}: expected HOST:PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProxySettings(_Section):
    upstream: str | None = None
    listen: str = "127.0.0.1:8000"
    metrics: str = "127.0.0.1:9108"
    reference: str | None = None
    window: str = "10000"
    min_window_rows: int = Field(default=50, ge=1)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    capture_bytes: int = Field(default=256 * 1024, ge=0)
    queue_events: int = Field(default=2048, ge=1)
    queue_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    connect_timeout: float = Field(default=5.0, gt=0)
    upstream_timeout: float = Field(default=60.0, gt=0)
    client_idle_timeout: float = Field(default=75.0, gt=0)
    max_connections: int = Field(default=1024, ge=1, description="Open client connections; more get 503.")
    max_models: int = Field(default=10, ge=1)
    max_feature_labels: int = Field(default=50, ge=1)
    log_payloads: bool = False
    analysis: str = Field(
        default="process", pattern="^(process|thread)$",
        description="Where payloads are analysed: a child process at low CPU priority, or a thread of the sidecar.",
    )

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value


class ModelSettings(_Section):
    name: str | None = Field(default=None, description="Model label when the traffic does not name one.")
    version: str | None = None
    trained_at: str | None = Field(default=None, description="ISO 8601 time the model was trained.")
    prediction_column: str = Field(default="prediction", description="Reference column holding predictions.")
    prediction_range: tuple[float, float] | None = Field(
        default=None, description="Valid prediction range (default: the reference predictions' min and max)."
    )


class AlertSettings(_Section):
    job: str = Field(default="mlscore-sidecar", pattern=r"^[A-Za-z0-9_.:/-]{1,128}$")
    drift_threshold: float | None = Field(
        default=None, description="Input drift statistic above which a feature drifts (default: the profile's)."
    )
    prediction_drift_threshold: float | None = None
    drift_method: str = Field(
        default="auto", description="Per-feature test: auto (Evidently's choice by reference size), ks, psi, ..."
    )
    drift_share: float = Field(default=0.5, gt=0, le=1, description="Share of drifted features that is drift.")
    drift_features: int = Field(
        default=3, ge=1, description="Alert when at least this many features drifted, whatever their share."
    )
    drift_fdr: float = Field(
        default=0.05, gt=0, lt=1,
        description="False-discovery rate of the per-feature drift tests in one window (Benjamini-Hochberg).",
    )
    drift_for: str = "5m"
    error_ratio: float = Field(default=0.05, gt=0, le=1)
    error_for: str = "5m"
    latency_p99_seconds: float = Field(default=0.5, gt=0)
    latency_creep_ratio: float = Field(default=1.5, gt=1)
    latency_for: str = "10m"
    latency_baseline: str = Field(
        default="1h", description="Latency creep compares the p99 now with the p99 of this long a window, that long ago."
    )
    max_model_age_days: float = Field(default=30.0, gt=0)
    out_of_range_ratio: float = Field(default=0.01, gt=0, le=1)
    schema_violation_ratio: float = Field(default=0.01, gt=0, le=1)
    drop_ratio: float = Field(default=0.01, gt=0, le=1)
    rate_window: str = "5m"

    @field_validator("drift_for", "error_for", "latency_for", "latency_baseline", "rate_window")
    @classmethod
    def _dur(cls, value: str) -> str:
        parse_duration(value)
        return value


class SidecarConfig(_Section):
    sidecar: ProxySettings = ProxySettings()
    model: ModelSettings = ModelSettings()
    alerts: AlertSettings = AlertSettings()

    def with_overrides(self, **options: Any) -> SidecarConfig:
        """Apply CLI options (None means "not given") to the [sidecar] table."""
        given = {k: v for k, v in options.items() if v is not None}
        if not given:
            return self
        try:
            merged = ProxySettings.model_validate({**self.sidecar.model_dump(), **given})
        except ValidationError as exc:
            raise ConfigError(f"sidecar option: {_first_error(exc)}") from None
        return self.model_copy(update={"sidecar": merged})


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}"


def load_config(path: str | Path | None) -> SidecarConfig:
    """Read ``sidecar.toml``; an unknown key or a bad value is a one-line ConfigError."""
    if path is None:
        return SidecarConfig()
    import tomllib

    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    if len(raw) > 1024 * 1024:
        raise ConfigError(f"{p}: larger than 1 MiB")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return SidecarConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{p}: {_first_error(exc)}") from None
