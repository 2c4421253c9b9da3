"""The exceptions mlscore raises on purpose; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class MlscoreError(Exception):
    """A usage or input error: bad option, unreadable file, malformed config. Exit code 2."""

    exit_code = 2


class ConfigError(MlscoreError):
    """The configuration is invalid; the message names the file and the key."""


class InputError(MlscoreError):
    """An input file (dataset, report, profile) cannot be used; the message names it and why."""
