"""The mlscore command line as a Spark application: spark-submit needs a .py file, so

    spark-submit --master yarn --driver-memory 1g "$(python -m mlscore.data.spark.submit)" \\
        data check --engine spark --reference s3a://lake/train/ --current s3a://lake/serving/2026-12-06/

(run as a module it prints its own path; run by spark-submit it is ``mlscore ARGS``; the session that
spark-submit configured is used as it is).
"""

from __future__ import annotations

import sys


def main() -> int:
    from mlscore.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    if len(sys.argv) == 1:  # python -m mlscore.data.spark.submit: where this file is, for spark-submit
        print(__file__)
        sys.exit(0)
    sys.exit(main())
