"""spark-submit entry point for evaluation: the same flags as `rnn-spark evaluate`.

    spark-submit --master yarn jobs/evaluate.py --model hdfs:///runs/lm --data hdfs:///data/lm --runner spark --json

spark-submit's --master wins over --master.
"""

import sys

from rnn_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
