"""spark-submit entry point for ingest: the same arguments as `rnn-spark ingest`.

    spark-submit --master yarn jobs/ingest.py text 'hdfs:///raw/*.txt' --out hdfs:///data/txt \
        --seq-len 256 --engine spark

Under spark-submit the active SparkSession is used (its master wins over --master).
"""

import sys

from rnn_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
