"""rnn-spark in ``pyspark.ml``: Estimators and Models that fit in a ``Pipeline``.

    from rnn_spark.ml import RNNClassifier
    clf = RNNClassifier(featuresCol="events", labelCol="label", hiddenSizes=[64], epochs=5)
    model = clf.fit(train_df)               # a table dataset + a training run, on df's session
    model.transform(test_df)                # prediction, probability, rawPrediction columns
    model.write().save("hdfs:///models/churn")
    RNNClassificationModel.load("hdfs:///models/churn")

Needs pandas on the driver and executors for ``transform`` (the ``udf`` extra:
``pip install 'rnn-spark[udf]'``), like :func:`rnn_spark.spark.predict_udf`.

Modules: params (every configuration key as a Param, generated), fit (one fit: ingest, train),
estimators (RNNClassifier, RNNRegressor), models (transform, save, load).
"""

from rnn_spark.ml.estimators import RNNClassifier, RNNRegressor
from rnn_spark.ml.models import RNNClassificationModel, RNNRegressionModel

__all__ = ["RNNClassifier", "RNNRegressor", "RNNClassificationModel", "RNNRegressionModel"]
