"""`mlscore rules` and `mlscore explain ID`: the 28 rubric tests as a table, and one test in full."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import click

from mlscore.catalog import Catalog, RuleSpec, load_catalog
from mlscore.remediation import render

#: Fixed width, not the terminal's: the output is the same in a terminal, a CI log and a golden file.
WIDTH = 80
_INDENT = "  "
_HUMAN_NOTE = "Human-only (attest them in config)"
_SOURCE_TEXT = {
    "repository": "repository (mlscore audit)",
    "data": "data (mlscore data)",
    "probe": "live endpoint (mlscore probe)",
    "sidecar": "sidecar (mlscore sidecar)",
    "attestation": "attestation (config)",
}
_FENCE = {"python": "python", "yaml": "yaml", "toml": "toml", "bash": "bash"}


# --- rendering: pure functions of the catalog --------------------------------------------------


def _wrap(text: str, indent: str = _INDENT) -> str:
    return textwrap.fill(
        " ".join(text.split()), width=WIDTH, initial_indent=indent, subsequent_indent=indent,
        break_on_hyphens=False, break_long_words=False,
    )


def _bullet(text: str, indent: str = _INDENT) -> str:
    return textwrap.fill(
        " ".join(text.split()), width=WIDTH, initial_indent=indent + "- ", subsequent_indent=indent + "  ",
        break_on_hyphens=False, break_long_words=False,
    )


def _detector_text(rule: RuleSpec, params: bool = True) -> str:
    parts = []
    for detector in rule.detectors:
        params_text = json.dumps(detector.params, sort_keys=True) if detector.params and params else ""
        parts.append(f"{detector.name} {params_text}".rstrip())
    return ", ".join(parts)


def _attest_block(rule: RuleSpec) -> str:
    return "\n".join([
        "[[tool.mlscore.attest]]",
        f'rule = "{rule.id}"',
        'owner = "you@example.com"',
        "date = 2026-10-01",
        'link = "https://..."',
        "expires = 2027-04-01",
    ])


def _example_is_attestation(rule: RuleSpec) -> bool:
    return "[[tool.mlscore.attest]]" in rule.remediation.example.text


def render_table_text(rules: Sequence[RuleSpec]) -> str:
    """The rules as an aligned plain-text table with a one-line footer."""
    rows = [("ID", "SECTION", "TITLE")] + [(r.id, r.section.value, r.title) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    human = [r.id for r in rules if r.human_only]
    footer = f"{len(rules)} test{'s' if len(rules) != 1 else ''}."
    if human:
        footer += f" {_HUMAN_NOTE}: {', '.join(human)}."
    lines += ["", footer, "Run `mlscore explain ID` for what a test asks and how to earn its points."]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table_markdown(rules: Sequence[RuleSpec]) -> str:
    """The rules as a Markdown table: id, section, title, and what can prove each."""
    lines = ["| ID | Section | Title | Evidence from |", "| --- | --- | --- | --- |"]
    for rule in rules:
        sources = ", ".join(rule.evidence_sources)
        title = rule.title + (" (human-only)" if rule.human_only else "")
        lines.append(f"| [{rule.id}](#{rule.id.lower()}) | {rule.section.value} | {_md_cell(title)} | {sources} |")
    return "\n".join(lines) + "\n"


def render_rule_text(rule: RuleSpec, source: str | None = None) -> str:
    """One rule in full, for a terminal or a CI log."""
    out: list[str] = []
    add = out.append
    add(f"{rule.id}  {rule.title}")
    add(f"{_INDENT}{rule.section.value}, test {rule.number} of 7; name: {rule.name}"
        + ("; DEPRECATED" if rule.deprecated else ""))
    add(f"{_INDENT}Paper: {rule.paper}")
    if rule.heading != rule.title:
        add(_wrap(f'Heading: "{rule.heading}"'))
    if source:
        add(f"{_INDENT}Rule file: {source}")
    add("")
    add("What it asks")
    add(_wrap(rule.asks))
    add("")
    add("Manual credit (0.5 points)")
    add(_wrap(rule.manual))
    add("")
    add("Automated credit (1 point)")
    add(_wrap(rule.automated))
    add("")
    add("Not evidence")
    out.extend(_bullet(item) for item in rule.not_evidence)
    add("")
    add("Who can prove it")
    add(_wrap(", ".join(_SOURCE_TEXT[s] for s in rule.evidence_sources)))
    if rule.human_only:
        add(_wrap("Human-only: a repository rarely shows this; record it as an attestation in config."))
    if rule.attestation_hint:
        add("")
        add("What to attest")
        add(_wrap(rule.attestation_hint))
        if not _example_is_attestation(rule):
            add(_wrap("Record it in pyproject.toml:"))
            add(textwrap.indent(_attest_block(rule), _INDENT * 2))
    add("")
    add("Next steps")
    add(_wrap(f"To manual: {render(rule.remediation.to_manual)}"))
    add(_wrap(f"To automated: {render(rule.remediation.to_automated)}"))
    add("")
    example = rule.remediation.example
    add(f"Example ({example.kind}, {example.language})")
    add(_wrap(example.title))
    add(textwrap.indent(example.text.rstrip("\n"), _INDENT * 2))
    add("")
    add(f"Detectors: {_detector_text(rule)}")
    add(f"Reported as: severity {rule.severity}, precision {rule.precision}")
    add("References")
    out.extend(f"{_INDENT}{url}" for url in rule.references)
    return "\n".join(line.rstrip() for line in out) + "\n"


def render_rule_markdown(rule: RuleSpec, source: str | None = None, level: int = 2, params: bool = True) -> str:
    """One rule in full as Markdown (for docs, issue comments and `explain --format markdown`).

    ``params=False`` leaves out detector parameters (tuning details that would churn the docs).
    """
    h = "#" * level
    example = rule.remediation.example
    out = [
        f"{h} {rule.id}",
        "",
        f"**{rule.title}**" + (" *(deprecated)*" if rule.deprecated else ""),
        "",
        f"{rule.paper}"
        + (f': "{rule.heading}"' if rule.heading != rule.title else "")
        + f". Section {rule.section.value}, name `{rule.name}`.",
        "",
    ]
    if source:
        out += [f"Rule file: `{source}`", ""]
    out += [
        f"**What it asks.** {' '.join(rule.asks.split())}",
        "",
        f"**Manual (0.5).** {' '.join(rule.manual.split())}",
        "",
        f"**Automated (1).** {' '.join(rule.automated.split())}",
        "",
        "**Not evidence:**",
        "",
        *[f"- {' '.join(item.split())}" for item in rule.not_evidence],
        "",
        "**Who can prove it:** " + ", ".join(_SOURCE_TEXT[s] for s in rule.evidence_sources) + ".",
        "",
    ]
    if rule.human_only:
        out += ["**Human-only:** a repository rarely shows this; record it as an attestation in config.", ""]
    if rule.attestation_hint:
        out += [f"**What to attest.** {' '.join(rule.attestation_hint.split())}", ""]
        if not _example_is_attestation(rule):
            out += ["```toml", _attest_block(rule), "```", ""]
    out += [
        f"**To manual:** {' '.join(render(rule.remediation.to_manual).split())}",
        "",
        f"**To automated:** {' '.join(render(rule.remediation.to_automated).split())}",
        "",
        f"*Example ({example.kind}): {example.title}*",
        "",
        f"```{_FENCE[example.language]}",
        example.text.rstrip("\n"),
        "```",
        "",
        (
            f"Detectors: `{_detector_text(rule, params)}`. Reported as severity `{rule.severity}`, precision "
            f"`{rule.precision}`."
        ),
        "",
        "References: " + ", ".join(f"<{url}>" for url in rule.references),
        "",
    ]
    return "\n".join(out)


def render_rules(catalog: Catalog, rules: Sequence[RuleSpec], fmt: str, details: bool) -> str:
    """What `mlscore rules` prints, in one of its formats."""
    if fmt == "json":
        return json.dumps([r.model_dump(mode="json") for r in rules], indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        if not details:
            return render_table_markdown(rules)
        return docs_markdown(catalog, rules)
    if not details:
        return render_table_text(rules)
    sep = "\n" + "=" * WIDTH + "\n\n"
    return render_table_text(rules) + sep + sep.join(
        render_rule_text(r, _override_source(catalog, r)) for r in rules
    )


def docs_markdown(catalog: Catalog, rules: Sequence[RuleSpec] | None = None) -> str:
    """The page docs/rules.md: an introduction, the table, then every rule in full."""
    chosen = list(catalog.rules if rules is None else rules)
    intro = f"""# The {len(chosen)} tests of the ML Test Score

<!-- Generated by `mlscore rules --format markdown --details`; edit rules/*.yaml, not this file. -->

mlscore scores a system against the ML Test Score of Breck et al., "The ML Test Score: A Rubric
for ML Production Readiness and Technical Debt Reduction" (IEEE Big Data 2017). Each test earns
**0.5** when it is done by hand with the results documented and shared, and **1** when a system
runs it automatically and repeatedly. A section scores the sum of its seven tests (0 to 7), and
the ML Test Score is the **minimum** of the four sections, so the weakest section is where a
point is cheapest.

The wording below paraphrases the paper; what earns credit, and what does not, follows the
labeling rules mlscore is evaluated against. Every rule lives in `rules/<ID>.yaml`, validated by
`rules/rule.schema.json`. `mlscore explain ID` prints one rule; `--select`/`--ignore` choose rules
by id prefix (`--select MON --ignore MON3`: the longest matching prefix wins). A directory of your
own rule files named like these (`MON3.yaml`) replaces the bundled rule of that id.

"""
    body = "\n".join(render_rule_markdown(r, _override_source(catalog, r), level=3, params=False) for r in chosen)
    return intro + render_table_markdown(chosen) + "\n## The tests\n\n" + body


def _override_source(catalog: Catalog, rule: RuleSpec) -> str | None:
    return catalog.sources.get(rule.id) if rule.id in catalog.overridden else None


# --- commands -----------------------------------------------------------------------------------


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


_rules_dir_option = click.option(
    "--rules-dir",
    "rules_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A directory of your own rule files (e.g. MON3.yaml) that replace the bundled ones. Repeatable.",
)
_output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout."
)


def _load(rules_dirs: Iterable[Path]) -> Catalog:
    return load_catalog(extra_dirs=tuple(rules_dirs))


@click.command("rules")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
    help="json gives every field of every rule.",
)
@click.option("--details", is_flag=True, help="Print every rule in full after the table (text, markdown).")
@click.option("--select", multiple=True, metavar="PREFIX", help="Only rules whose id starts with PREFIX (repeatable, or comma-separated).")
@click.option("--ignore", multiple=True, metavar="PREFIX", help="Leave out rules whose id starts with PREFIX; the longest matching prefix wins.")
@_rules_dir_option
@_output_option
def rules(
    fmt: str, details: bool, select: tuple[str, ...], ignore: tuple[str, ...], rules_dirs: tuple[Path, ...],
    output: Path | None,
) -> int:
    """List the 28 rubric tests: id, section and the paper's short title."""
    catalog = _load(rules_dirs)
    chosen = catalog.select(select, ignore)
    _emit(render_rules(catalog, chosen, fmt, details), output)
    return 0


@click.command("explain")
@click.argument("rule_id", metavar="ID")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@_rules_dir_option
@_output_option
def explain(rule_id: str, fmt: str, rules_dirs: tuple[Path, ...], output: Path | None) -> int:
    """Explain one test: what it asks, what earns credit, what does not, how to raise it.

    ID is a test id (MON3, mon3, "Monitor 3") or a rule name (training-serving-skew).
    """
    catalog = _load(rules_dirs)
    rule = catalog.get(rule_id)
    source = _override_source(catalog, rule)
    if fmt == "json":
        text = rule.model_dump_json(indent=2) + "\n"
    elif fmt == "markdown":
        text = render_rule_markdown(rule, source, level=1)
    else:
        text = render_rule_text(rule, source)
    _emit(text, output)
    return 0
