"""spark-submit entry point for training: the same flags as `rnn-spark train`.

    spark-submit --master yarn --deploy-mode cluster jobs/train.py --config conf/my-run.toml

spark-submit's --master wins over spark.master from the configuration.
"""

import sys

from rnn_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
