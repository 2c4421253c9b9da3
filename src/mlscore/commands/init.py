"""`mlscore init [PATH]`: write what would raise the weakest section, then re-audit and show before and after."""

from __future__ import annotations

from pathlib import Path

import click

from mlscore.errors import MlscoreError


def _fmt(points: float) -> str:
    return f"{points:g}"


@click.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--section", type=click.Choice(["auto", "monitoring", "data", "model", "infrastructure"]),
              default="auto", show_default=True, help="The section to raise (auto: the weakest one).")
@click.option("--dry-run", is_flag=True, help="Show the files and the points they would earn; write nothing.")
def init(path: Path, section: str, dry_run: bool) -> int:
    """Write what would raise a section of PATH's ML Test Score, adapted to its CI and code.

    Never overwrites a file (a file that exists and differs is shown as a diff). After writing, the tree is
    audited again and the score before and after is printed with the points each file earned. Exit status:
    0 done (or nothing to do), 1 the audit gives other points than claimed, 2 usage error.
    """
    from mlscore.engine import run_audit
    from mlscore.scaffold import SECTIONS, active, apply, claimed_points, plan

    if not path.is_dir():
        raise MlscoreError(f"{path}: no such directory")
    before = run_audit(path)
    scores = {s.section: s for s in before.score.sections}
    if section == "auto":  # the weakest section; of several tied, the first one init has files for
        plans = [plan(path, before, s) for s in before.score.weakest]
        the_plan = next((p for p in plans if any(f.status == "new" for f in p.files)), plans[0])
        target = the_plan.section
    else:
        target = SECTIONS[section]
        the_plan = plan(path, before, target)
    click.echo(f"mlscore init: {before.target.name}, {target.title} section "
               f"({_fmt(scores[target].points)} of 7{', the weakest' if target in before.score.weakest else ''})")
    click.echo(f"  found: {the_plan.profile.describe()}")
    click.echo("")
    new = [f for f in the_plan.files if f.status == "new"]
    for item in the_plan.files:
        verb = {"new": "would write" if dry_run else "wrote", "unchanged": "unchanged",
                "differs": "exists, differs (not overwritten)"}[item.status]
        click.echo(f"  {verb:<12} {item.path}  ({item.what})")
        for claim in item.claims:
            old = before.result(claim.rule_id)
            click.echo(f"      {claim.rule_id}: {old.level.value if old else 'none'} -> {claim.level.value}: {claim.why}")
        if item.needs and item.claims:
            click.echo(f"      (counts once the change to {item.needs} shown here is applied: init never edits a file)")
        if item.diff:
            click.echo("    the file exists; init leaves it alone. Proposed change:")
            for line in item.diff.splitlines():
                click.echo(f"    {line}")
    for reason in the_plan.skipped:
        click.echo(f"  not written: {reason}")
    if not new:
        click.echo("\n  nothing to write: every file init would write is already there" if the_plan.files else
                   "\n  nothing to write for this section")
        return 0
    claimed = claimed_points(before, [f for f in new if active(f)], before.score.scoring)
    claimed_sections = {s: sum(claimed[r.rule_id] for r in before.results if r.section is s) for s in scores}
    claimed_score = min(claimed_sections.values())
    if dry_run:
        click.echo(f"\nDry run: nothing written. Once these files are in the tree the audit should give "
                   f"{target.title} {_fmt(scores[target].points)} -> {_fmt(claimed_sections[target])}, ML Test Score "
                   f"{_fmt(before.score.value)} -> {_fmt(claimed_score)}.")
        return 0
    apply(path, the_plan)
    after = run_audit(path)
    click.echo("\nScore before and after (audited again):")
    after_sections = {s.section: s for s in after.score.sections}
    for sec, old in scores.items():
        new_points = after_sections[sec].points
        if new_points != old.points or sec is target:
            click.echo(f"  {sec.title:<18} {_fmt(old.points):>4} -> {_fmt(new_points):<4} "
                       f"(init claimed {_fmt(claimed_sections[sec])})")
    click.echo(f"  {'ML Test Score':<18} {_fmt(before.score.value):>4} -> {_fmt(after.score.value):<4} "
               f"(init claimed {_fmt(claimed_score)})")
    short, extra = [], []
    for result in after.results:
        want = claimed.get(result.rule_id, 0.0)
        if result.points < want:
            short.append(f"{result.rule_id}: the audit gives {_fmt(result.points)}, init claimed {_fmt(want)}"
                         f" ({result.rationale})")
        elif result.points > want:
            extra.append(f"{result.rule_id} {_fmt(claimed.get(result.rule_id, 0.0))} -> {_fmt(result.points)}: "
                         f"{result.rationale}")
    for item in new:
        for claim in item.claims:
            result = after.result(claim.rule_id)
            ev = next((e for e in result.evidence if e.location and e.location.path == item.path), None) \
                if result is not None else None
            if ev is not None:
                click.echo(f"  {claim.rule_id} evidence: {ev.location}  {ev.summary}")
    if extra:
        click.echo("\nAlso raised by the audit, not claimed by init (judge these yourself against LABELING.md):")
        for line in extra:
            click.echo(f"  {line}")
    if short:
        click.echo("\ninit's claims and the audit disagree:", err=True)
        for line in short:
            click.echo(f"  {line}", err=True)
        return 1
    click.echo("\nThe audit gives every point init claimed. Review the files, commit them, and run `mlscore audit`.")
    return 0
