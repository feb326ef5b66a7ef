"""spark-submit entry point for batch scoring: the same flags as `rnn-spark predict`.

    spark-submit --master yarn jobs/predict.py --model hdfs:///runs/cls --data hdfs:///data/cls --out hdfs:///pred/cls --runner spark

spark-submit's --master wins over --master.
"""

import sys

from rnn_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["predict", *sys.argv[1:]]))
