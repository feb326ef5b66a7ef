"""RNNClassifier / RNNRegressor on local Spark: fit, transform, save/load, the CLI's bits,
pipelines and model selection (each fit bit-identical to the same fit alone)."""

import os
import sys

import numpy as np
import pytest

from rnn_spark.cli import main
from rnn_spark.errors import UserError
from rnn_spark.ml import RNNClassificationModel, RNNClassifier, RNNRegressionModel, RNNRegressor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ingest"))
from table_data import sequences  # noqa: E402

pytestmark = pytest.mark.spark

SMALL = dict(hiddenSizes=[8], embeddingSize=8, epochs=1, batchSize=8, stepsPerRound=2,
             workers=2, validateEvery=0, checkpointEvery=0)


def _weights(uri):
    with np.load(os.path.join(uri, "weights.npz"), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def tokens_df(spark):
    return spark.createDataFrame(sequences(120, kind="tokens").to_pandas())


def test_fit_transform_save_load(spark, tokens_df, tmp_path):
    clf = RNNClassifier(runDir=str(tmp_path / "runs"), **SMALL)
    model = clf.fit(tokens_df)
    assert model.modelUri.startswith(str(tmp_path / "runs" / "fit-"))
    out = model.transform(tokens_df)
    assert out.columns == ["features", "label", "rawPrediction", "probability", "prediction"]
    rows = out.collect()
    p = np.array([r.probability.toArray() for r in rows])
    assert p.shape == (120, 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert all(r.prediction == float(np.argmax(r.probability.toArray())) for r in rows)
    saved = "file://" + str(tmp_path / "saved")  # local whatever HADOOP_CONF_DIR says
    model.write().save(saved)
    back = RNNClassificationModel.load(saved)
    # (where Spark puts a path without a scheme: HDFS when HADOOP_CONF_DIR names one, as in CI)
    from rnn_spark.ml.models import resolve
    assert back.getHiddenSizes() == [8] and back.modelUri == resolve(saved, spark)
    again = [r.prediction for r in back.transform(tokens_df).collect()]
    assert again == [r.prediction for r in rows]
    assert _same(_weights(str(tmp_path / "saved")), _weights(model.modelUri))
    # the saved directory is an rnn-spark model: the CLI reads it
    data = os.path.join(os.path.dirname(model.runUri), "data")
    assert main(["evaluate", "--model", saved, "--data", data, "--runner", "inline"]) == 0
    assert main(["inspect", saved]) == 0
    with pytest.raises(UserError, match="output already exists"):
        model.write().save(saved)
    model.write().overwrite().save(saved)  # replaces a model rnn-spark made
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="holds files that are not a model"):
        model.write().overwrite().save("file://" + str(mine))
    assert (mine / "keep.txt").exists()
    with pytest.raises(UserError, match="not a saved RNNClassificationModel"):
        RNNClassificationModel.load(str(mine))


def test_same_rows_through_the_cli_give_the_same_weights(spark, tokens_df, tmp_path, capsys):
    """fit(df) = `ingest table --sequence features --label label` + `train`, bit for bit."""
    model = RNNClassifier(runDir=str(tmp_path / "runs"), seed=3, valFraction=0.2,
                          **SMALL).fit(tokens_df)
    src = str(tmp_path / "rows.parquet")
    tokens_df.toPandas().to_parquet(src)
    assert main(["ingest", "table", "--path", src, "--sequence", "features", "--label", "label",
                 "--seed", "3", "--val-fraction", "0.2", "--out", str(tmp_path / "data"),
                 "-q"]) == 0
    assert main(["train", "--data", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run"),
                 "--hidden-sizes", "8", "--embedding-size", "8", "--epochs", "1",
                 "--batch-size", "8", "--steps-per-round", "2", "--workers", "2",
                 "--validate-every", "0", "--checkpoint-every", "0", "--seed", "3", "-q"]) == 0
    capsys.readouterr()
    assert _same(_weights(model.modelUri), _weights(str(tmp_path / "run" / "model")))
    fit_data = os.path.join(os.path.dirname(model.runUri), "data")
    for split in ("train", "val"):
        a = sorted(os.listdir(os.path.join(fit_data, split, "000")))
        for name in a:
            assert open(os.path.join(fit_data, split, "000", name), "rb").read() == \
                open(tmp_path / "data" / split / "000" / name, "rb").read()


def test_regressor_predicts_in_the_labels_units(spark, tmp_path):
    t = sequences(100, kind="vectors")
    import pyarrow as pa
    lab = [1000.0 + 10 * sum(s[0] for s in seq) for seq in t["features"].to_pylist()]
    t = t.set_column(1, "label", pa.array(lab))
    df = spark.createDataFrame(t.to_pandas())
    model = RNNRegressor(runDir=str(tmp_path / "runs"), **SMALL).fit(df)
    assert isinstance(model, RNNRegressionModel)
    pred = np.array([r.prediction for r in model.transform(df).collect()])
    assert abs(pred.mean() - np.mean(lab)) < 3 * np.std(lab)  # original units, not z-scores
    from pyspark.ml.evaluation import RegressionEvaluator
    assert RegressionEvaluator().evaluate(model.transform(df)) > 0


def test_pipeline_with_string_labels_saves_and_loads(spark, tmp_path):
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import StringIndexer
    pdf = sequences(100, kind="scalars").to_pandas()
    pdf["churned"] = np.where(pdf["label"] > 0, "yes", "no")
    df = spark.createDataFrame(pdf.drop(columns=["label"]))
    pipe = Pipeline(stages=[StringIndexer(inputCol="churned", outputCol="label"),
                            RNNClassifier(runDir=str(tmp_path / "runs"), **SMALL)])
    model = pipe.fit(df)
    first = [r.prediction for r in model.transform(df).collect()]
    model.write().save(str(tmp_path / "pipe"))
    back = PipelineModel.load(str(tmp_path / "pipe"))
    assert [r.prediction for r in back.transform(df).collect()] == first
    assert isinstance(back.stages[-1], RNNClassificationModel)


def test_model_selection_fits_are_the_fits_alone(spark, tokens_df, tmp_path):
    """TrainValidationSplit over a grid with parallelism 2: each fit = the same fit alone."""
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
    clf = RNNClassifier(runDir=str(tmp_path / "runs"), **SMALL)
    grid = ParamGridBuilder().addGrid(clf.getParam("lr"), [0.002, 0.01]).build()
    tvs = TrainValidationSplit(estimator=clf, estimatorParamMaps=grid, parallelism=2,
                               evaluator=MulticlassClassificationEvaluator(), trainRatio=0.75,
                               seed=7, collectSubModels=True)
    fitted = tvs.fit(tokens_df)
    assert len(fitted.validationMetrics) == 2
    train = _tvs_train(tokens_df, 0.75, 7)
    for params, sub in zip(grid, fitted.subModels):
        alone = clf.copy(params).fit(train)
        assert _same(_weights(sub.modelUri), _weights(alone.modelUri))


def _tvs_train(df, ratio, seed):
    """TrainValidationSplit's training rows (pyspark/ml/tuning.py: a rand(seed) column)."""
    from pyspark.sql.functions import rand
    col = "__tvs_rand"
    return df.select("*", rand(seed).alias(col)).filter(f"{col} < {ratio}").drop(col)


def test_clear_errors(spark, tokens_df, tmp_path):
    clf = RNNClassifier(runDir=str(tmp_path / "runs"), **SMALL)
    with pytest.raises(UserError, match=r"RNNClassifier.fit: the DataFrame has no column "
                                        r"'lable' \(labelCol\)"):
        clf.setLabelCol("lable").fit(tokens_df)
    clf.setLabelCol("label")
    from pyspark.sql import functions as F
    with pytest.raises(UserError, match="holds one class"):
        clf.fit(tokens_df.withColumn("label", F.lit(1.0)))
    model = clf.fit(tokens_df)
    with pytest.raises(UserError, match=r"RNNClassificationModel.transform: the DataFrame has no "
                                        r"column 'features' \(featuresCol\)"):
        model.transform(tokens_df.withColumnRenamed("features", "f"))
