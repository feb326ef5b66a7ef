"""A model used on a dataset encoded another way (issue #21.4): a vocabulary of the same size in
another order, features normalised with other statistics or not at all. evaluate and predict
refuse it in one line naming what differs (exit 2, nothing written); the same data ingested again
is accepted."""

import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

import rnn_spark as rs
from rnn_spark import ingest
from rnn_spark.cli import main
from rnn_spark.data.compat import stats_mismatch, vocab_mismatch


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


TINY = {"model.hidden_sizes": [8], "model.embedding_size": 4, "train.k1": 8,
        "train.batch_size": 4, "train.steps_per_round": 1, "train.workers": 1,
        "train.max_rounds": 2, "train.validate_every": 0, "train.checkpoint_every": 0}


def _text(path, weights, seed):
    rnd = random.Random(seed)
    path.write_text("".join(rnd.choices("abcdefgh \n", weights=weights, k=3000)))
    return str(path)


@pytest.fixture(scope="module")
def two_vocabs(tmp_path_factory, train_run):
    """Two corpora over the same 10 characters, counted in other orders: same vocabulary size,
    another id for most characters; an LM trained on the first."""
    root = tmp_path_factory.mktemp("vocab")
    a = _text(root / "a.txt", [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0)
    b = _text(root / "b.txt", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1)
    for name, src in (("A", a), ("A2", a), ("B", b)):
        ingest.ingest_text([src], str(root / name), seq_len=16, rows_per_group=16,
                           val_fraction=0.2, quiet=True)
    return root, train_run(str(root / "A"), root / "run", **TINY)


def _labelled(path, shift):
    rng = np.random.default_rng(0)
    with path.open("w") as f:
        for i in range(120):
            seq = (rng.normal(size=(int(rng.integers(3, 8)), 2)) * 5 + 40 + shift).tolist()
            f.write(json.dumps({"sequence": seq, "label": i % 2}) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def feature_sets(tmp_path_factory, train_run):
    """A classifier trained on normalised features; the same file again, without normalisation,
    and other data (other statistics)."""
    root = tmp_path_factory.mktemp("feat")
    src, other = _labelled(root / "a.jsonl", 0.0), _labelled(root / "b.jsonl", 3.0)
    for name, s, norm in (("N", src, True), ("N2", src, True), ("RAW", src, False),
                          ("OTHER", other, True)):
        ingest.ingest_labelled([s], str(root / name), task="classify", normalize=norm,
                               rows_per_group=40, val_fraction=0.2, quiet=True)
    return root, train_run(str(root / "N"), root / "run", **TINY, **{"model.cell": "gru"})


def test_vocabulary_of_the_same_size_in_another_order_is_refused(two_vocabs, tmp_path, capsys):
    root, run = two_vocabs
    other = str(root / "B")
    assert rs.load_model(run).config.vocab_size == rs.data.read_manifest(other).vocab_size
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", other)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: vocabulary differs: id 1 is 'a' in the model, '\\n' in "
                          f"{other} (10 of 11 ids differ); use the dataset the model was trained "
                          f"on ({root / 'A'})")
    assert "Traceback" not in err
    code, out, err = run_cli(capsys, "predict", "--model", run, "--data", other,
                             "--out", str(tmp_path / "p"))
    assert code == 2 and "vocabulary differs: id 1 is 'a'" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_the_same_text_ingested_again_is_accepted(two_vocabs, tmp_path, capsys):
    root, run = two_vocabs
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", str(root / "A2"),
                             "--json")
    assert code == 0, err
    assert json.loads(out)["loss"] < np.log(10) + 0.5
    code, out, err = run_cli(capsys, "predict", "--model", run, "--data", str(root / "A2"),
                             "--out", str(tmp_path / "p"))
    assert code == 0, err


def test_normalised_model_on_unnormalised_data_is_refused(feature_sets, tmp_path, capsys):
    root, run = feature_sets
    raw = str(root / "RAW")
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", raw)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert (f"error: normalisation differs: the model was trained on normalised data, {raw} is "
            f"not normalised (--no-normalize)") in err
    code, out, err = run_cli(capsys, "predict", "--model", run, "--data", raw,
                             "--out", str(tmp_path / "p"))
    assert code == 2 and "normalisation differs" in err and not (tmp_path / "p").exists()


def test_other_statistics_are_refused(feature_sets, capsys):
    root, run = feature_sets
    other = str(root / "OTHER")
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", other)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("error: normalisation statistics differ: feature 'f0' has mean 39.6221 and std "
            "4.8365 in the model, mean 42.6221 and std 4.8365 in ") in err
    assert f"in {other} (statistics of other data)" in err


def test_same_features_ingested_again_are_accepted(feature_sets, capsys):
    root, run = feature_sets
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", str(root / "N2"))
    assert code == 0, err


# -- the comparisons themselves -----------------------------------------------------------------
def test_vocab_mismatch_names_the_first_difference_and_counts():
    a = {"type": "char", "size": 4, "tokens": ["<unk>", "a", "b", "c"]}
    assert vocab_mismatch(a, dict(a), "D") is None
    b = {"type": "char", "size": 4, "tokens": ["<unk>", "a", "c", "b"]}
    assert vocab_mismatch(a, b, "D") == ("vocabulary differs: id 2 is 'b' in the model, 'c' in D "
                                         "(2 of 4 ids differ)")
    assert vocab_mismatch(a, {"type": "byte", "size": 256}, "D").startswith(
        "vocabulary differs: the model's is char-level (4 ids), D's is byte-level (256 ids)")
    assert vocab_mismatch(None, b, "D") is None and vocab_mismatch(a, None, "D") is None


def test_stats_mismatch_tolerance_and_columns():
    f = {"columns": ["x", "y"], "mean": [1.0, 2.0], "std": [0.5, 3.0], "count": 9}
    s = {"normalized": True, "features": f}
    assert stats_mismatch(s, json.loads(json.dumps(s)), "D") is None
    near = {"normalized": True, "features": {**f, "mean": [1.0 + 1e-13, 2.0]}}
    assert stats_mismatch(s, near, "D") is None          # float noise, not other data
    off = {"normalized": True, "features": {**f, "std": [0.5, 3.0001]}}
    assert stats_mismatch(s, off, "D").startswith(
        "normalisation statistics differ: feature 'y' has mean 2 and std 3 in the model")
    cols = {"normalized": True, "features": {**f, "columns": ["y", "x"]}}
    assert stats_mismatch(s, cols, "D") == ("feature columns differ: the model's are x,y, D's "
                                            "are y,x")
    # not normalised: values are read as they are, only the columns must agree
    raw, raw2 = {"normalized": False, "features": f}, {"normalized": False, "features": off["features"]}
    assert stats_mismatch(raw, raw2, "D") is None
    assert stats_mismatch(s, raw, "D").startswith("normalisation differs")


def test_resume_names_the_normalisation_that_differs(feature_sets, tmp_path, capsys):
    root, run = feature_sets
    args = ["train", "--run-dir", run, "--data", str(root / "RAW"), "--resume", "--max-rounds",
            "3", "--runner", "inline", "--cell", "gru", "--hidden-sizes", "8", "--embedding-size",
            "4", "--k1", "8", "--batch-size", "4", "--steps-per-round", "1", "--workers", "1",
            "--validate-every", "0", "--checkpoint-every", "0"]
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert (f"dataset {root / 'N'} -> {root / 'RAW'} (normalisation differs: the run was trained "
            f"on normalised data, this dataset is not normalised (--no-normalize))") in err


# -- --remap-vocab: read another order token by token ------------------------------------------
def _expected_lm_loss(tm, ds, split="val"):
    """The model's mean NLL on ``ds``'s rows re-encoded through the characters themselves."""
    from rnn_spark.data import iter_minibatches, read_manifest
    from rnn_spark.serve.common import log_softmax64
    m = read_manifest(ds)
    index = {t: i for i, t in enumerate(tm.vocab.tokens)}
    to_model = np.array([index.get(t, 0) for t in m.tokenizer().tokens])
    total, count = 0.0, 0
    for mb in iter_minibatches(m.work_units(split), 7, manifest=m, shuffle_rows=False):
        logits, _ = tm.engine().forward(to_model[mb.inputs], mb.mask)
        keep = mb.mask.astype(bool)
        lp = log_softmax64(logits[keep])
        t = to_model[mb.targets][keep]
        total -= lp[np.arange(len(t)), t].sum()
        count += len(t)
    return total / count


def test_remap_vocab_reads_another_order_token_by_token(two_vocabs, tmp_path, capsys):
    root, run = two_vocabs
    other = str(root / "B")
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", other, "--json",
                             "--remap-vocab")
    assert code == 0, err
    assert err == ""  # the same characters: none unknown
    want = _expected_lm_loss(rs.load_model(run), other)
    assert json.loads(out)["loss"] == pytest.approx(want, rel=1e-6)
    code, out, err = run_cli(capsys, "predict", "--model", run, "--data", other, "--out",
                             str(tmp_path / "p"), "--remap-vocab", "--top-k", "3")
    assert code == 0, err
    import pyarrow.parquet as pq
    doc = json.loads((tmp_path / "p" / "_predictions.json").read_text())
    t = pa.concat_tables([pq.read_table(tmp_path / "p" / f["path"]) for f in doc["files"]])
    assert t.num_rows == sum(rs.data.read_manifest(other).counts(s)["sequences"]
                             for s in ("train", "val"))
    val = t.filter(pa.compute.equal(t["split"], "val"))
    loss, n = val["loss"].to_numpy(), val["tokens"].to_numpy()
    assert (loss * n).sum() / n.sum() == pytest.approx(want, rel=1e-6)  # the rows, remapped
    # the same dataset's own order needs no map: the same numbers as without the flag
    a2 = str(root / "A2")
    runs = [run_cli(capsys, "evaluate", "--model", run, "--data", a2, "--json", *f)
            for f in ([], ["--remap-vocab"])]
    assert runs[0][0] == runs[1][0] == 0 and runs[0][1] == runs[1][1]


def test_remap_vocab_reads_unknown_characters_as_unk(two_vocabs, tmp_path, capsys):
    root, run = two_vocabs
    grown = root / "grown.txt"
    grown.write_text((root / "a.txt").read_text() + "zzzz@" * 40)
    ds = str(tmp_path / "G")
    ingest.ingest_text([str(grown)], ds, seq_len=16, rows_per_group=16, val_fraction=0.2,
                       quiet=True)
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", ds)
    assert code == 2 and "vocabulary size is 13, the model expects 11" in err
    assert err.rstrip().endswith("or read it token by token: --remap-vocab")
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", ds, "--json",
                             "--remap-vocab")
    assert code == 0, err
    assert err.strip() == (f"rnn-spark: --remap-vocab: 2 of the 12 characters of {ds} are not in "
                           f"the model's vocabulary ('z', '@') and are read as <unk>")
    assert json.loads(out)["loss"] == pytest.approx(_expected_lm_loss(rs.load_model(run), ds),
                                                    rel=1e-6)


def test_remap_vocab_bad_inputs(two_vocabs, feature_sets, tmp_path, capsys):
    root, run = two_vocabs
    froot, frun = feature_sets
    code, out, err = run_cli(capsys, "evaluate", "--model", frun, "--data", str(froot / "N2"),
                             "--remap-vocab")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--remap-vocab: maps one character vocabulary onto another" in err
    src = tmp_path / "t.txt"
    src.write_text("abc abc")
    code, out, err = run_cli(capsys, "predict", "--model", run, "--input", str(src), "--out",
                             str(tmp_path / "p"), "--remap-vocab")
    assert code == 2 and "--remap-vocab goes with --data" in err
    assert not (tmp_path / "p").exists()
