"""The loss keys in a training run: class weights (auto from the manifest's label counts), label
smoothing, mae/huber; the determinism contract with them on (inline == Spark == resume, bit for
bit); the validation's classification metrics; bad values refused in one line, nothing created."""

import json
import shutil

import numpy as np
import pytest
from safety_helpers import assert_user_error, tiny_args
from trainer_config import small_config

from rnn_spark import data, ingest
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.classmetrics import batch_sums, binary_metrics, macro_f1
from rnn_spark.training.loop import Trainer, train
from rnn_spark.training.protocol import balanced_weights


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def binary_dataset(tmp_path_factory) -> str:
    """Two classes, about 10% positives: a positive's sequence holds a 7 somewhere."""
    root = tmp_path_factory.mktemp("imb")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(480):
        seq = rng.integers(0, 7, int(rng.integers(4, 10))).tolist()
        label = int(rng.random() < 0.1)
        if label:
            seq[int(rng.integers(0, len(seq)))] = 7
        rows.append({"sequence": seq, "label": label})
    _write(root / "rows.jsonl", rows)
    out = str(root / "data")
    ingest.ingest_labelled([str(root / "rows.jsonl")], out, task="classify", rows_per_group=40,
                           val_fraction=0.25, seed=1, quiet=True)
    return out


@pytest.fixture(scope="module")
def regress_dataset(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("reg")
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(200):
        seq = rng.standard_normal(int(rng.integers(3, 9)))
        target = float(seq.sum()) + (8.0 if rng.random() < 0.05 else 0.0)  # a few outliers
        rows.append({"sequence": seq.tolist(), "label": [target, float(seq[-1])]})
    _write(root / "rows.jsonl", rows)
    out = str(root / "data")
    ingest.ingest_labelled([str(root / "rows.jsonl")], out, task="regress", rows_per_group=40,
                           val_fraction=0.2, seed=1, quiet=True)
    return out


CLS = {"train.class_weights": "auto", "train.label_smoothing": 0.1, "train.k1": 8}
REG = {"train.loss": "huber", "train.huber_delta": 0.5, "train.k1": 8}


def final_weights(run) -> dict:
    return ckpt.read_model(str(run / "model"))[0]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def val_records(run) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "val"]


# -- the manifest's label counts and auto weights ------------------------------------------------
def test_manifest_counts_labels_per_split_and_auto_weights_are_inverse_frequency(binary_dataset):
    m = data.read_manifest(binary_dataset)
    train_counts, val_counts = m.class_counts("train"), m.class_counts("val")
    assert sum(train_counts) == m.counts("train")["sequences"]
    assert sum(val_counts) == m.counts("val")["sequences"]
    assert 0 < train_counts[1] < train_counts[0] / 4
    cfg = small_config(binary_dataset, "/nonexistent/run", **CLS)
    spec = Trainer(cfg, quiet=True).spec.loss
    n = sum(train_counts)
    assert spec.class_weights == (n / (2 * train_counts[0]), n / (2 * train_counts[1]))
    assert spec.label_smoothing == 0.1
    assert balanced_weights([3, 0, 1]) == (4 / 9, 0.0, 4 / 3)


def test_explicit_weights_and_a_toml_list_read_the_same(binary_dataset, tmp_path):
    a = Trainer(small_config(binary_dataset, tmp_path / "a", **{"train.class_weights": "1,9"}),
                quiet=True).spec.loss
    b = Trainer(small_config(binary_dataset, tmp_path / "b", **{"train.class_weights": [1, 9.0]}),
                quiet=True).spec.loss
    assert a.class_weights == b.class_weights == (1.0, 9.0)
    assert not (tmp_path / "a").exists()


# -- the determinism contract ------------------------------------------------------------------
@pytest.mark.parametrize("which", ["classify", "regress"])
def test_resume_continues_bit_for_bit_with_the_loss_keys(binary_dataset, regress_dataset,
                                                        tmp_path, which):
    ds, over = (binary_dataset, CLS) if which == "classify" else (regress_dataset, REG)
    over = {**over, "train.max_rounds": 6, "train.checkpoint_every": 3}
    full = train(small_config(ds, tmp_path / "full", **over), quiet=True)
    train(small_config(ds, tmp_path / "cut", **{**over, "train.max_rounds": 3}), quiet=True)
    cut = train(small_config(ds, tmp_path / "cut", **{**over, "train.resume": "yes"}), quiet=True)
    assert same(final_weights(tmp_path / "full"), final_weights(tmp_path / "cut"))
    assert cut["val"]["loss"] == full["val"]["loss"]
    plain = train(small_config(ds, tmp_path / "plain", **{
        **over, "train.class_weights": "none", "train.label_smoothing": 0.0, "train.loss": "auto"}),
        quiet=True)
    assert not same(final_weights(tmp_path / "full"), final_weights(tmp_path / "plain"))
    assert plain["train_loss"] != full["train_loss"]
    # the loss is training's business: the exported model (model.json) is the same kind of file
    info = [ckpt.read_model(str(tmp_path / r / "model"))[1] for r in ("full", "plain")]
    assert info[0] == info[1]


def test_language_models_take_label_smoothing_not_class_weights(char_dataset, capsys, tmp_path):
    spec = Trainer(small_config(char_dataset, tmp_path / "a", **{"train.label_smoothing": 0.1}),
                   quiet=True).spec.loss
    assert spec.label_smoothing == 0.1 and spec.validation().label_smoothing == 0.0
    run = tmp_path / "run"
    assert_user_error(capsys, tiny_args(char_dataset, run, "--class-weights", "auto"), [tmp_path],
                      "class_weights", "for classify", "lm dataset")


@pytest.mark.spark
def test_spark_runner_equals_inline_with_the_loss_keys(binary_dataset, regress_dataset, tmp_path):
    for name, ds, over in (("cls", binary_dataset, CLS), ("reg", regress_dataset, REG)):
        over = {**over, "train.validate_every": 2}
        inline = train(small_config(ds, tmp_path / f"{name}-inline", **over), quiet=True)
        spark = train(small_config(ds, tmp_path / f"{name}-spark", **over, **{
            "train.runner": "spark", "spark.master": "local[2]"}), quiet=True)
        assert spark["train_loss"] == inline["train_loss"]
        assert spark["val"] == {**inline["val"], "time": spark["val"]["time"]}
        assert same(final_weights(tmp_path / f"{name}-inline"),
                    final_weights(tmp_path / f"{name}-spark"))


def test_resume_refuses_a_change_of_the_loss_keys(binary_dataset, capsys, tmp_path):
    from rnn_spark.cli import main

    run = tmp_path / "run"
    args = tiny_args(binary_dataset, run, "--class-weights", "auto")
    assert main(args) == 0
    for change in (["--class-weights", "none"], ["--label-smoothing", "0.2"]):
        assert_user_error(capsys, [*args, "--max-rounds", "4", "--resume", *change], [run],
                          "cannot resume", change[0])


# -- validation: plain loss, classification metrics --------------------------------------------
def test_validation_records_macro_f1_and_binary_aucs_computed_exactly(binary_dataset, tmp_path):
    run = tmp_path / "run"
    train(small_config(binary_dataset, run, **CLS), quiet=True)
    trainer = Trainer(small_config(binary_dataset, tmp_path / "x", **CLS), quiet=True)
    val = val_records(run)
    assert val and all({"macro_f1", "roc_auc", "pr_auc", "accuracy"} <= set(r) for r in val)
    # the same numbers from the final weights, one batch over every validation row
    from rnn_spark.data.batching import iter_minibatches
    from rnn_spark.engine import Model

    m = data.read_manifest(binary_dataset)
    weights, _ = ckpt.read_model(str(run / "model"))
    model = Model(trainer.model_cfg)
    model.load_state_dict(weights)
    units = m.work_units("val")
    rows = sum(u.rows for u in units)
    mb = next(iter_minibatches(units, rows, manifest=m, shuffle_rows=False))
    b = batch_sums(model.forward(mb.inputs, mb.mask)[0], mb.targets)
    last = val[-1]
    assert last["loss"] == pytest.approx(b.loss_sum / rows, rel=1e-5)  # plain cross-entropy
    assert last["macro_f1"] == pytest.approx(macro_f1(b.confusion))
    ref = binary_metrics(b.scores, mb.targets)
    assert last["roc_auc"] == pytest.approx(ref["roc_auc"], abs=1e-9)
    assert last["pr_auc"] == pytest.approx(ref["pr_auc"], abs=1e-9)


def test_regression_validation_measures_the_training_loss(regress_dataset, tmp_path):
    """loss = mae: the validation loss is the MAE of the validation rows (not their MSE)."""
    from rnn_spark.data.batching import iter_minibatches
    from rnn_spark.engine import Model

    run = tmp_path / "run"
    train(small_config(regress_dataset, run, **{"train.loss": "mae", "train.k1": 8}), quiet=True)
    m = data.read_manifest(regress_dataset)
    weights, info = ckpt.read_model(str(run / "model"))
    model = Model(info["model"])
    model.load_state_dict(weights)
    units = m.work_units("val")
    rows = sum(u.rows for u in units)
    mb = next(iter_minibatches(units, rows, manifest=m, shuffle_rows=False))
    out, _ = model.forward(mb.inputs, mb.mask)
    mae = float(np.abs(out.astype(np.float64) - mb.targets).mean())
    assert val_records(run)[-1]["loss"] == pytest.approx(mae, rel=1e-5)


# -- bad input: one line, exit 2, nothing created ----------------------------------------------
def _old_dataset(ds, tmp_path) -> str:
    """The same dataset as an older rnn-spark wrote it: no class_counts in its manifest."""
    old = tmp_path / "old"
    shutil.copytree(ds, old)
    man = json.loads((old / "manifest.json").read_text())
    del man["class_counts"]
    (old / "manifest.json").write_text(json.dumps(man))
    return str(old)


@pytest.mark.parametrize("flags,needles", [
    (["--class-weights", "1,2,3"], ["train.class_weights (--class-weights)", "3 weights", "2 classes"]),
    (["--class-weights=-1,2"], ["--class-weights", "-1", ">= 0"]),
    (["--class-weights", "0,0"], ["--class-weights", "not all 0"]),
    (["--class-weights", "heavy"], ["--class-weights", "none, auto or one weight per class"]),
    (["--class-weights", "1,nan"], ["--class-weights", "nan", ">= 0"]),
    (["--label-smoothing", "1"], ["--label-smoothing", "in [0, 1)"]),
    (["--huber-delta", "0"], ["--huber-delta", "> 0"]),
    (["--loss", "mae"], ["--loss", "mae", "classify dataset"]),
    (["--loss", "l2"], ["--loss", "'l2' is not one of"]),
])
def test_bad_loss_values_are_one_line_and_create_nothing(binary_dataset, capsys, tmp_path,
                                                         flags, needles):
    run = tmp_path / "run"
    assert_user_error(capsys, tiny_args(binary_dataset, run, *flags), [tmp_path], *needles)
    assert not run.exists()


def test_loss_keys_that_do_not_fit_the_task(regress_dataset, capsys, tmp_path):
    run = tmp_path / "run"
    for flags, needles in ((["--class-weights", "1,2"], ["class_weights", "for classify"]),
                           (["--label-smoothing", "0.1"], ["label_smoothing", "regress dataset"]),
                           (["--loss", "cross_entropy"], ["--loss", "mse, mae or huber"])):
        assert_user_error(capsys, tiny_args(regress_dataset, run, *flags), [tmp_path], *needles)
    assert not run.exists()


def test_auto_weights_on_a_dataset_without_label_counts(binary_dataset, capsys, tmp_path):
    old = _old_dataset(binary_dataset, tmp_path)
    run = tmp_path / "run"
    assert_user_error(capsys, tiny_args(old, run, "--class-weights", "auto"), [tmp_path],
                      "--class-weights", "ingest it again", "w0,...,w1")
    assert not run.exists()
    # explicit weights need no counts
    from rnn_spark.cli import main
    assert main(tiny_args(old, run, "--class-weights", "1,5")) == 0
