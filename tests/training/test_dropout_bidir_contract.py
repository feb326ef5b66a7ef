"""The determinism contract with dropout and bidirectional layers (#24): same data + config + seed
=> bitwise the same weights, inline, on Spark and after a resume -- with all three dropouts on
(masks seeded by run seed, epoch, round, worker, step) and with bidirectional layers; the seeds
are the ones the worker says; and each bad value is one line, exit 2, nothing created."""

import json

import numpy as np
import pytest
from trainer_config import small_config, train_then_replay

from rnn_spark import ingest
from rnn_spark.cli import main
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.loop import train
from rnn_spark.training.plan import dropout_seed
from rnn_spark.training.worker import task_dropout

DROP = {"model.dropout": 0.3, "model.embedding_dropout": 0.1, "model.recurrent_dropout": 0.25,
        "model.hidden_sizes": [16, 12]}
LONGEST = 14


@pytest.fixture(scope="module")
def labelled_dataset(tmp_path_factory) -> str:
    """Classification where the label depends on both ends of each sequence."""
    root = tmp_path_factory.mktemp("bidi")
    rng = np.random.default_rng(5)
    lines = []
    for _ in range(240):
        n = int(rng.integers(4, LONGEST + 1))
        seq = rng.integers(0, 8, n)
        lines.append(json.dumps({"sequence": seq.tolist(),
                                 "label": int(seq[0] % 2) * 2 + int(seq[-1] % 2)}))
    (root / "s.jsonl").write_text("\n".join(lines) + "\n")
    out = str(root / "data")
    ingest.ingest_labelled([str(root / "s.jsonl")], out, task="classify", rows_per_group=40,
                           val_fraction=0.2, quiet=True)
    return out


BIDI = {"model.bidirectional": True, "model.cell": "gru", "train.k1": LONGEST, **DROP}


def final_weights(run_dir) -> dict:
    return ckpt.read_model(str(run_dir / "model"))[0]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_dropout_same_seed_same_bits_and_dropout_matters(char_dataset, tmp_path):
    a = train(small_config(char_dataset, tmp_path / "a", **DROP), quiet=True)
    b = train(small_config(char_dataset, tmp_path / "b", **DROP), quiet=True)
    assert a["train_loss"] == b["train_loss"]
    assert same(final_weights(tmp_path / "a"), final_weights(tmp_path / "b"))
    plain = {"model.hidden_sizes": DROP["model.hidden_sizes"]}
    train(small_config(char_dataset, tmp_path / "c", **plain), quiet=True)
    assert not same(final_weights(tmp_path / "a"), final_weights(tmp_path / "c"))
    mj = ckpt.read_model(str(tmp_path / "a" / "model"))[1]["model"]
    assert (mj["dropout"], mj["embedding_dropout"], mj["recurrent_dropout"]) == (0.3, 0.1, 0.25)


def test_one_worker_replays_with_the_workers_seeds(char_dataset, tmp_path):
    """W=1, H=1, average == the engine trained alone on the same minibatches with dropout seeds
    (run seed, epoch, round, worker, step), bit for bit."""
    cfg = small_config(char_dataset, tmp_path / "run", **DROP, **{
        "train.workers": 1, "train.steps_per_round": 1, "train.max_rounds": 4,
        "train.averager": "average"})
    seeds = []

    def dropout(spec, task):
        seeds.append(task_dropout(spec, task)(7))
        return task_dropout(spec, task)

    replayed = train_then_replay(cfg, 4, dropout)
    assert same(final_weights(tmp_path / "run"), replayed)
    assert seeds == [dropout_seed(cfg.train.seed, 0, g, 0, 7) for g in range(4)]


@pytest.mark.parametrize("which", ["dropout", "bidirectional"])
def test_resume_continues_bit_for_bit(char_dataset, labelled_dataset, tmp_path, which):
    data, over = (char_dataset, DROP) if which == "dropout" else (labelled_dataset, BIDI)
    over = {**over, "train.max_rounds": 7, "train.checkpoint_every": 3, "train.averager": "bmuf"}
    train(small_config(data, tmp_path / "full", **over), quiet=True)
    train(small_config(data, tmp_path / "cut", **{**over, "train.max_rounds": 4}), quiet=True)
    train(small_config(data, tmp_path / "cut", **{**over, "train.resume": True}), quiet=True)
    assert same(final_weights(tmp_path / "full"), final_weights(tmp_path / "cut"))


@pytest.mark.spark
@pytest.mark.parametrize("which", ["dropout", "bidirectional"])
def test_spark_equals_inline(char_dataset, labelled_dataset, tmp_path, which):
    data, over = (char_dataset, DROP) if which == "dropout" else (labelled_dataset, BIDI)
    over = {**over, "train.validate_every": 2}
    inline = train(small_config(data, tmp_path / "inline", **over), quiet=True)
    spark = train(small_config(data, tmp_path / "spark", **over, **{
        "train.runner": "spark", "spark.master": "local[2]"}), quiet=True)
    assert spark["train_loss"] == inline["train_loss"]
    assert spark["val"]["loss"] == inline["val"]["loss"]
    assert same(final_weights(tmp_path / "inline"), final_weights(tmp_path / "spark"))


def test_bidirectional_trains_and_names_like_torch(labelled_dataset, tmp_path):
    train(small_config(labelled_dataset, tmp_path / "run", **BIDI), quiet=True)
    weights, mj = ckpt.read_model(str(tmp_path / "run" / "model"))
    assert mj["model"]["bidirectional"] is True
    assert {"rnn.weight_ih_l1_reverse", "rnn.bias_hh_l0_reverse"} <= set(weights)
    assert weights["head.weight"].shape == (4, 24)


BAD = [
    (["--dropout", "1"], "model.dropout (--dropout) must be a probability in [0, 1), got 1.0"),
    (["--dropout", "-0.1"], "model.dropout (--dropout) must be a probability in [0, 1)"),
    (["--embedding-dropout", "1.5"], "model.embedding_dropout (--embedding-dropout) must be"),
    (["--recurrent-dropout", "2"], "model.recurrent_dropout (--recurrent-dropout) must be"),
    (["--recurrent-dropout", "lots"], "recurrent_dropout"),
    (["--bidirectional", "--k1", str(LONGEST), "--k2", "5"],
     "model.bidirectional (--bidirectional) needs the whole sequence's backward pass: "
     "train.k2 (--k2) = 5 would cut it"),
    (["--bidirectional", "--k1", "9"],
     f"train.k1 (--k1) = 9 would cut the longest 'train' sequence of DATA ({LONGEST} steps); "
     f"set --k1 {LONGEST}"),
]


@pytest.mark.parametrize("flags,words", BAD)
def test_bad_values_one_line_exit_2_nothing_created(labelled_dataset, tmp_path, capsys, flags,
                                                    words):
    run = tmp_path / "run"
    code = main(["train", "--data", labelled_dataset, "--run-dir", str(run), "--runner",
                 "inline", "--quiet", *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words.replace("DATA", labelled_dataset) in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not run.exists()


def test_bidirectional_lm_and_embedding_dropout_on_features_refused(char_dataset, tmp_path,
                                                                    capsys):
    run = tmp_path / "run"
    code = main(["train", "--data", char_dataset, "--run-dir", str(run), "--runner", "inline",
                 "--bidirectional", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and not run.exists()
    assert "model.bidirectional (--bidirectional) cannot train a language model" in err
    feats = tmp_path / "feats"
    rng = np.random.default_rng(0)
    (tmp_path / "f.jsonl").write_text("".join(json.dumps(
        {"sequence": rng.normal(size=(5, 2)).tolist(), "label": 1.0}) + "\n" for _ in range(40)))
    ingest.ingest_labelled([str(tmp_path / "f.jsonl")], str(feats), task="regress", quiet=True)
    code = main(["train", "--data", str(feats), "--run-dir", str(run), "--runner", "inline",
                 "--embedding-dropout", "0.2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and not run.exists()
    assert "model.embedding_dropout (--embedding-dropout) drops token embeddings" in err
