"""The Estimators' params: every configuration key, named the MLlib way, its defaults and checks."""

import pytest

from rnn_spark.config import Config
from rnn_spark.errors import ConfigError
from rnn_spark.ml import RNNClassifier, RNNRegressor
from rnn_spark.ml.params import camel, config_keys


def test_every_config_key_is_a_param_with_its_default():
    clf = RNNClassifier()
    d = Config().to_dict()
    keys = config_keys()
    assert len(keys) == sum(len(v) for v in d.values())
    for dotted, name, _ in keys:
        section, key = dotted.split(".")
        assert clf.hasParam(name), dotted
        assert clf.getOrDefault(name) == d[section][key], dotted
    assert clf.config().to_dict() == d


def test_names_are_the_mllib_ones():
    assert [camel(k) for k in ("hidden_sizes", "epochs", "run_dir", "workers", "k1")] == \
        ["hiddenSizes", "epochs", "runDir", "workers", "k1"]
    clf = RNNClassifier()
    for name in ("hiddenSizes", "epochs", "runDir", "workers", "seed", "featuresCol",
                 "labelCol", "predictionCol", "probabilityCol", "rawPredictionCol"):
        assert clf.hasParam(name)
    assert not RNNRegressor().hasParam("probabilityCol")
    assert clf.getSeed() == 0 and clf.getHiddenSizes() == [128]
    assert "[model.hidden_sizes]" in clf.explainParam("hiddenSizes")


def test_values_are_checked_as_the_configuration_checks_them():
    clf = RNNClassifier(hiddenSizes="64,32", lr=0.01, cell="gru")
    assert clf.getHiddenSizes() == [64, 32] and clf.getOrDefault("cell") == "gru"
    with pytest.raises(ConfigError, match=r"param cell: model.cell \(--cell\): 'elm' is not one "
                                          r"of rnn_tanh"):
        clf.setCell("elm")
    with pytest.raises(ConfigError, match="param epochs: train.epochs"):
        RNNClassifier(epochs="many")
    with pytest.raises(ConfigError, match=r"train.k2 \(--k2\) must be between 0 and k1=10"):
        RNNClassifier(k1=10, k2=20).config()
    with pytest.raises(TypeError, match="no param 'hiddenSize'; did you mean 'hiddenSizes'"):
        RNNClassifier(hiddenSize=[3])


def test_copy_keeps_params_and_grid_maps_apply():
    clf = RNNClassifier(epochs=3)
    other = clf.copy({clf.getParam("lr"): 0.05})
    assert other.getOrDefault("lr") == 0.05 and clf.getOrDefault("lr") == 0.002
    assert other.getOrDefault("epochs") == 3
