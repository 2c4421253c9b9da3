"""Shared by the whole suite: pytester, for the tests that run pytest (and pytest-mlscore) in a subprocess."""

pytest_plugins = ["pytester"]
