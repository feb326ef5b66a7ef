"""spark-submit entry point for ingest: the same arguments as `rnn-spark ingest`.

    spark-submit --master yarn jobs/ingest.py text 'hdfs:///raw/*.txt' --out hdfs:///data/txt \
        --seq-len 256 --engine spark

Under spark-submit the active SparkSession is used (its master wins over --master).
"""

import sys

try:
    from rnn_spark.cli import main
except ModuleNotFoundError as exc:  # a node's bare Python: nothing was shipped
    print(f"error: {sys.executable} cannot import {exc.name}: this node has no rnn-spark "
             "environment; launch with `rnn-spark submit ingest ...`, which ships one (or see "
             "docs/guides/yarn.md for spark-submit --archives)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
