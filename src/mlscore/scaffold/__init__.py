"""`mlscore init`: plan the files that would raise a section, for this repository, and what each one earns.

The plan reads the tree (never runs it): the CI system in use, the Python version and install command its CI
already uses, the training entry point, committed training and served data. Each planned file states the rubric
tests it raises and to which level under LABELING.md; `apply` writes only new files (an existing file that differs
is shown as a diff, never overwritten), and the caller re-audits to check that the audit agrees with the claims.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlscore.facts.files import index_path
from mlscore.models import Level, Report, Section
from mlscore.scaffold import templates

SECTIONS = {"monitoring": Section.MONITORING, "data": Section.DATA, "model": Section.MODEL,
            "infrastructure": Section.INFRASTRUCTURE}
DATA_SUFFIXES = (".csv", ".parquet", ".jsonl")
SERVED_RX = re.compile(r"(?i)(^|[/_.-])(serv\w*|prod\w*|live|inference|requests?|logged|current|traffic|payloads?)"
                       r"([/_.-]|$)")
TRAIN_DIR_RX = re.compile(r"(?i)(^|/)(data|datasets?)/")
SKIP_RX = re.compile(r"(?i)(^|/)(tests?|fixtures?|testdata|examples?|docs?)/")


@dataclass(frozen=True)
class Claim:
    rule_id: str
    level: Level
    why: str


@dataclass
class Planned:
    path: str
    content: str
    claims: list[Claim]
    what: str
    status: str = "new"  # new | unchanged | differs
    diff: str = ""
    needs: str | None = None  # an edit of an existing file (shown as a diff) without which this file never runs


@dataclass
class Profile:
    ci: str  # github | gitlab | azure
    ci_found: bool
    python: str
    install: str
    train_command: str | None
    train_env: dict[str, str]
    train_outputs: str | None
    train_data: str | None
    served_data: str | None
    ecosystems: list[tuple[str, str]]
    bot: bool
    server: object = None  # mlscore.scaffold.serving.Server: a model server the tree deploys with Compose
    tests_in_ci: bool = False  # the CI found runs pytest on the whole suite (or tests/)

    def describe(self) -> str:
        ci = {"github": "GitHub Actions", "gitlab": "GitLab CI", "azure": "Azure Pipelines"}[self.ci]
        parts = [ci if self.ci_found else f"no CI found (writing for {ci})"]
        parts.append(f"training entry point `{self.train_command}`" if self.train_command else "no training entry point")
        parts.append(f"training data {self.train_data}" if self.train_data else "no committed training data")
        if self.server is not None:
            parts.append(f"model server {self.server.service!r} in {self.server.compose}")  # type: ignore[attr-defined]
        parts.append(f"served data {self.served_data}" if self.served_data else "no served data")
        return ", ".join(parts)


@dataclass
class Plan:
    section: Section
    profile: Profile
    files: list[Planned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why other tests of the section get nothing


def _read(root: Path, path: str, limit: int = 512 * 1024) -> str:
    try:
        with open(root / path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def profile(root: Path) -> Profile:
    """What the repository already uses, read from its files (nothing is run)."""
    paths = index_path(root).paths()
    workflows = [p for p in paths if re.match(r"\.github/workflows/[^/]+\.ya?ml$", p)]
    gitlab = ".gitlab-ci.yml" in paths
    azure = [p for p in paths if re.match(r"(.*/)?azure-pipelines[^/]*\.ya?ml$", p)]
    ci = "github" if workflows else "gitlab" if gitlab else "azure" if azure else "github"
    ci_text = "\n".join(_read(root, p) for p in (workflows or ([".gitlab-ci.yml"] if gitlab else azure)))
    m = re.search(r"python-version:\s*[\"']?(3\.\d+)", ci_text) or re.search(r"python:(3\.\d+)", ci_text) \
        or re.search(r"versionSpec:\s*[\"']?(3\.\d+)", ci_text)
    python = m.group(1) if m else "3.11"
    install = ""
    if "requirements.txt" in paths:
        install = "pip install -r requirements.txt"
    elif "pyproject.toml" in paths and "[project]" in _read(root, "pyproject.toml"):
        install = "pip install ."
    train_command, train_env = None, {}
    for path in sorted(paths, key=lambda p: (p.count("/"), p)):
        name = path.rsplit("/", 1)[-1]
        if not re.fullmatch(r"(re)?train(ing)?(_model|_pipeline)?\.py", name) or SKIP_RX.search(path):
            continue
        if "__main__" not in _read(root, path):
            continue
        if path.startswith("src/") and path.count("/") >= 2:
            train_command = "python -m " + path[4:-3].replace("/", ".")
            train_env = {"PYTHONPATH": "src"}
        else:
            train_command = f"python {path}"
        break
    outputs = next((d for d in ("models", "model", "artifacts") if d in _read(root, ".gitignore").split()
                    or any(p.startswith(d + "/") for p in paths)), None)
    data = [p for p in paths if p.lower().endswith(DATA_SUFFIXES) and not SKIP_RX.search(p)]
    served = next((p for p in data if SERVED_RX.search(p)), None)
    train = next((p for p in data if TRAIN_DIR_RX.search(p) and p != served), None)
    ecosystems: list[tuple[str, str]] = []
    if install or any(p.endswith(("setup.py", "environment.yml")) for p in paths):
        ecosystems.append(("pip", "/"))
    if "Dockerfile" in paths:
        ecosystems.append(("docker", "/"))
    if ci == "github" and workflows:
        ecosystems.append(("github-actions", "/"))
    bot = any(p in (".github/dependabot.yml", ".github/dependabot.yaml", "renovate.json", "renovate.json5",
                    ".renovaterc", ".renovaterc.json", ".github/renovate.json", ".gitlab/renovate.json")
              for p in paths)
    from mlscore.scaffold.serving import find_server

    tests_in_ci = bool(re.search(r"(?m)\b(pytest|py\.test)((\s+-\S+)*\s+\.?/?tests?/?)?(\s+-\S+)*\s*(#.*)?[\"']?$",
                                 ci_text))
    return Profile(ci, bool(workflows or gitlab or azure), python, install, train_command, train_env,
                   (outputs + "/") if outputs else None, train, served, ecosystems, bot, find_server(root, paths),
                   tests_in_ci)


def _scheduled(prof: Profile, slug: str, title: str, cron: str, run_name: str, run: str, env: dict[str, str],
               artifact: str | None, purpose: str) -> tuple[str, str]:
    """(path, text) of a scheduled job for the repository's CI system."""
    if prof.ci == "gitlab":
        return (f".gitlab/mlscore-{slug}.yml",
                templates.gitlab_scheduled(f"mlscore-{slug}", prof.python, prof.install, run, env, artifact, purpose))
    if prof.ci == "azure":
        return (f"azure-pipelines.mlscore-{slug}.yml",
                templates.azure_scheduled(run_name, cron, prof.python, prof.install, run, env, artifact, purpose))
    return (f".github/workflows/mlscore-{slug}.yml",
            templates.github_scheduled(title, cron, slug, prof.python, prof.install, run_name, run, env,
                                       (slug, artifact) if artifact else None, purpose))


def plan(root: Path, report: Report, section: Section) -> Plan:
    """The files that raise ``section`` here, each with the rubric tests it raises (LABELING.md levels)."""
    prof = profile(root)
    out = Plan(section, prof)
    level = {r.rule_id: r.level for r in report.results}

    def below(rule_id: str) -> bool:
        return rule_id in level and level[rule_id] is not Level.AUTOMATED

    if section is Section.MONITORING:
        if below("MON1") and not prof.bot and prof.ecosystems:
            if prof.ci == "github":
                names = ", ".join(e for e, _d in prof.ecosystems)
                out.files.append(Planned(".github/dependabot.yml", templates.dependabot(prof.ecosystems), [Claim(
                    "MON1", Level.AUTOMATED, f"Dependabot checks {names} weekly and opens a pull request for each "
                                             "upstream change (LABELING.md MON1: a dependency bot)")],
                    "a dependency bot"))
            else:
                out.files.append(Planned("renovate.json", templates.renovate(), [Claim(
                    "MON1", Level.AUTOMATED, "Renovate checks the dependencies weekly and opens a merge request for "
                                             "each upstream change (LABELING.md MON1: a dependency bot; it needs the "
                                             "Renovate app or runner)")], "a dependency bot"))
        if below("MON4") and prof.train_command:
            path, text = _scheduled(prof, "retrain", "mlscore retrain", templates.RETRAIN_CRON,
                                    "Retrain and evaluate the model", prof.train_command, prof.train_env,
                                    prof.train_outputs, "retrain the model every week from the data at the head "
                                    "of the default branch (ML Test Score MON4)")
            out.files.append(Planned(path, text, [Claim(
                "MON4", Level.AUTOMATED, f"`{prof.train_command}` runs every week ({templates.RETRAIN_CRON}) and a "
                                         "failure is reported (LABELING.md MON4: an enabled schedule that retrains)")],
                "scheduled retraining"))
        if prof.served_data and prof.train_data and (below("MON2") or below("MON3")):
            run = (f"pip install 'mlscore-audit[data]' && mlscore data check --reference {prof.train_data} "
                   f"--current {prof.served_data} -o mlscore-data.json")
            path, text = _scheduled(prof, "data-check", "mlscore data check", templates.CHECK_CRON,
                                    "Check served data against the training data", run, {}, None,
                                    "check the served data against the training data every day, failing on "
                                    "schema violations and drift (ML Test Score MON2, MON3)")
            claims = [Claim("MON2", Level.AUTOMATED, f"{prof.served_data} is checked against expectations and drift "
                                                     "every day and a failure is reported (LABELING.md MON2: scheduled "
                                                     "checks of production data)"),
                      Claim("MON3", Level.AUTOMATED, f"the distribution of {prof.served_data} is compared with the "
                                                     f"training data {prof.train_data} every day (LABELING.md MON3: "
                                                     "skew detection, automated under G6)")]
            out.files.append(Planned(path, text, [c for c in claims if below(c.rule_id)], "a scheduled data check"))
        if prof.server is not None and any(below(r) for r in ("MON2", "MON3", "MON5", "MON6", "MON7")):
            _serving(root, prof, out, below)
        if not prof.served_data and prof.server is None:
            out.skipped.append("MON2, MON3, MON5, MON6 and MON7 watch what a served model receives and returns; "
                               "nothing in this tree serves the model or keeps served data, so init writes nothing "
                               "for them (alerts on a server that does not exist would be placeholders, LABELING.md "
                               "G2). Add serving, then run `mlscore init` again.")
        if below("MON4") and not prof.train_command:
            out.skipped.append("MON4: no training entry point (train.py with a __main__ block) to schedule.")
        if prof.ci == "gitlab" and prof.ci_found:
            _gitlab_include(root, out)
    elif section is Section.DATA:
        from mlscore.scaffold import sections

        sections.data(root, prof, out, below, set(index_path(root).paths()))
        if prof.ci == "gitlab" and prof.ci_found:
            _gitlab_include(root, out)
    elif section is Section.INFRASTRUCTURE:
        from mlscore.scaffold import sections

        sections.infrastructure(root, prof, out, report, below, set(index_path(root).paths()))
        if prof.ci == "gitlab" and prof.ci_found:
            _gitlab_include(root, out)
    else:
        out.skipped.append(f"init writes nothing for the {section.title} section yet: its tests need the "
                           "project's own judgment (see `mlscore explain` for each test's next step).")
    for item in out.files:
        existing = root / item.path
        if existing.is_symlink() or existing.exists():
            old = _read(root, item.path, 4 * 1024 * 1024) if existing.is_file() and not existing.is_symlink() else ""
            if old == item.content:
                item.status = "unchanged"
            else:
                item.status = "differs"
                item.diff = "".join(difflib.unified_diff(old.splitlines(True), item.content.splitlines(True),
                                                         f"a/{item.path}", f"b/{item.path}"))
    return out


def _serving(root: Path, prof: Profile, out: Plan, below: object) -> None:
    from mlscore.scaffold import serving

    server = prof.server
    reference = serving.reference_profile(root, prof.train_data) if prof.train_data else None
    model = re.sub(r"[^A-Za-z0-9_.-]", "-", root.resolve().name) or "model"
    texts = serving.files(server, model, reference)  # type: ignore[arg-type]
    claims = [Claim(rule_id, Level.AUTOMATED, why) for rule_id, why in serving.claims(reference, prof.train_data)
              if below(rule_id)]  # type: ignore[operator]
    for path, text in texts.items():
        out.files.append(Planned(path, text, claims if path.endswith("mlscore-alerts.yml") else [],
                                 _SERVING_WHAT.get(path.rsplit("/", 1)[-1], "monitoring")))
    if reference is None:
        out.skipped.append("MON2, MON3, MON7: no reference profile of the training data (install mlscore-audit[data] "
                           "and run init again, or `mlscore data profile TRAIN -o deploy/mlscore/reference.profile."
                           "json`): without it the sidecar cannot tell drift, so init claims only MON5 and MON6")
    out.skipped.append(f"the alerts notify once deploy/mlscore/secrets/webhook-url holds your incoming-webhook URL "
                       f"and the stack runs: docker compose -f {server.compose} -f deploy/mlscore/compose.yaml "  # type: ignore[attr-defined]
                       "up -d")


_SERVING_WHAT = {"compose.yaml": "the sidecar, Prometheus and Alertmanager next to the model server",
                 "sidecar.toml": "the sidecar's model and alert settings", "prometheus.yml": "Prometheus: scrape "
                 "the sidecar, evaluate the rules, send alerts", "mlscore-alerts.yml": "alert rules "
                 "(`mlscore sidecar alerts`)", "alertmanager.yml": "Alertmanager: notify the team's webhook",
                 "grafana-dashboard.json": "a Grafana dashboard (`mlscore sidecar dashboard`)",
                 ".gitignore": "keep the webhook secret out of git",
                 "reference.profile.json": "the training data's profile, the sidecar's reference"}


def _gitlab_include(root: Path, out: Plan) -> None:
    """GitLab runs only what .gitlab-ci.yml includes: plan that edit (shown as a diff, applied by the user)."""
    jobs = [f for f in out.files if f.path.startswith(".gitlab/")]
    if not jobs:
        return
    old = _read(root, ".gitlab-ci.yml", 4 * 1024 * 1024)
    missing = [f.path for f in jobs if f.path not in old]
    if not missing:
        return
    lines = old.splitlines(True)
    at = next((i for i, line in enumerate(lines) if re.match(r"include:\s*(#.*)?$", line)), None)
    entries = [f"  - local: {path}\n" for path in missing]
    if at is not None and (at + 1 >= len(lines) or re.match(r"\s+-\s", lines[at + 1])):
        new_text = "".join(lines[:at + 1] + entries + lines[at + 1:])
    elif at is None and not re.search(r"(?m)^include\s*:", old):
        new_text = old + ("" if old.endswith("\n") or not old else "\n") + "\ninclude:\n" + "".join(entries)
    else:
        out.skipped.append(f"add {', '.join(missing)} to the include of .gitlab-ci.yml (its form is not one init "
                           "edits); the jobs run only once included")
        for item in jobs:
            item.needs = ".gitlab-ci.yml"
        return
    out.files.append(Planned(".gitlab-ci.yml", new_text, [], "include the jobs"))
    for item in jobs:
        item.needs = ".gitlab-ci.yml"


def active(item: Planned) -> bool:
    """Whether ``item`` will run once written (not waiting for an edit of an existing file the user applies)."""
    return item.needs is None


def apply(root: Path, the_plan: Plan) -> list[Planned]:
    """Write the new files of the plan (never an existing one); return those written."""
    written = []
    for item in the_plan.files:
        if item.status != "new":
            continue
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": fails rather than overwrite a file made meanwhile
            handle.write(item.content)
        written.append(item)
    return written


def claimed_points(before: Report, items: list[Planned], scoring: str = "2017") -> dict[str, float]:
    """Per rubric test, the points the audit should give once ``items`` are in the tree (LABELING.md claims)."""
    from mlscore.scoring import points_for

    out = {r.rule_id: r.points for r in before.results}
    for item in items:
        for claim in item.claims:
            out[claim.rule_id] = max(out.get(claim.rule_id, 0.0), points_for(claim.level, scoring))
    return out
