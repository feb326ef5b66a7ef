"""Training on a mixed table dataset (`ingest table` with 2 categorical + 2 numeric columns: an
embedding per field + the numeric features): the determinism contract (inline == Spark == after a
resume, bit for bit, with embedding dropout per field), the embedding sizes (the rule, or
model.field_embedding_sizes), evaluate/predict on the dataset, and bad values (one line, exit 2,
nothing created)."""

import os
import sys

import numpy as np
import pytest
from trainer_config import final_weights as weights
from trainer_config import same_weights as same
from trainer_config import small_config

from rnn_spark.cli import main
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.loop import train

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ingest"))
from mixed_data import mixed_dataset  # noqa: E402

OVER = {"model.hidden_sizes": [12], "train.k1": 8, "train.batch_size": 4,
        "train.max_rounds": 6, "train.validate_every": 2, "model.embedding_dropout": 0.2,
        "model.dropout": 0.1, "train.averager": "bmuf"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> str:
    return mixed_dataset(str(tmp_path_factory.mktemp("mixed")))


def test_trains_with_an_embedding_per_field(mixed, tmp_path):
    out = train(small_config(mixed, tmp_path / "a", **OVER), quiet=True)
    again = train(small_config(mixed, tmp_path / "b", **OVER), quiet=True)
    assert np.isfinite(out["train_loss"]) and out["train_loss"] == again["train_loss"]
    w, mj = ckpt.read_model(str(tmp_path / "a" / "model"))
    assert same(w, weights(tmp_path / "b"))
    m = mj["model"]
    # event: 4 values + <unk> = 5 ids -> ceil(1.6 * 5^0.56) = 4; tier: 3 ids -> 3
    assert (m["field_sizes"], m["field_embedding_sizes"], m["numeric_size"]) == ([5, 3], [4, 3], 2)
    assert w["embeddings.0.weight"].shape == (5, 4) and w["embeddings.1.weight"].shape == (3, 3)
    assert w["rnn.weight_ih_l0"].shape == (4 * 12, 4 + 3 + 2)
    assert [f["column"] for f in mj["steps"]["categorical"]] == ["event", "tier"]


def test_resume_continues_bit_for_bit(mixed, tmp_path):
    over = {**OVER, "train.max_rounds": 7, "train.checkpoint_every": 3}
    train(small_config(mixed, tmp_path / "full", **over), quiet=True)
    train(small_config(mixed, tmp_path / "cut", **{**over, "train.max_rounds": 4}), quiet=True)
    train(small_config(mixed, tmp_path / "cut", **{**over, "train.resume": True}), quiet=True)
    assert same(weights(tmp_path / "full"), weights(tmp_path / "cut"))


@pytest.mark.spark
def test_spark_equals_inline(mixed, tmp_path):
    inline = train(small_config(mixed, tmp_path / "inline", **OVER), quiet=True)
    spark = train(small_config(mixed, tmp_path / "spark", **OVER, **{
        "train.runner": "spark", "spark.master": "local[2]"}), quiet=True)
    assert spark["train_loss"] == inline["train_loss"]
    assert spark["val"]["loss"] == inline["val"]["loss"]
    assert same(weights(tmp_path / "inline"), weights(tmp_path / "spark"))


def test_sizes_given_per_field_and_evaluate_predict(mixed, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--data", mixed, "--run-dir", str(run), "--runner", "inline", "--quiet",
                 "--hidden-sizes", "8", "--field-embedding-sizes", "6,2", "--max-rounds", "2",
                 "--batch-size", "4"])
    assert code == 0, capsys.readouterr().err
    w = weights(run)
    assert w["embeddings.0.weight"].shape == (5, 6) and w["embeddings.1.weight"].shape == (3, 2)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run), "--data", mixed, "--json"]) == 0
    assert '"accuracy"' in capsys.readouterr().out
    assert main(["predict", "--model", str(run), "--data", mixed, "--out",
                 str(tmp_path / "pred")]) == 0


def test_regression_and_next_event_train(tmp_path):
    """Every target kind reads mixed steps: a numeric column's next value (every step) and the
    next event (lm over the event field)."""
    for name, over in (("reg", dict(label=None, next="amount")),
                       ("lm", dict(label=None, next="event"))):
        data = mixed_dataset(str(tmp_path / name), n_users=24, **over)
        out = train(small_config(data, tmp_path / f"run-{name}", **{
            **OVER, "train.max_rounds": 2, "model.dropout": 0.0}), quiet=True)
        assert np.isfinite(out["train_loss"])


BAD = [
    (["--field-embedding-sizes", "4,4,4"],
     "model.field_embedding_sizes (--field-embedding-sizes) lists 3 sizes, DATA has 2 "
     "categorical fields (event, tier); give one per field"),
    (["--field-embedding-sizes", "4,0"], "model.field_embedding_sizes (--field-embedding-sizes)"),
]


@pytest.mark.parametrize("flags,words", BAD)
def test_bad_values_one_line_exit_2_nothing_created(mixed, tmp_path, capsys, flags, words):
    run = tmp_path / "run"
    code = main(["train", "--data", mixed, "--run-dir", str(run), "--runner", "inline",
                 "--quiet", "--batch-size", "4", *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words.replace("DATA", mixed) in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not run.exists()


def test_a_model_and_a_dataset_of_other_inputs_are_refused_in_one_line(mixed, tmp_path, capsys):
    """evaluate/predict of a mixed model on a features dataset (and the other way round), and
    predict_udf's scorer of a mixed model: one line, exit 2, nothing written."""
    import json as _json

    from rnn_spark import ingest
    from rnn_spark.errors import UserError
    from rnn_spark.serve.load import load_model
    from rnn_spark.serve.udf import BatchScorer
    run = tmp_path / "run"
    assert main(["train", "--data", mixed, "--run-dir", str(run), "--runner", "inline", "--quiet",
                 "--hidden-sizes", "4", "--max-rounds", "1", "--batch-size", "4"]) == 0
    feats = tmp_path / "feats"
    rng = np.random.default_rng(0)
    (tmp_path / "f.jsonl").write_text("".join(_json.dumps(
        {"sequence": rng.normal(size=(5, 2)).tolist(), "label": i % 2}) + "\n" for i in range(40)))
    ingest.ingest_labelled([str(tmp_path / "f.jsonl")], str(feats), task="classify", quiet=True)
    capsys.readouterr()
    for argv in (["evaluate", "--model", str(run), "--data", str(feats)],
                 ["predict", "--model", str(run), "--data", str(feats), "--out",
                  str(tmp_path / "pred")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "input kind is 'features', the model expects 'mixed'" in err
    assert not (tmp_path / "pred").exists()
    with pytest.raises(UserError, match="predict_udf's one sequence column does not carry"):
        BatchScorer(load_model(str(run)))
