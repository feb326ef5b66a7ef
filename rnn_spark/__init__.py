"""rnn-spark: recurrent networks trained on HDFS sequence data with Apache Spark."""

__version__ = "0.1.0"
