"""Schedulers and pipelines as facts: what orchestrators run, and whether a schedule drives it; never executed.

Systems: DVC (``dvc.yaml`` stages, ``params.yaml``), Airflow (``DAG(...)``/``@dag`` with ``schedule``/
``schedule_interval``/``timetable``; BashOperator commands, KubernetesPod/Docker operator commands, operator and
``@task`` names such as ``GreatExpectationsOperator``), Prefect (``@flow``, ``.serve/.deploy(cron=...)``,
``CronSchedule``, ``prefect.yaml`` deployments), Dagster (``ScheduleDefinition``, ``@schedule``, ``@asset``/``@op``/
``@job``, ``define_asset_job``; ``default_status=STOPPED`` = disabled), Kubeflow (``@dsl.pipeline``,
``create_recurring_run``), Vertex (``create_schedule``), TFX (``Pipeline`` + components; Airflow runner
``schedule_interval``), SageMaker pipelines (``Pipeline`` + steps), Kedro (``pipeline``/``node``), Metaflow
(``FlowSpec``, ``@schedule``, ``@step``), ZenML, Flyte, APScheduler / ``schedule.every``, Kubernetes
``CronJob`` (``schedule``, ``suspend``, container command/args), Argo ``CronWorkflow``/``Workflow``/
``WorkflowTemplate`` (container commands, script sources), crontab files, schedules in Terraform/CloudFormation
(EventBridge rules and schedules, Cloud Scheduler, SageMaker monitoring schedules, Azure Data Factory/Logic App
recurrences; ``system="iac"``), SageMaker Model Monitor ``create_monitoring_schedule`` and Vertex
``ModelDeploymentMonitoringJob`` in Python. Python files are parsed with ``ast``
(never imported) and only when their text matches ``PY_HINTS``; YAML only when it declares one of those kinds.
GitHub/GitLab ``schedule`` triggers come from ``ci.py``.

Public API
- ``wanted(path) -> bool``: whether ``extract_schedules`` reads this path (``SCHEDULE_GLOBS`` describes them).
- ``extract_schedules(files, read) -> ScheduleFacts``; malformed files give Diagnostics.
- ``ScheduleFacts``: ``entries`` (``PipelineEntry``), ``dvc`` (``DvcStage``), ``params_files``, ``diagnostics``.
- ``PipelineEntry``: one thing an orchestrator runs: ``file``/``line``/``system``/``name``; ``trigger``
  ("schedule" when a cron/interval schedule is declared, else "pipeline"); ``cron`` (text as written);
  ``enabled`` (False for ``suspend: true``, ``default_status=STOPPED``, inactive prefect schedules, a schedule of
  None); ``commands`` (shell commands it runs, ``shell.ShellCommand``); ``python_files`` (repo files it runs as
  pipeline code: the DAG/flow file itself, plus the module of a flow a deployment imports and schedules); ``tasks`` (operator/component/step names, e.g.
  ``GreatExpectationsOperator:validate``, ``ExampleValidator``, ``asset:features``); ``swallowed``; ``refs``
  (the Argo WorkflowTemplates it runs through ``workflowTemplateRef``/``templateRef``; the automation model runs
  their commands under this entry's trigger).
- ``DvcStage``: a ``dvc.yaml`` stage: ``name``, ``line``, ``cmd`` (+ ``cmd_line``), ``wdir``, ``deps``, ``outs``,
  ``metrics``, ``plots``, ``params``; ``dvc_stages(path, text) -> list[DvcStage] | None``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mlscore import guard
from mlscore.facts.shell import ShellCommand, split_script
from mlscore.facts.yamlsafe import (
    LineList,
    as_dict,
    as_list,
    line_of,
    load_yaml,
    text_lines,
    value_line,
)
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
    refs: tuple[str, ...] = ()  # Argo WorkflowTemplates it runs (workflowTemplateRef, templateRef)


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
        body: dict[Any, Any] = st["do"] if isinstance(st.get("do"), dict) else st
        cmd = text_lines(body.get("cmd")) or ""
        cmd_line = value_line(body, "cmd") or line_of(body, "cmd")
        if isinstance(body.get("cmd"), LineList) and body["cmd"].item_lines:
            cmd_line = body["cmd"].item_lines[0]
        params: list[str] = []
        for p in as_list(body.get("params")):
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


# --------------------------------------------------------------------------------------------------- path filter

_DVC = re.compile(r"(^|/)dvc\.yaml$")
_YAML = re.compile(r"\.ya?ml$")
_CRONTAB = re.compile(r"(^|/)(crontab|[^/]+\.crontab|[^/]+\.cron|cron\.d/[^/]+)$")
#: Substrings that make a Python file worth parsing for orchestrators.
PY_HINTS = ("airflow", "prefect", "dagster", "kfp", "tfx", "kedro", "metaflow", "sagemaker", "zenml", "flytekit",
            "apscheduler", "schedule.every", "aiplatform")
_YAML_HINTS = re.compile(r"kind:\s*[\"']?(CronJob|CronWorkflow|Workflow|WorkflowTemplate|ClusterWorkflowTemplate)\b"
                         r"|^deployments:", re.MULTILINE)
SCHEDULE_GLOBS = ("**/dvc.yaml", "**/params.yaml", "**/prefect.yaml", "**/*.py (orchestrator hints only)",
                  "**/*.yaml|*.yml (kind: CronJob/CronWorkflow/Workflow/WorkflowTemplate)", "**/crontab",
                  "**/*.cron", "**/cron.d/*")


def wanted(path: str) -> bool:
    """Whether ``extract_schedules`` reads this path (Python and YAML files are then filtered by content)."""
    if path.endswith(".py"):
        return True
    base = posixpath.basename(path)
    if base in ("dvc.yaml", "params.yaml", "prefect.yaml"):
        return True
    if _YAML.search(path):
        return not path.startswith((".github/", ".gitlab/", ".circleci/")) and base not in (
            "dvc.lock", ".pre-commit-config.yaml", "environment.yml", "environment.yaml", "mkdocs.yml")
    return bool(_CRONTAB.search(path)) or path.endswith((".tf", ".template", ".json"))


# --------------------------------------------------------------------------------------------------- YAML: k8s, Argo, prefect.yaml

def _container_command(c: dict[str, Any], line: int) -> ShellCommand | None:
    cmd = c.get("command")
    args = c.get("args")
    argv = [str(x) for x in (cmd if isinstance(cmd, list) else ([cmd] if isinstance(cmd, str) else []))]
    argv += [str(x) for x in (args if isinstance(args, list) else ([args] if isinstance(args, str) else []))]
    if not argv:
        return None
    line = line_of(c, "command") or line_of(c, "args") or line
    if len(argv) == 1 and " " in argv[0]:
        inner = split_script(argv[0], first_line=line, errexit=False).commands
        return inner[-1] if inner else None
    text = " ".join(a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a.replace("'", "'\\''") + "'"
                    for a in argv)
    return ShellCommand(text=text, line=line, argv=tuple(argv))


def _containers(spec: Any) -> list[tuple[dict[str, Any], int]]:
    """Containers (and init containers) of a pod spec, with their lines."""
    out: list[tuple[dict[str, Any], int]] = []
    if not isinstance(spec, dict):
        return out
    for key in ("initContainers", "containers"):
        lst = spec.get(key)
        for k, c in enumerate(lst if isinstance(lst, list) else []):
            if isinstance(c, dict):
                out.append((c, line_of(lst, k) or line_of(spec) or 1))
    return out


def _dig(doc: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _k8s_entries(path: str, doc: dict[str, Any]) -> list[PipelineEntry]:
    kind = str(doc.get("kind", ""))
    name = str(_dig(doc, "metadata", "name") or kind)
    spec = as_dict(doc.get("spec"))
    line = line_of(doc) or 1
    out: list[PipelineEntry] = []
    if kind == "CronJob":
        pod = _dig(spec, "jobTemplate", "spec", "template", "spec")
        cron_cmds = [c for c in (_container_command(c, ln) for c, ln in _containers(pod)) if c is not None]
        images = [str(c.get("image", "")) for c, _ in _containers(pod)]
        cron = spec.get("schedule")
        out.append(PipelineEntry(file=path, line=line, system="kubernetes", name=name, trigger="schedule",
                                 cron=str(cron) if cron else None, enabled=spec.get("suspend") is not True and bool(cron),
                                 commands=tuple(cron_cmds), tasks=tuple(i for i in images if i)))
    elif kind in ("CronWorkflow", "Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"):
        wspec = spec.get("workflowSpec") if kind == "CronWorkflow" else spec
        cmds: list[ShellCommand] = []
        tasks: list[str] = []
        templates = wspec.get("templates") if isinstance(wspec, dict) else None
        for k, t in enumerate(templates if isinstance(templates, list) else []):
            if not isinstance(t, dict):
                continue
            tline = line_of(templates, k) or line
            tasks.append(str(t.get("name", "")))
            cont = t.get("container")
            if isinstance(cont, dict):
                c = _container_command(cont, line_of(cont) or tline)
                if c is not None:
                    cmds.append(c)
            scr = t.get("script")
            if isinstance(scr, dict) and isinstance(scr.get("source"), str):
                interp = " ".join(str(x) for x in scr.get("command") or ["sh"])
                sline = (line_of(scr, "source") or tline) + 1
                if "python" in interp:
                    cmds.append(ShellCommand(text=f"{interp} <inline script>", line=sline,
                                             argv=(*interp.split(), "-c", scr["source"][:2000])))
                else:
                    cmds.extend(split_script(scr["source"], first_line=sline, errexit=False).commands)
        refs = _argo_refs(wspec)
        if kind == "CronWorkflow":
            crons: list[Any] = as_list(spec.get("schedules")) or [spec.get("schedule")]
            cron = ",".join(str(c) for c in crons if c)
            out.append(PipelineEntry(file=path, line=line, system="argo", name=name, trigger="schedule",
                                     cron=cron or None, enabled=spec.get("suspend") is not True and bool(cron),
                                     commands=tuple(cmds), tasks=tuple(tasks), refs=refs))
        else:
            out.append(PipelineEntry(file=path, line=line, system="argo", name=name, trigger="pipeline",
                                     commands=tuple(cmds), tasks=tuple(tasks), refs=refs))
    return out


def _argo_refs(wspec: Any) -> tuple[str, ...]:
    """WorkflowTemplates a workflow spec runs (argo-workflows docs, workflow-templates): ``workflowTemplateRef``
    of the whole spec, ``templateRef`` of its steps and DAG tasks."""
    if not isinstance(wspec, dict):
        return ()
    refs: list[str] = []
    whole = wspec.get("workflowTemplateRef")
    if isinstance(whole, dict) and isinstance(whole.get("name"), str):
        refs.append(whole["name"])
    for t in as_list(wspec.get("templates")):
        if not isinstance(t, dict):
            continue
        calls: list[Any] = [x for group in as_list(t.get("steps")) for x in (group if isinstance(group, list) else [group])]
        dag = t.get("dag")
        calls += as_list(dag.get("tasks")) if isinstance(dag, dict) else []
        for c in calls:
            ref = c.get("templateRef") if isinstance(c, dict) else None
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                refs.append(ref["name"])
    return tuple(dict.fromkeys(refs))



def _prefect_yaml(path: str, doc: dict[str, Any], files: set[str]) -> list[PipelineEntry]:
    out: list[PipelineEntry] = []
    deps = doc.get("deployments")
    for k, d in enumerate(deps if isinstance(deps, list) else []):
        if not isinstance(d, dict):
            continue
        entry = str(d.get("entrypoint", ""))
        fpath = posixpath.normpath(posixpath.join(posixpath.dirname(path), entry.split(":")[0])) if entry else ""
        scheds = d.get("schedules") if isinstance(d.get("schedules"), list) else (
            [d["schedule"]] if isinstance(d.get("schedule"), dict) else [])
        crons = []
        active = False
        for sch in scheds or []:
            if isinstance(sch, dict):
                c = sch.get("cron") or sch.get("interval") or sch.get("rrule")
                if c is not None:
                    crons.append(str(c))
                    active = active or sch.get("active", True) is not False
        out.append(PipelineEntry(
            file=path, line=line_of(deps, k) or 1, system="prefect", name=str(d.get("name", entry)),
            trigger="schedule" if crons else "pipeline", cron=",".join(crons) or None,
            enabled=active if crons else True, python_files=(fpath,) if fpath in files else (),
            tasks=(entry,) if entry else ()))
    return out


# --------------------------------------------------------------------------------------------------- Python orchestrators

#: A string literal that names a dotted module (`"src.orchestration.retrain"`); kept only when it resolves in the tree.
_MODULE_STRING_RX = re.compile(r"[\"']((?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*)[\"']")
_AIRFLOW_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight",
                    "@continuous"}
_TFX_COMPONENTS = {"ExampleGen", "CsvExampleGen", "ImportExampleGen", "BigQueryExampleGen", "StatisticsGen",
                   "SchemaGen", "ExampleValidator", "Transform", "Trainer", "Tuner", "Evaluator", "InfraValidator",
                   "Pusher", "ImportSchemaGen", "BulkInferrer", "ModelValidator", "Resolver"}


def _call_name(node: Any) -> str:
    import ast

    f = node.func if isinstance(node, ast.Call) else node
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        base = _call_name(f.value) if isinstance(f.value, (ast.Name, ast.Attribute)) else ""
        return f"{base}.{f.attr}" if base else f.attr
    if isinstance(f, ast.Call):
        return _call_name(f)
    return ""


def _python_entries(path: str, text: str, diags: list[Diagnostic],
                    resolve: Callable[[str, str], str | None] | None = None) -> list[PipelineEntry]:
    import ast

    if not any(h in text for h in PY_HINTS):
        return []
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        if "{{" not in path and "{%" not in path:  # cookiecutter templates are not Python yet
            diags.append(Diagnostic(path=path, message="Python file with orchestrator code does not parse"))
        return []
    consts: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            if isinstance(stmt.value, ast.Constant):
                consts[stmt.targets[0].id] = stmt.value.value
            elif isinstance(stmt.value, ast.Call):
                consts[stmt.targets[0].id] = stmt.value

    def value(node: Any) -> tuple[str, str | None]:
        """('none'|'cron'|'interval'|'unknown', text) of a schedule argument."""
        if isinstance(node, ast.Name) and node.id in consts:
            v = consts[node.id]
            node = ast.Constant(value=v) if not isinstance(v, ast.AST) else v
        if isinstance(node, ast.Constant):
            if node.value is None:
                return "none", None
            if isinstance(node.value, str):
                return ("cron" if node.value.strip() and node.value not in ("@once",) else "none"), node.value
            return "interval", str(node.value)
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name.endswith(("timedelta", "Duration")) or "Interval" in name:
                return "interval", ast.unparse(node)[:120]
            for kw in node.keywords:
                if kw.arg in ("cron", "cron_expression", "cron_schedule", "schedule", "interval"):
                    return value(kw.value)
            if node.args:
                return value(node.args[0])
            return "unknown", ast.unparse(node)[:120]
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            return value(node.elts[0])
        return "unknown", ast.unparse(node)[:120] if node is not None else None

    def kw(call: Any, *names: str) -> Any:
        for k in call.keywords:
            if k.arg in names:
                return k.value
        return None

    def const_str(node: Any) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(str(v.value) if isinstance(v, ast.Constant) else "$VAR" for v in node.values
                           if isinstance(v, (ast.Constant, ast.FormattedValue)))
        if isinstance(node, ast.Name) and isinstance(consts.get(node.id), str):
            return str(consts[node.id])
        return None

    imported: dict[str, str] = {}  # local name -> module it comes from
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            for alias in stmt.names:
                imported[alias.asname or alias.name] = stmt.module
    flow_modules: list[str] = []
    entries: list[PipelineEntry] = []
    bash: list[ShellCommand] = []
    tasks: list[str] = []
    schedules: list[tuple[int, str, str | None, bool]] = []  # (line, system, cron, enabled)
    dags: list[tuple[int, str, str, tuple[str, str | None] | None]] = []  # (line, system, name, schedule)
    flows: list[tuple[int, str, str]] = []  # (line, system, name) pipelines without their own schedule arg

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                dname = _call_name(dec)
                short = dname.split(".")[-1]
                if short == "dag" and ("airflow" in text):
                    sched = None
                    if isinstance(dec, ast.Call):
                        sv = kw(dec, "schedule", "schedule_interval", "timetable")
                        sched = value(sv) if sv is not None else None
                        did = const_str(kw(dec, "dag_id")) or node.name
                    else:
                        did = node.name
                    dags.append((node.lineno, "airflow", did, sched))
                elif short == "flow" and "prefect" in text:
                    flows.append((node.lineno, "prefect", node.name))
                elif short in ("asset", "multi_asset", "op", "job", "graph_asset") and "dagster" in text:
                    tasks.append(f"{short}:{node.name}")
                    if short == "job":
                        flows.append((node.lineno, "dagster", node.name))
                elif short == "schedule" and "dagster" in text and isinstance(dec, ast.Call):
                    cv = kw(dec, "cron_schedule")
                    k, c = value(cv) if cv is not None else ("unknown", None)
                    st = kw(dec, "default_status")
                    enabled = not (st is not None and "STOPPED" in ast.unparse(st))
                    schedules.append((node.lineno, "dagster", c, enabled and k != "none"))
                elif short == "schedule" and "metaflow" in text and isinstance(node, ast.ClassDef):
                    desc = ast.unparse(dec)[:120]
                    schedules.append((node.lineno, "metaflow", desc, True))
                elif short == "pipeline" and ("kfp" in text or "dsl" in dname):
                    name = node.name
                    if isinstance(dec, ast.Call):
                        name = const_str(kw(dec, "name")) or name
                    flows.append((node.lineno, "kubeflow", name))
                elif short == "pipeline" and "zenml" in text:
                    flows.append((node.lineno, "zenml", node.name))
                elif short == "workflow" and "flytekit" in text:
                    flows.append((node.lineno, "flyte", node.name))
                elif short == "step" and "metaflow" in text:
                    tasks.append(f"step:{node.name}")
                elif short == "task" and ("airflow" in text or "prefect" in text):
                    tasks.append(f"task:{node.name}")
            if isinstance(node, ast.ClassDef) and any(_call_name(b).split(".")[-1] == "FlowSpec" for b in node.bases):
                flows.append((node.lineno, "metaflow", node.name))
            continue
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        short = name.split(".")[-1]
        if short == "DAG" and "airflow" in text:
            sv = kw(node, "schedule", "schedule_interval", "timetable")
            did = (const_str(node.args[0]) if node.args else None) or const_str(kw(node, "dag_id")) or "dag"
            dags.append((node.lineno, "airflow", did, value(sv) if sv is not None else None))
        elif short.endswith(("Operator", "Sensor")):
            tid = const_str(kw(node, "task_id")) or ""
            tasks.append(f"{short}:{tid}" if tid else short)
            bc = kw(node, "bash_command")
            s = const_str(bc) if bc is not None else None
            if s:
                bash.extend(split_script(s, first_line=bc.lineno, errexit=False).commands)
            cm = kw(node, "cmds", "command", "arguments")
            if isinstance(cm, (ast.List, ast.Tuple)):
                argv = [const_str(e) or "$ARG" for e in cm.elts]
                if argv:
                    bash.append(ShellCommand(text=" ".join(argv), line=cm.lineno, argv=tuple(argv)))
            elif cm is not None and const_str(cm):
                bash.extend(split_script(const_str(cm) or "", first_line=cm.lineno, errexit=False).commands)
        elif short in ("ScheduleDefinition", "build_schedule_from_partitioned_job"):
            cv = kw(node, "cron_schedule")
            k, c = value(cv) if cv is not None else ("unknown", None)
            st = kw(node, "default_status")
            enabled = not (st is not None and "STOPPED" in ast.unparse(st))
            schedules.append((node.lineno, "dagster", c, enabled and k != "none"))
        elif short in ("define_asset_job",) and "dagster" in text:
            flows.append((node.lineno, "dagster", (const_str(node.args[0]) if node.args else None) or "asset_job"))
        elif short in ("serve", "deploy", "to_deployment", "build_from_flow") and "prefect" in text:
            sv = kw(node, "cron", "interval", "rrule", "schedule", "schedules")
            target = kw(node, "flow") if short == "build_from_flow" else (
                node.func.value if isinstance(node.func, ast.Attribute) else None)
            if isinstance(target, ast.Name) and target.id in imported:
                flow_modules.append(imported[target.id])
            if sv is not None:
                k, c = value(sv)
                if k != "none":
                    schedules.append((node.lineno, "prefect", c, True))
        elif short in ("CronSchedule", "IntervalSchedule", "Cron", "Interval") and "prefect" in text:
            k, c = value(node)
            schedules.append((node.lineno, "prefect", c, k != "none"))
        elif short in ("create_recurring_run",):
            cv = kw(node, "cron_expression", "interval_second")
            schedules.append((node.lineno, "kubeflow", value(cv)[1] if cv is not None else None,
                              kw(node, "enabled") is None or "False" not in ast.unparse(kw(node, "enabled"))))
        elif short == "create_monitoring_schedule" and "sagemaker" in text:
            cv = kw(node, "schedule_cron_expression", "ScheduleExpression")
            schedules.append((node.lineno, "sagemaker-monitor", ast.unparse(cv)[:120] if cv is not None else None,
                              True))
        elif short in ("ModelDeploymentMonitoringJob", "create") and "ModelDeploymentMonitoringJob" in name and (
                "aiplatform" in text):
            cv = kw(node, "schedule_config", "monitor_interval")
            schedules.append((node.lineno, "vertex-monitor", ast.unparse(cv)[:120] if cv is not None else None,
                              True))
        elif short in ("create_schedule", "PipelineJobSchedule") and ("aiplatform" in text or "vertex" in text):
            cv = kw(node, "cron", "cron_expression")
            schedules.append((node.lineno, "vertex", value(cv)[1] if cv is not None else None, True))
        elif short == "Pipeline" and ("tfx" in text and "pipeline" in name.lower() or "sagemaker" in text):
            system = "sagemaker" if "sagemaker" in text else "tfx"
            flows.append((node.lineno, system, const_str(kw(node, "pipeline_name", "name")) or "pipeline"))
        elif short in _TFX_COMPONENTS and "tfx" in text or short in ("ProcessingStep", "TrainingStep", "ModelStep", "QualityCheckStep", "ClarifyCheckStep",
                       "ConditionStep", "TransformStep", "TuningStep") and "sagemaker" in text:
            tasks.append(short)
        elif short == "AirflowPipelineConfig" or short == "airflow_dag_config":
            pass
        elif short in ("pipeline", "Pipeline") and "kedro" in text:
            flows.append((node.lineno, "kedro", "pipeline"))
        elif short == "node" and "kedro" in text:
            fn = node.args[0] if node.args else kw(node, "func")
            tasks.append(f"node:{ast.unparse(fn)[:60]}" if fn is not None else "node")
        elif short in ("Schedule",) and "zenml" in text:
            cv = kw(node, "cron_expression", "interval_second")
            schedules.append((node.lineno, "zenml", value(cv)[1] if cv is not None else None, True))
        elif short in ("LaunchPlan.get_or_create", "get_or_create", "CronSchedule") and "flytekit" in text:
            if kw(node, "schedule", "cron_expression") is not None:
                schedules.append((node.lineno, "flyte", ast.unparse(kw(node, "schedule", "cron_expression"))[:120],
                                  True))
        elif name in ("schedule.every",) or (short in ("add_job", "scheduled_job") and "apscheduler" in text):
            schedules.append((node.lineno, "python-scheduler", ast.unparse(node)[:120], True))
        elif "airflow_dag_config" in ast.unparse(node)[:0]:
            pass

    # TFX on Airflow: AirflowDagRunner(AirflowPipelineConfig(airflow_dag_config={'schedule_interval': ...}))
    m = re.search(r"['\"]schedule_interval['\"]\s*:\s*([^,}\n]+)", text)
    if m and "tfx" in text and m.group(1).strip() != "None":
        schedules.append((text[: m.start()].count("\n") + 1, "tfx", m.group(1).strip()[:120], True))

    if dags or flows:
        # modules a task runs by name (`run_project_module("src.orchestration.retrain", ...)`, `python -m` argv)
        flow_modules += [m.group(1) for m in _MODULE_STRING_RX.finditer(text)][:20]
    extra = [resolve(path, mod) for mod in dict.fromkeys(flow_modules)] if resolve else []
    files_t = (path, *(e for e in extra if e and e != path))
    cmds_t = tuple(bash)
    tasks_t = tuple(dict.fromkeys(tasks))[:200]
    for line, system, name, sched in dags:
        if sched is None:
            trig, cron, enabled = "pipeline", None, True
        else:
            k, c = sched
            trig = "schedule" if k in ("cron", "interval", "unknown") else "pipeline"
            cron, enabled = c, k != "none"
            if k == "none":
                trig, enabled = "pipeline", True
        entries.append(PipelineEntry(file=path, line=line, system=system, name=name,
                                     trigger=trig, cron=cron, enabled=enabled,  # type: ignore[arg-type]
                                     commands=cmds_t, python_files=files_t, tasks=tasks_t))
    # one schedule per (system, cron): CronSchedule(...) inside build_from_flow(schedule=...) is seen twice
    seen_sched: set[tuple[str, str | None]] = set()
    unique: list[tuple[int, str, str | None, bool]] = []
    for item in sorted(schedules, key=lambda x: (x[0], x[1], x[2] or "", x[3])):
        if (item[1], item[2]) not in seen_sched:
            seen_sched.add((item[1], item[2]))
            unique.append(item)
    schedules = unique
    enabled_scheds = [s for s in schedules if s[3]]
    for line, system, cron, enabled in schedules:
        entries.append(PipelineEntry(file=path, line=line, system=system, name=f"{system} schedule",
                                     trigger="schedule", cron=cron, enabled=enabled,
                                     commands=cmds_t if not dags else (), python_files=files_t,
                                     tasks=tasks_t))
    if not dags and not enabled_scheds:
        for line, system, name in flows:
            entries.append(PipelineEntry(file=path, line=line, system=system, name=name,
                                         trigger="pipeline", commands=cmds_t, python_files=files_t,
                                         tasks=tasks_t))
        if not flows and not enabled_scheds and not schedules and tasks and any(
                t.startswith(("asset:", "op:", "node:")) or t in _TFX_COMPONENTS for t in tasks):
            system = "dagster" if "dagster" in text else ("tfx" if "tfx" in text else "kedro")
            entries.append(PipelineEntry(file=path, line=1, system=system, name=posixpath.basename(path),
                                         trigger="pipeline", commands=cmds_t, python_files=files_t,
                                         tasks=tasks_t))
    return entries


_IAC_SCHEDULE_RESOURCES = re.compile(
    r"resource\s+\"(aws_cloudwatch_event_rule|aws_scheduler_schedule|aws_sagemaker_monitoring_schedule|"
    r"google_cloud_scheduler_job|azurerm_data_factory_trigger_schedule|azurerm_logic_app_trigger_recurrence|"
    r"azurerm_machine_learning_\w*schedule\w*)\"\s+\"([^\"]+)\"|"
    r"Type\"?\s*:\s*\"?(AWS::Events::Rule|AWS::Scheduler::Schedule|AWS::SageMaker::MonitoringSchedule)")
_IAC_SCHEDULE_VALUE = re.compile(
    r"(schedule_expression|ScheduleExpression|\bschedule\b|frequency|cron_expression)\"?\s*[:=]\s*\"?([^\"\n]+)")


def _iac_schedules(path: str, text: str) -> list[PipelineEntry]:
    """Schedules declared in Terraform / CloudFormation: EventBridge rules and schedules, Cloud Scheduler jobs,
    SageMaker monitoring schedules, Azure Data Factory / Logic App recurrences."""
    if not re.search(r"schedule|Schedule", text):
        return []
    out: list[PipelineEntry] = []
    matches = list(_IAC_SCHEDULE_RESOURCES.finditer(text))
    for k, m in enumerate(matches):
        line = text.count("\n", 0, m.start()) + 1
        kind = m.group(1) or m.group(3)
        name = m.group(2) or kind
        end = min(matches[k + 1].start() if k + 1 < len(matches) else len(text), m.start() + 4000)
        nxt = re.search(r"\n(resource|data|module)\s+\"|\n  [A-Za-z0-9]+:\s*\n", text[m.end():end])
        window = text[m.start():m.end() + nxt.start()] if nxt else text[m.start():end]
        v = _IAC_SCHEDULE_VALUE.search(window)
        if v is None and kind in ("aws_cloudwatch_event_rule", "AWS::Events::Rule"):
            continue  # an event-pattern rule, not a schedule
        enabled = not re.search(r"(is_enabled|state|State)\s*[:=]\s*\"?(false|DISABLED|Disabled)", window)
        out.append(PipelineEntry(file=path, line=line, system="iac", name=name, trigger="schedule",
                                 cron=v.group(2).strip().rstrip(",")[:120] if v else None, enabled=enabled,
                                 tasks=(kind,)))
    return out


_CRON_LINE = re.compile(r"^\s*((?:@\w+)|(?:[\d*/,\-?LW#A-Za-z]+\s+){4}[\d*/,\-?LW#A-Za-z]+)\s+(?:(\w+)\s+)?(.+)$")


def _crontab_entries(path: str, text: str) -> list[PipelineEntry]:
    out: list[PipelineEntry] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip() or raw.lstrip().startswith("#") or re.match(r"^\s*\w+=", raw):
            continue
        m = _CRON_LINE.match(raw)
        if not m:
            continue
        cmd = m.group(3)
        if path.endswith("cron.d/" + posixpath.basename(path)) and m.group(2):
            pass  # system crontab: the user field is already split off
        else:
            cmd = ((m.group(2) + " ") if m.group(2) else "") + cmd
        cmds = split_script(cmd, first_line=n, errexit=False).commands
        out.append(PipelineEntry(file=path, line=n, system="cron", name=cmd[:80], trigger="schedule",
                                 cron=m.group(1).strip(), commands=cmds))
    return out


def extract_schedules(files: Iterable[str], read: Reader, *, known: Iterable[str] | None = None) -> ScheduleFacts:
    """Pipelines and schedules among ``files``; see the module docstring. ``known``: every file of the tree, for
    resolving the modules a pipeline names (default: ``files``)."""
    from mlscore.facts.yamlsafe import load_yaml_docs, strip_templates

    all_files = list(files)
    file_list = sorted(f for f in all_files if wanted(f))
    file_set = set(file_list) | (set(known) if known is not None else set())

    def resolve(importer: str, module: str) -> str | None:
        """Repo file of ``module`` imported by ``importer``: next to it, at the root, or under src/."""
        rel = module.replace(".", "/")
        here = posixpath.dirname(importer)
        for base in (here, "", "src"):
            for cand in (f"{rel}.py", f"{rel}/__init__.py"):
                full = posixpath.join(base, cand) if base else cand
                if full in file_set:
                    return full
        return None

    diags: list[Diagnostic] = []
    entries: list[PipelineEntry] = []
    dvc: list[DvcStage] = []
    params: list[str] = []
    for path in file_list:
        guard.check()  # the extractor budget, where the timer cannot interrupt (cooperative)
        base = posixpath.basename(path)
        if base == "params.yaml":
            params.append(path)
            continue
        lim = guard.limit()  # a per-file time budget: one slow file costs only its own facts
        try:
            with lim:
                text = read(path)
                if text is None:
                    continue
                if _DVC.search(path):
                    stages = dvc_stages(path, text, diags)
                    if not stages:
                        continue
                    dvc.extend(stages)
                    for st in stages:
                        cwd = posixpath.normpath(posixpath.join(posixpath.dirname(path) or ".", st.wdir or "."))
                        cmds = split_script(st.cmd, first_line=st.cmd_line or st.line, errexit=False,
                                            cwd=None if cwd == "." else cwd).commands
                        entries.append(PipelineEntry(file=path, line=st.line, system="dvc", name=st.name,
                                                     trigger="pipeline", commands=cmds))
                elif path.endswith(".py"):
                    entries.extend(_python_entries(path, text, diags, resolve))
                elif _YAML.search(path):
                    if "AWSTemplateFormatVersion" in text or "AWS::" in text:
                        entries.extend(_iac_schedules(path, text))
                    if base == "prefect.yaml":
                        doc, d = load_yaml(path, text)
                        diags.extend(d)
                        if isinstance(doc, dict):
                            entries.extend(_prefect_yaml(path, doc, file_set))
                        continue
                    if not _YAML_HINTS.search(text):
                        continue
                    if "{{" in text:
                        text = strip_templates(text)
                    docs, d = load_yaml_docs(path, text)
                    diags.extend(d)
                    for doc in docs:
                        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
                        for item in items if isinstance(items, list) else []:
                            if isinstance(item, dict):
                                entries.extend(_k8s_entries(path, item))
                elif path.endswith(".tf") or (path.endswith((".template", ".json")) and "AWS::" in text):
                    entries.extend(_iac_schedules(path, text))
                else:
                    entries.extend(_crontab_entries(path, text))
        except Exception as exc:  # noqa: BLE001 - one file must not cost the others their facts
            diags.append(guard.failure("schedules", path, exc))
        if lim.overrun:
            diags.append(guard.stopped("schedules", path, lim.seconds))
    if any(e.system == "airflow" and e.trigger == "schedule" and e.enabled for e in entries) \
            and _airflow_paused_at_creation(all_files, read):
        # the tree's own Airflow deployment creates every DAG paused: a schedule a person must switch on (MON4 0.5),
        # unless the DAG opts out with is_paused_upon_creation=False
        entries = [e.model_copy(update={"enabled": False}) if e.system == "airflow" and e.trigger == "schedule"
                   and not _UNPAUSED.search(read(e.file) or "") else e for e in entries]
    return ScheduleFacts(entries=tuple(entries), dvc=tuple(dvc), params_files=tuple(params),
                         diagnostics=tuple(diags))


_UNPAUSED = re.compile(r"is_paused_upon_creation\s*=\s*False")
_PAUSED_ENV = re.compile(r"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION[\"']?\s*[:=]\s*[\"']?(true|True|TRUE|1)\b")
_PAUSED_CFG = re.compile(r"(?m)^[ \t]*dags_are_paused_at_creation[ \t]*[=:][ \t]*[\"']?(true|True|TRUE)\b")
_AIRFLOW_CONFIG = re.compile(r"(^|/)(airflow\.cfg|[^/]*compose[^/]*\.ya?ml|\.env|[^/]*\.env|Dockerfile[^/]*|"
                             r"values[^/]*\.ya?ml)$")


def _airflow_paused_at_creation(files: list[str], read: Reader) -> bool:
    """Whether the tree's Airflow configuration explicitly creates DAGs paused (``dags_are_paused_at_creation`` in
    airflow.cfg or a Helm values file, ``AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION`` in Compose, .env or a
    Dockerfile). Airflow's own default is not read as configuration (LABELING.md C1)."""
    for path in files:
        if not _AIRFLOW_CONFIG.search(path):
            continue
        text = read(path) or ""
        if "paused_at_creation" not in text.lower():
            continue
        if _PAUSED_ENV.search(text) or _PAUSED_CFG.search(text):
            return True
    return False
