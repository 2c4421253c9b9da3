"""The signal catalog as data: what a signal matches, which rubric tests it informs and how, and its fixtures.

A signal is one mechanism the field uses to implement a rubric test (a SageMaker monitoring schedule, a TFX
Evaluator threshold, a Dependabot config, a latency histogram in serving code), written from the vendor's
documentation. ``rules/signals/<tool>.yaml`` holds the signals of one tool or platform. Detectors decide levels;
a signal only says what was found and what that finding can support (LABELING.md's levels as conditions).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlscore.catalog import http_urls
from mlscore.facts.linear import validate as _linear
from mlscore.models import RULE_ID_RE

__all__ = [
    "CONDITIONS",
    "Fixture",
    "Informs",
    "Matcher",
    "Signal",
    "SignalFile",
    "signal_json_schema",
]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _re2(value: str | None) -> str | None:
    """Patterns in the catalog run over untrusted text: RE2 must accept them (no lookaround, no backrefs)."""
    return None if value is None else _linear(value)


#: When a signal reaches a level (LABELING.md G4-G6):
#: always     - finding it is enough (a declared schedule, a dependency bot, an alert rule with a notifier);
#: reached    - a CI job, an orchestrated pipeline or a scheduler runs the file (G5 a-c), and failures count (G7);
#: pipeline   - as reached, on the project's real data: a pipeline, a schedule, or CI that fetches data (G8);
#: scheduled  - a schedule runs it (G6a: monitoring needs its own cadence, not the team's pushes);
#: serving    - the file is on the serving path: every request or batch (G5d, G6b);
#: guard      - the file is on the standard training, data-loading or serving path (G5e);
#: never      - the signal never reaches this level on its own.
CONDITIONS = ("always", "reached", "pipeline", "scheduled", "serving", "guard", "never")
Condition = Literal["always", "reached", "pipeline", "scheduled", "serving", "guard", "never"]


#: Tests whose level combines several parts; a signal for one part feeds the detector's judgment instead of
#: earning a level by itself (two of three reproducibility measures; a spec and a review mechanism).
ASPECTS: dict[str, tuple[str, ...]] = {
    "INFRA1": ("seeds", "pins", "versioned-data"),
    "MODEL1": ("spec", "review"),
}


class Informs(_Spec):
    """How a signal supports one rubric test: the condition for 0.5 and the condition for 1."""

    manual: Condition = Field(default="always", description="When the finding earns 0.5 (manual).")
    automated: Condition = Field(default="never", description="When the finding earns 1 (automated).")
    aspect: str | None = Field(default=None, description="For tests with parts (INFRA1: seeds, pins, versioned-data; "
                                                          "MODEL1: spec, review): the part this signal shows.")
    automated_requires: tuple[str, ...] = Field(
        default=(), description="Signal ids that must also match somewhere in the tree for the automated level; "
                                "without them the finding stays at the manual level (a rule with no notifier).")
    note: str | None = Field(default=None, description="Why, with LABELING.md rule numbers.")


class PythonMatch(_Spec):
    """Python code (modules and notebook cells), read from the AST."""

    calls: tuple[str, ...] = Field(default=(), description="Callee names; `a.b` matches `x.a.b(` and `a.b(`.")
    decorators: tuple[str, ...] = Field(default=(), description="Decorator names (`dsl.pipeline`, `flow`).")
    bases: tuple[str, ...] = Field(default=(), description="Base classes of a class definition (`FlowSpec`).")
    imports: tuple[str, ...] = Field(default=(), description="The file must import one of these modules (prefix).")
    kwargs_any: tuple[str, ...] = Field(default=(), description="The call must pass one of these keywords.")
    kwargs_none: tuple[str, ...] = Field(default=(), description="The call must pass none of these keywords.")
    kwargs_values: dict[str, str] = Field(
        default_factory=dict, description="Keyword -> RE2 pattern its literal value (or name) must match, e.g. "
                                          "{detect_anomaly: '^True$'}; a keyword that is absent or not literal fails.")
    where: Literal["code", "tests", "any"] = Field(default="code", description="Non-test code, tests, or both.")

    @model_validator(mode="after")
    def _something(self) -> PythonMatch:
        if not (self.calls or self.decorators or self.bases or self.imports):
            raise ValueError("python needs calls, decorators, bases or imports")
        if (self.kwargs_any or self.kwargs_none or self.kwargs_values) and not self.calls:
            raise ValueError("kwargs_any, kwargs_none and kwargs_values constrain calls: give calls")
        for pattern in self.kwargs_values.values():
            _linear(pattern)
        return self


class YamlMatch(_Spec):
    """A key path in YAML or JSON documents (`spec.predictor.canaryTrafficPercent`; `*` is any key or item)."""

    keys: tuple[str, ...] = Field(min_length=1, description="Key paths; one must exist.")
    value: str | None = Field(default=None, description="RE2 pattern the scalar at the path must match.")
    kind: str | None = Field(default=None, description="Kubernetes `kind` the document must have.")
    api_group: str | None = Field(default=None, description="Prefix of the document's `apiVersion`.")
    files: tuple[str, ...] = Field(default=(), description="Globs the file must match (default: any YAML/JSON).")

    _linear_time = field_validator("value")(_re2)


class CloudFormationMatch(_Spec):
    """A CloudFormation (or SAM, or CDK-synthesised) resource: `Resources.<name>.Type`, YAML or JSON."""

    type: str = Field(pattern=r"^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$")
    properties: tuple[str, ...] = Field(default=(), description="Property paths under `Properties`; one must exist.")
    value: str | None = Field(default=None, description="RE2 pattern the property's scalar value must match.")

    _linear_time = field_validator("value")(_re2)


class TerraformMatch(_Spec):
    """A Terraform resource block (`resource "aws_sagemaker_endpoint" "x" {...}`), with attributes or blocks."""

    resource: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    attributes: tuple[str, ...] = Field(default=(), description="Attribute or nested block names; one must occur.")
    value: str | None = Field(default=None, description="RE2 pattern the attribute's value must match.")

    _linear_time = field_validator("value")(_re2)


class ShellMatch(_Spec):
    """A command run by CI, a scheduler, a script, a Makefile or a container (RE2, searched per command)."""

    command: str = Field(min_length=1)
    literals: tuple[str, ...] = Field(default=(), description="Lower-case substrings one of which must occur.")

    _linear_time = field_validator("command")(_re2)


class TextMatch(_Spec):
    """A line of any text file (RE2), for mechanisms without structure to read; comments are skipped."""

    pattern: str = Field(min_length=1)
    files: tuple[str, ...] = Field(default=(), description="Globs the file must match (default: any text file).")
    literals: tuple[str, ...] = Field(default=(), description="Lower-case substrings one of which must occur.")

    _linear_time = field_validator("pattern")(_re2)


class DocsMatch(_Spec):
    """A documentation section (Markdown or reStructuredText heading) whose body holds a record."""

    heading: str = Field(min_length=1, description="RE2 pattern of the heading text.")
    body: str | None = Field(default=None, description="RE2 pattern the section body must match.")

    _linear_time = field_validator("heading", "body")(_re2)


class PathMatch(_Spec):
    """A file that exists (`.github/dependabot.yml`, `locustfile.py`), optionally with content."""

    globs: tuple[str, ...] = Field(min_length=1)
    contains: str | None = Field(default=None, description="RE2 pattern the file's text must match.")

    _linear_time = field_validator("contains")(_re2)


class Matcher(_Spec):
    """One way to find the mechanism: exactly one of the kinds."""

    python: PythonMatch | None = None
    yaml: YamlMatch | None = None
    cloudformation: CloudFormationMatch | None = None
    terraform: TerraformMatch | None = None
    shell: ShellMatch | None = None
    text: TextMatch | None = None
    docs: DocsMatch | None = None
    path: PathMatch | None = None

    @model_validator(mode="after")
    def _one(self) -> Matcher:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a matcher has exactly one kind ({', '.join(KINDS)}); got {len(kinds)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


KINDS = ("python", "yaml", "cloudformation", "terraform", "shell", "text", "docs", "path")


class Fixture(_Spec):
    """A tiny repository (path -> text) on which the signal must (positive) or must not (negative) match."""

    files: dict[str, str] = Field(min_length=1)
    expect: dict[str, Literal["none", "manual", "automated"]] = Field(
        default_factory=dict, description="Levels the signal alone must give these tests on this fixture.")
    note: str | None = None

    @field_validator("files")
    @classmethod
    def _relative(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            if path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"fixture paths are relative and stay inside the fixture: {path!r}")
        return value


class Signal(_Spec):
    """One evidence mechanism of the field."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$",
                    description="`<tool>.<mechanism>`, stable, never reused.")
    title: str = Field(min_length=1, description="What the mechanism is, as a reviewer would say it.")
    match: tuple[Matcher, ...] = Field(min_length=1, description="Ways to find it; any one suffices.")
    informs: dict[str, Informs] = Field(
        default_factory=dict, description="Rubric test id -> how it counts. Empty for a context signal: a condition "
                                          "other signals require (a staging deploy before an approval), no evidence "
                                          "by itself.")
    references: tuple[str, ...] = Field(min_length=1, description="Documentation the signal was written from.")
    positive: tuple[Fixture, ...] = Field(min_length=1)
    negative: tuple[Fixture, ...] = Field(min_length=1)
    requires: tuple[str, ...] = Field(default=(), description="Signal ids that must also match in the same file.")
    requires_anywhere: tuple[str, ...] = Field(
        default=(), description="Signal ids that must also match somewhere in the tree (an alert rule needs a notifier).")
    excludes: tuple[str, ...] = Field(
        default=(), description="Signal ids that must not match in the same file (an explainer whose file only draws a "
                                "global summary is a feature analysis, not single-example inspection).")

    @field_validator("informs")
    @classmethod
    def _rule_ids(cls, value: dict[str, Informs]) -> dict[str, Informs]:
        for rule_id, how in value.items():
            if not RULE_ID_RE.match(rule_id):
                raise ValueError(f"not a rubric test id: {rule_id!r}")
            if how.manual == "never" and how.automated == "never":
                raise ValueError(f"{rule_id}: the signal counts at no level")
            allowed = ASPECTS.get(rule_id, ())
            if how.aspect is not None and how.aspect not in allowed:
                raise ValueError(f"{rule_id}: aspect {how.aspect!r} is not one of {', '.join(allowed) or 'none'}")
        return value

    @field_validator("references")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return http_urls(value)

    @property
    def tool(self) -> str:
        return self.id.split(".", 1)[0]


class SignalFile(_Spec):
    """``rules/signals/<tool>.yaml``: the signals of one tool or platform."""

    tool: str = Field(min_length=1, description="The tool or platform, as its vendor names it.")
    ecosystem: Literal["aws", "gcp", "azure", "kubernetes", "orchestrator", "ci", "monitoring", "serving",
                       "python", "docs", "data", "tracking", "github", "other"]
    homepage: str = Field(pattern=r"^https?://\S+$")
    signals: tuple[Signal, ...] = Field(min_length=1)


def signal_json_schema() -> dict[str, Any]:
    """The JSON Schema of a signal file, as checked in at ``rules/signals/signal.schema.json``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mlscore/mlscore/blob/main/rules/signals/signal.schema.json",
        **SignalFile.model_json_schema(),
    }
