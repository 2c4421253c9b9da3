"""The command line: argument parsing, exit codes, error lines. Subcommands load lazily.

Exit codes: 0 ok, 1 a threshold was not met (``--fail-under``, failing checks), 2 usage or
input error, 3 internal error (set ``MLSCORE_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mlscore import __version__

#: name -> "module:attribute" of a click command; imported only when that command runs,
#: so `mlscore --version` and `mlscore audit` never import pandas, scipy or prometheus_client.
COMMANDS: dict[str, str] = {
    "audit": "mlscore.commands.audit:audit",
    "rules": "mlscore.commands.rules:rules",
    "explain": "mlscore.commands.rules:explain",
    "signals": "mlscore.commands.signals:signals",
    "diff": "mlscore.commands.diff:diff",
    "github": "mlscore.commands.github:github",
    "data": "mlscore.commands.data:data",
    "probe": "mlscore.commands.probe:probe",
    "sidecar": "mlscore.commands.sidecar:sidecar",
    "init": "mlscore.commands.init:init",
}

HELP = {
    "audit": "Audit a repository statically and score it against the ML Test Score.",
    "rules": "List the 28 rubric tests.",
    "explain": "Explain one rubric test: what it asks, what earns credit, how to raise it.",
    "signals": "List the evidence mechanisms the audit recognises (the signal catalog).",
    "diff": "Compare two saved JSON audit reports.",
    "github": "Run the audit as the GitHub Action does (comment, summary, SARIF, outputs).",
    "data": "Profile datasets, infer schemas, check drift, skew, predictions and slices.",
    "probe": "Probe a live model endpoint for what it proves about the rubric.",
    "sidecar": "Watch a model server's traffic and export drift and serving metrics.",
    "init": "Write what would raise the weakest section (CI jobs, bots, checks), then re-audit.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or "a module"
            if missing.startswith("mlscore"):
                raise
            extra = {"data": "data", "probe": "probe", "sidecar": "sidecar"}.get(cmd_name, "all")
            raise click.ClickException(
                f"`mlscore {cmd_name}` needs {missing!r}: pip install 'mlscore-audit[{extra}]'"
            ) from None
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, HELP[name]) for name in COMMANDS])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mlscore")
def cli() -> None:
    """mlscore: how ready is your ML system for production, with evidence.

    Scores a system against the ML Test Score (Breck et al., 2017): 28 tests in four
    sections; each test earns 0.5 when done by hand with documented results, 1 when
    automated; the score is the minimum over the four section sums.
    """


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr."""
    from mlscore.errors import MlscoreError

    try:
        result: Any = cli.main(args=argv, prog_name="mlscore", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("mlscore: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except MlscoreError as exc:
        click.echo(f"mlscore: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("mlscore: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        from mlscore.config import debug_enabled

        if debug_enabled():
            raise
        click.echo(
            f"mlscore: internal error: {type(exc).__name__}: {exc} (set MLSCORE_DEBUG=1 for details)",
            err=True,
        )
        return 3
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
