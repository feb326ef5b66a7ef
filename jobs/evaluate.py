"""spark-submit entry point for evaluation: the same flags as `rnn-spark evaluate`.

    spark-submit --master yarn jobs/evaluate.py --model hdfs:///runs/lm --data hdfs:///data/lm --runner spark --json

spark-submit's --master wins over --master.
"""

import sys

try:
    from rnn_spark.cli import main
except ModuleNotFoundError as exc:  # a node's bare Python: nothing was shipped
    print(f"error: {sys.executable} cannot import {exc.name}: this node has no rnn-spark "
          "environment; launch with `rnn-spark submit evaluate ...`, which ships one (or see "
          "docs/guides/yarn.md for spark-submit --archives)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
