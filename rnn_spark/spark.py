"""Spark-native scoring for your own jobs.

    from rnn_spark.spark import predict_udf
    score = predict_udf("hdfs:///runs/cls")            # any model URI (run dir, model/, best/, checkpoint)
    df = df.withColumn("pred", score("sequence"))     # array<int> tokens or array<array<float>> features
    df.select("id", "pred.pred", "pred.probs")

Built on ``pyspark.ml.functions.predict_batch_udf``: each Python worker loads the model once
(pyspark's model cache) and scores Arrow batches of ``batch_size`` rows with the NumPy engine.
Variable-length sequences are fine (the sequence's length goes along as a second column).
The struct returned per row is :func:`rnn_spark.serve.udf.return_fields` of the model's task.
"""

from __future__ import annotations

def _spark_type(t: str):
    from pyspark.sql import types as T
    if t.startswith("array<"):
        inner = t[6:-1]
        return T.ArrayType(T.IntegerType() if inner == "int" else T.FloatType())
    return T.IntegerType() if t == "int" else T.DoubleType()


def predict_udf(model_uri: str, *, batch_size: int = 256, top_k: int = 5):
    """-> ``score(column)``: a Column of structs (see the module doc). The model is read here once
    (to know its task, and to fail early on a bad URI) and again once per Python worker."""
    import pyspark.sql.functions as F
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import types as T

    from rnn_spark.serve import load_model
    from rnn_spark.serve.udf import check_scorable, return_fields

    tm = load_model(model_uri)
    check_scorable(tm)
    task = tm.task
    fields = return_fields(task)
    rtype = T.StructType([T.StructField(name, _spark_type(t)) for name, t in fields])

    def make_predict_fn():
        from rnn_spark.serve import load_model as _load
        from rnn_spark.serve.udf import BatchScorer
        scorer = BatchScorer(_load(model_uri), top_k=top_k)

        def predict(seqs, lengths):  # two inputs: ragged arrays stay object arrays
            return scorer(list(seqs))
        return predict

    inner = predict_batch_udf(make_predict_fn, return_type=rtype, batch_size=batch_size,
                              input_tensor_shapes=[None, None])

    def score(col):
        c = F.col(col) if isinstance(col, str) else col
        return inner(c, F.size(c))
    return score
