"""`python -m mlscore` runs the CLI."""

from mlscore.cli import main

raise SystemExit(main())
