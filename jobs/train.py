"""spark-submit entry point for training: the same flags as `rnn-spark train`.

    spark-submit --master yarn --deploy-mode cluster jobs/train.py --config conf/my-run.toml

spark-submit's --master wins over spark.master from the configuration.
"""

import sys

try:
    from rnn_spark.cli import main
except ModuleNotFoundError as exc:  # a node's bare Python: nothing was shipped
    print(f"error: {sys.executable} cannot import {exc.name}: this node has no rnn-spark "
             "environment; launch with `rnn-spark submit train ...`, which ships one (or see "
             "README: Running on YARN for spark-submit --archives)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
