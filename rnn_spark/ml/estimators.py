"""The Estimators: :class:`RNNClassifier` and :class:`RNNRegressor`.

``fit(df)`` writes ``df``'s (featuresCol, labelCol) rows as a table dataset on the DataFrame's
own SparkSession, trains the configuration the params make with rnn-spark's trainer (the Spark
runner on that session's SparkContext: the resident tasks and jobs the CLI uses; ``runner =
inline`` trains in the driver) and returns the fitted model. ``featuresCol``: one sequence per
row, any length -- an ``array<int>`` of token ids, an ``array<double>`` (one value per step) or
an ``array<array<double>>`` (a vector per step).
"""

from __future__ import annotations

import difflib

from pyspark.ml.base import Estimator
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

from rnn_spark.config import Config
from rnn_spark.ml.fit import check_columns, run_fit
from rnn_spark.ml.models import RNNClassificationModel, RNNRegressionModel
from rnn_spark.ml.params import (ConfigParams, DataParams, ProbabilityParams, config_defaults,
                                  config_keys)


class _RNNEstimator(Estimator, ConfigParams, DataParams, DefaultParamsReadable,
                    DefaultParamsWritable):
    _task = "?"
    _model_class = None

    def __init__(self, **params):
        super().__init__()
        self._setDefault(**config_defaults())
        self._set_data_defaults()
        self.setParams(**params)

    def setParams(self, **params):
        """Set params by name (``hiddenSizes=[64]``, ``epochs=3``, ``featuresCol="seq"``)."""
        names = {p.name for p in self.params}
        for name in params:
            if name not in names:
                close = difflib.get_close_matches(name, sorted(names), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"{type(self).__name__}: no param {name!r}{hint}")
        return self._set(**params)

    def config(self) -> Config:
        """The rnn-spark configuration these params make (checked as `rnn-spark train` checks
        it: the same one-line ConfigError)."""
        cfg = Config()
        for dotted, name, _ in config_keys():
            cfg.set(dotted, self.getOrDefault(name), source=f"param {name}")
        return cfg.validate()

    def _ingest_options(self) -> dict:
        return {"val_fraction": self.getOrDefault("valFraction"),
                "max_len": self.getOrDefault("maxLen") or None,
                "normalize": self.getOrDefault("normalize")}

    def _fit(self, dataset):
        who = f"{type(self).__name__}.fit"
        check_columns(dataset, {"featuresCol": self.getFeaturesCol(),
                                "labelCol": self.getLabelCol()}, who)
        res = run_fit(self.config(), dataset, features=self.getFeaturesCol(),
                      label=self.getLabelCol(), task=self._task,
                      staging=self.getOrDefault("stagingDir"),
                      ingest=self._ingest_options(), verbose=self.getOrDefault("verbose"))
        model = self._model_class()
        self._copyValues(model)
        model._attach(res.model, self._task)
        model.runUri, model.summary = res.run, res.summary  # the fit's run, what train printed
        return model


class RNNClassifier(_RNNEstimator, ProbabilityParams):
    """Sequence classification: ``labelCol`` holds class ids 0, 1, ... (doubles, as
    ``StringIndexer`` makes them). Every configuration key is a param (``hiddenSizes``,
    ``epochs``, ``lr``, ``workers``, ...; ``rnn_spark.ml.params``)."""

    _task = "classify"
    _model_class = RNNClassificationModel


class RNNRegressor(_RNNEstimator):
    """Sequence regression: ``labelCol`` holds a number per sequence; predictions come back in
    its units (the fit's dataset normalises it; ``normalize=False`` does not)."""

    _task = "regress"
    _model_class = RNNRegressionModel


__all__ = ["RNNClassifier", "RNNRegressor"]
