"""spark-submit entry point for batch scoring: the same flags as `rnn-spark predict`.

    spark-submit --master yarn jobs/predict.py --model hdfs:///runs/cls --data hdfs:///data/cls --out hdfs:///pred/cls --runner spark

spark-submit's --master wins over --master.
"""

import sys

try:
    from rnn_spark.cli import main
except ModuleNotFoundError as exc:  # a node's bare Python: nothing was shipped
    print(f"error: {sys.executable} cannot import {exc.name}: this node has no rnn-spark "
          "environment; launch with `rnn-spark submit predict ...`, which ships one (or see "
          "docs/guides/yarn.md for spark-submit --archives)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main(["predict", *sys.argv[1:]]))
