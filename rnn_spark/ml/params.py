"""The Estimators' ``Params``: every configuration key, generated from rnn_spark.config's typed
sections, named in camelCase (``model.hidden_sizes`` -> ``hiddenSizes``, ``train.run_dir`` ->
``runDir``), with the configuration's defaults, types and allowed values (a value is checked when
it is set, by the configuration's own coercion: the same one line as ``--set``); plus the data
params MLlib names (``featuresCol``, ``labelCol``, ...) and the table ingest's options a fit
uses (``valFraction``, ``maxLen``, ...).
"""

from __future__ import annotations

from dataclasses import fields

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import (HasFeaturesCol, HasLabelCol, HasPredictionCol,
                                     HasProbabilityCol, HasRawPredictionCol, HasSeed)

from rnn_spark.config import SECTIONS, Config

SHARED = {"train.seed": "seed"}  # keys whose param comes from pyspark's shared mixins


def camel(key: str) -> str:
    """``hidden_sizes`` -> ``hiddenSizes``."""
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def config_keys() -> list[tuple[str, str, object]]:
    """(dotted key, param name, field) of every configuration key, in conf/defaults.toml order."""
    return [(f"{s}.{f.name}", SHARED.get(f"{s}.{f.name}", camel(f.name)), f)
            for s, cls in SECTIONS.items() for f in fields(cls)]


def _converter(dotted: str, name: str):
    def convert(value):
        cfg = Config()
        cfg.set(dotted, value, source=f"param {name}")
        section, key = dotted.split(".")
        return getattr(getattr(cfg, section), key)
    return convert


def _getter(name):
    return lambda self: self.getOrDefault(name)


def _setter(name):
    def setter(self, value):
        return self._set(**{name: value})
    return setter


def _make_config_params() -> type:
    attrs = {"__doc__": "Every rnn-spark configuration key as a Param (generated)."}
    for dotted, name, f in config_keys():
        if name in SHARED.values():
            continue
        doc = f"[{dotted}] {f.metadata['help']}"
        attrs[name] = Param(Params._dummy(), name, doc, typeConverter=_converter(dotted, name))
        cap = name[:1].upper() + name[1:]
        attrs[f"get{cap}"] = _getter(name)
        attrs[f"set{cap}"] = _setter(name)
    return type("ConfigParams", (Params,), attrs)


ConfigParams = _make_config_params()


def config_defaults() -> dict:
    """param name -> the configuration's default value."""
    d = Config().to_dict()
    return {name: d[dotted.split(".")[0]][dotted.split(".")[1]]
            for dotted, name, _ in config_keys()}


class DataParams(HasFeaturesCol, HasLabelCol, HasPredictionCol, HasSeed):
    """The columns, and what the fit's table ingest is told (``rnn-spark ingest table``)."""

    valFraction = Param(Params._dummy(), "valFraction", "fraction of the rows held out for "
                        "validation (ingest --val-fraction)", TypeConverters.toFloat)
    maxLen = Param(Params._dummy(), "maxLen", "cut longer sequences into windows of at most "
                   "this many steps (0 = keep them whole; ingest --max-len)", TypeConverters.toInt)
    normalize = Param(Params._dummy(), "normalize", "standardise features (and regression "
                      "targets) with the training split's mean/std (ingest --normalize)",
                      TypeConverters.toBoolean)
    stagingDir = Param(Params._dummy(), "stagingDir", "where each fit's dataset and run go "
                       "(fit-<id>/data, fit-<id>/run; \"\" = under runDir). On a cluster: an "
                       "hdfs:// URI", TypeConverters.toString)
    verbose = Param(Params._dummy(), "verbose", "print ingest and training progress",
                    TypeConverters.toBoolean)
    scoreBatchSize = Param(Params._dummy(), "scoreBatchSize", "rows per Arrow batch scored by "
                           "transform()", TypeConverters.toInt)

    def setFeaturesCol(self, value: str):
        return self._set(featuresCol=value)

    def setLabelCol(self, value: str):
        return self._set(labelCol=value)

    def setPredictionCol(self, value: str):
        return self._set(predictionCol=value)

    def setSeed(self, value: int):
        return self._set(seed=value)

    def setValFraction(self, value: float):
        return self._set(valFraction=value)

    def setMaxLen(self, value: int):
        return self._set(maxLen=value)

    def setStagingDir(self, value: str):
        return self._set(stagingDir=value)

    def _set_data_defaults(self) -> None:
        self._setDefault(valFraction=0.1, maxLen=0, normalize=True, stagingDir="",
                         verbose=False, scoreBatchSize=256, seed=0)


class ProbabilityParams(HasProbabilityCol, HasRawPredictionCol):
    """A classifier's extra output columns (MLlib's names)."""

    def setProbabilityCol(self, value: str):
        return self._set(probabilityCol=value)

    def setRawPredictionCol(self, value: str):
        return self._set(rawPredictionCol=value)
