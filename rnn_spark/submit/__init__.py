"""Launch rnn-spark's Spark-side commands on YARN with a packed Python environment.

pack.py     builds env.tar.gz (a fresh venv: this rnn-spark as a wheel + its runtime deps pinned
            to the versions installed here, packed with venv-pack), cached by content hash
stage.py    uploads it once to an HDFS staging directory (and pyspark's jars as spark.yarn.archive)
command.py  the command table (name -> jobs/ entry point) and the spark-submit argv + environment
run.py      runs spark-submit: application id, tracking URL, final status, failure hints
flow.py     `rnn-spark submit` end to end: check the options, pack, stage, build, run
"""
