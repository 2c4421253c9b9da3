"""`python -m mlscore` runs the CLI."""

from mlscore.cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn imports this module in a child (the sidecar's analysis)
    raise SystemExit(main())
