"""The fitted models: ``transform`` on the executors, ``write().save()`` / ``load()``.

A model is a trained rnn-spark model directory (``weights.npz`` + ``model.json``) and the params
of the Estimator that fitted it. ``transform`` scores through
:func:`rnn_spark.spark.predict_udf` (``predict_batch_udf``: each Python worker loads the model
once, Arrow batches of ``scoreBatchSize`` rows), in original units. ``save(uri)`` writes the
model directory with the params beside it in Spark ML's ``metadata/`` (local disk or HDFS), into
a staging directory renamed into place; the result is a normal rnn-spark model directory too
(``rnn-spark evaluate/predict/export --model URI``).
"""

from __future__ import annotations

from pyspark.ml.base import Model
from pyspark.ml.util import (DefaultParamsReader, DefaultParamsWriter, MLReadable, MLReader,
                             MLWritable, MLWriter)

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.ml.fit import check_columns
from rnn_spark.ml.params import ConfigParams, DataParams, ProbabilityParams, config_defaults

MODEL_FILES = ("model.json", "weights.npz")


def resolve(path: str, spark) -> str:
    """``path`` where Spark would put it: qualified against Hadoop's default file system and
    working directory (with HADOOP_CONF_DIR set, ``models/x`` is ``hdfs://NN/user/NAME/models/x``
    for Spark, and a Pipeline writes its metadata there), so the model files and Spark's
    metadata/ land in one directory. Local paths come back as absolute paths."""
    jvm = getattr(spark.sparkContext, "_jvm", None)
    if jvm is None:  # (Spark Connect: no JVM here; the path goes as given)
        return path
    p = jvm.org.apache.hadoop.fs.Path(path)
    uri = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).makeQualified(p).toString()
    return uri[len("file:"):] if uri.startswith("file:/") and not uri.startswith("file://") else uri


def _for_spark(path: str) -> str:
    """A local path as a file:// URI, which Spark reads as local whatever the default FS."""
    return path if "://" in path else "file://" + path


class RNNModelWriter(MLWriter):
    """Writes the model directory and Spark ML's metadata; replaces (``overwrite()``) only a
    model rnn-spark made, never other files (rnn_spark/fs/guard.py)."""

    def __init__(self, instance: "_RNNModel"):
        super().__init__()
        self.instance = instance

    def save(self, path: str) -> None:
        from rnn_spark.fs.guard import check_output
        from rnn_spark.fs.kinds import MODEL
        path = resolve(path, self.sparkSession)
        replace = check_output(path, [], overwrite=self.shouldOverwrite, kind=MODEL,
                               what_flag="the save path")
        with fs.staging_dir(path, overwrite=replace) as tmp:
            self.saveImpl(tmp)

    def saveImpl(self, path: str) -> None:
        for name in MODEL_FILES:
            fs.write_bytes(fs.join(path, name), fs.read_bytes(fs.join(self.instance.modelUri,
                                                                      name)))
        DefaultParamsWriter.saveMetadata(self.instance, _for_spark(path), self.sparkSession)


class RNNModelReader(MLReader):
    def __init__(self, cls):
        super().__init__()
        self.cls = cls

    def load(self, path: str):
        from rnn_spark.serve.load import load_model
        path = resolve(path, self.sparkSession)
        if not fs.exists(fs.join(path, "metadata")):
            raise UserError(f"{path}: not a saved {self.cls.__name__} (no metadata/ beside the "
                            "model); save one with model.write().save(URI)")
        metadata = DefaultParamsReader.loadMetadata(_for_spark(path), self.sparkSession)
        if metadata["class"].rsplit(".", 1)[-1] != self.cls.__name__:
            raise UserError(f"{path}: holds a {metadata['class'].rsplit('.', 1)[-1]}, not a "
                            f"{self.cls.__name__}; load it with that class")
        instance = self.cls()
        instance._resetUid(metadata["uid"])
        DefaultParamsReader.getAndSetParams(instance, metadata)
        instance._attach(path, load_model(path).task)
        return instance


class _RNNModel(Model, ConfigParams, DataParams, MLReadable, MLWritable):
    _task = "?"

    def __init__(self):
        super().__init__()
        self._setDefault(**config_defaults())
        self._set_data_defaults()
        self.modelUri: str | None = None

    def _attach(self, uri: str, task: str) -> "_RNNModel":
        if task != self._task:
            raise UserError(f"{uri}: a {task} model, not what {type(self).__name__} scores "
                            f"({self._task})")
        self.modelUri = uri
        return self

    @classmethod
    def read(cls):
        return RNNModelReader(cls)

    def write(self) -> MLWriter:
        return RNNModelWriter(self)

    def copy(self, extra=None):
        that = super().copy(extra)
        that.modelUri = self.modelUri
        return that

    def _score(self, df):
        """``df`` with a struct column ``__rnn_spark_score`` (the predict_udf's fields)."""
        from rnn_spark.spark import predict_udf
        if self.modelUri is None:
            raise UserError(f"{type(self).__name__}: no model; fit an estimator or load one")
        col = self.getFeaturesCol()
        check_columns(df, {"featuresCol": col}, f"{type(self).__name__}.transform")
        score = predict_udf(self.modelUri, batch_size=self.getOrDefault("scoreBatchSize"),
                            top_k=1)
        return df.withColumn("__rnn_spark_score", score(col))

    @staticmethod
    def _done(df):
        return df.drop("__rnn_spark_score")


class RNNClassificationModel(_RNNModel, ProbabilityParams):
    """A fitted :class:`~rnn_spark.ml.RNNClassifier`: adds ``predictionCol`` (the class id as a
    double, as MLlib's classifiers do), ``probabilityCol`` (a vector of class probabilities) and
    ``rawPredictionCol`` (a vector of log-probabilities); a column param set to "" is left out."""

    _task = "classify"

    def _transform(self, df):
        from pyspark.ml.functions import array_to_vector
        from pyspark.sql import functions as F
        out = self._score(df)
        probs = F.col("__rnn_spark_score.probs")
        if self.getRawPredictionCol():
            out = out.withColumn(self.getRawPredictionCol(), array_to_vector(
                F.transform(probs, lambda p: F.log(p.cast("double")))))
        if self.getProbabilityCol():
            out = out.withColumn(self.getProbabilityCol(),
                                 array_to_vector(F.transform(probs, lambda p: p.cast("double"))))
        if self.getPredictionCol():
            out = out.withColumn(self.getPredictionCol(),
                                 F.col("__rnn_spark_score.pred").cast("double"))
        return self._done(out)


class RNNRegressionModel(_RNNModel):
    """A fitted :class:`~rnn_spark.ml.RNNRegressor`: adds ``predictionCol`` (a double, in the
    label's own units)."""

    _task = "regress"

    def _transform(self, df):
        from pyspark.sql import functions as F
        out = self._score(df)
        if self.getPredictionCol():
            out = out.withColumn(self.getPredictionCol(),
                                 F.element_at("__rnn_spark_score.pred", 1).cast("double"))
        return self._done(out)
