"""spark-submit entry point for training: the same flags as `rnn-spark train`.

    spark-submit --master yarn --deploy-mode cluster jobs/train.py --config conf/my-run.toml

spark-submit's --master wins over spark.master from the configuration. When YARN re-runs the
application (attempt 2 and later, spark.yarn.maxAppAttempts > 1: the driver's container died),
the new driver continues the run from its newest checkpoint (--resume auto, no --overwrite).
"""

import sys

try:
    from rnn_spark.cli import main
    from rnn_spark.training.resume import app_attempt, reattempt_args
except ModuleNotFoundError as exc:  # a node's bare Python: nothing was shipped
    print(f"error: {sys.executable} cannot import {exc.name}: this node has no rnn-spark "
          "environment; launch with `rnn-spark submit train ...`, which ships one (or see "
          "docs/guides/yarn.md for spark-submit --archives)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    args = sys.argv[1:]
    attempt = app_attempt()
    if attempt > 1:
        print(f"rnn-spark: YARN application attempt {attempt}: continuing the run from its "
              f"checkpoints (--resume auto)", file=sys.stderr, flush=True)
        args = reattempt_args(args)
    sys.exit(main(["train", *args]))
