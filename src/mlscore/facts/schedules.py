"""Schedulers and pipelines as facts (DVC, Airflow, Prefect, Dagster, Kubeflow, TFX, Kubernetes CronJob, Argo, ...).

Public API (more in later sections of this docstring)
- ``wanted(path) -> bool``: whether ``extract_schedules`` reads this path (``SCHEDULE_GLOBS``; Python files are
  only parsed when their text mentions an orchestrator, see ``PY_HINTS``).
- ``extract_schedules(files, read) -> ScheduleFacts``.
- ``ScheduleFacts``: ``entries`` (``PipelineEntry``), ``dvc`` (``DvcStage``), ``params_files``, ``diagnostics``.
- ``PipelineEntry``: one thing an orchestrator runs: ``file``/``line``/``system``/``name``; ``trigger``
  ("schedule" when a cron/interval schedule is declared and enabled, else "pipeline"); ``cron``; ``enabled``
  (False for ``suspend: true``, ``schedule=None`` with a disabled schedule...); ``commands`` (shell commands it
  runs); ``python_files`` (repo files it runs as pipeline steps); ``tasks`` (task/operator names);
  ``swallowed``.
- ``DvcStage``: a ``dvc.yaml`` stage: ``name``, ``line``, ``cmd`` (+ ``cmd_line``), ``wdir``, ``deps``, ``outs``,
  ``metrics``, ``plots``, ``params``; ``dvc_stages(path, text) -> list[DvcStage] | None``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mlscore.facts.shell import ShellCommand, split_script
from mlscore.facts.yamlsafe import LineList, line_of, load_yaml, text_lines
from mlscore.models import Diagnostic

Reader = Callable[[str], "str | None"]


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DvcStage(_Rec):
    file: str
    name: str
    line: int
    cmd: str
    cmd_line: int | None = None
    wdir: str | None = None
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    params: tuple[str, ...] = ()


class PipelineEntry(_Rec):
    file: str
    line: int
    system: str
    name: str
    trigger: Literal["schedule", "pipeline"]
    cron: str | None = None
    enabled: bool = True
    commands: tuple[ShellCommand, ...] = ()
    python_files: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    swallowed: bool = False


class ScheduleFacts(_Rec):
    entries: tuple[PipelineEntry, ...] = ()
    dvc: tuple[DvcStage, ...] = ()
    params_files: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def _paths(value: Any) -> tuple[str, ...]:
    """DVC deps/outs/metrics/plots entries: strings or single-key mappings (``- model.pkl: {cache: false}``)."""
    out: list[str] = []
    items = value if isinstance(value, list) else ([value] if value else [])
    for it in items:
        if isinstance(it, str):
            out.append(it)
        elif isinstance(it, dict):
            out.extend(str(k) for k in it)
    return tuple(out)


def dvc_stages(path: str, text: str, diags: list[Diagnostic] | None = None) -> list[DvcStage] | None:
    """Stages of one ``dvc.yaml`` (``foreach``/``matrix`` stages keep their template command), or None."""
    doc, d = load_yaml(path, text)
    if diags is not None:
        diags.extend(d)
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), dict):
        return None
    stages = doc["stages"]
    out: list[DvcStage] = []
    for name, st in stages.items():
        if not isinstance(st, dict):
            continue
        body = st.get("do") if isinstance(st.get("do"), dict) else st
        cmd = text_lines(body.get("cmd")) or ""
        cmd_line = line_of(body, "cmd")
        if cmd_line and isinstance(body.get("cmd"), str) and "\n" in body["cmd"].rstrip("\n"):
            cmd_line += 1
        if isinstance(body.get("cmd"), LineList) and body["cmd"].item_lines:
            cmd_line = body["cmd"].item_lines[0]
        params: list[str] = []
        for p in body.get("params") or []:
            if isinstance(p, str):
                params.append(p)
            elif isinstance(p, dict):
                params.extend(str(k) for k in p)
        out.append(DvcStage(
            file=path, name=str(name), line=line_of(stages, name) or 1, cmd=cmd, cmd_line=cmd_line,
            wdir=str(body["wdir"]) if isinstance(body.get("wdir"), str) else None, deps=_paths(body.get("deps")),
            outs=_paths(body.get("outs")), metrics=_paths(body.get("metrics")), plots=_paths(body.get("plots")),
            params=tuple(params),
        ))
    return out


_DVC = re.compile(r"(^|/)dvc\.yaml$")


def wanted(path: str) -> bool:
    """Whether ``extract_schedules`` reads this path."""
    return bool(_DVC.search(path))


def extract_schedules(files: Iterable[str], read: Reader) -> ScheduleFacts:
    """Pipelines and schedules among ``files``; see the module docstring."""
    diags: list[Diagnostic] = []
    entries: list[PipelineEntry] = []
    dvc: list[DvcStage] = []
    params: list[str] = []
    for path in sorted(f for f in files if wanted(f) or posixpath.basename(f) == "params.yaml"):
        if posixpath.basename(path) == "params.yaml":
            params.append(path)
            continue
        text = read(path)
        if text is None:
            continue
        stages = dvc_stages(path, text, diags)
        if not stages:
            continue
        dvc.extend(stages)
        base = posixpath.dirname(path) or None
        for st in stages:
            cwd = posixpath.normpath(posixpath.join(base or ".", st.wdir or "."))
            cmds = split_script(st.cmd, first_line=st.cmd_line or st.line, errexit=False,
                                cwd=None if cwd == "." else cwd).commands
            entries.append(PipelineEntry(file=path, line=st.line, system="dvc", name=st.name, trigger="pipeline",
                                         commands=cmds))
    return ScheduleFacts(entries=tuple(entries), dvc=tuple(dvc), params_files=tuple(params),
                         diagnostics=tuple(diags))
