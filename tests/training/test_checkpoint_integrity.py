"""#8.4: checkpoints record the sha256 of their files; resume verifies them, falls back past
damaged ones (and says so), and refuses in one line when none is intact. Every checkpoint and
best/ is also a model (model.json)."""

import io
import json

import numpy as np
import pytest
from safety_helpers import assert_user_error, run_cli, strict_json, tiny_args

from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.rundir import RunDir


@pytest.fixture
def run(char_dataset, tmp_path, capsys):
    """A finished 2-round run with checkpoints round-000000 and round-000001."""
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(char_dataset, run, "--quiet"))[0] == 0
    return run


def more_rounds(char_dataset, run, *extra):
    return tiny_args(char_dataset, run, "--resume", "--max-rounds", "4", *extra)


def test_checkpoint_files_have_checksums_and_a_model_json(run):
    for d in (run / "checkpoints" / "round-000001", run / "best"):
        sums = json.loads((d / "checksums.json").read_text())["sha256"]
        assert set(sums) == {"weights.npz", "state.npz", "meta.json", "model.json"}
        model = json.loads((d / "model.json").read_text())
        assert model["format"] == ckpt.CHECKPOINT_FORMAT and model["weights"] == "global"
        assert model["model"]["hidden_sizes"] == [8] and model["task"] and model["vocab"]
        assert model["dataset"]
        ck = ckpt.load_checkpoint(str(d))
        assert ck.weights["global"].dtype == np.float64
    final = json.loads((run / "model" / "model.json").read_text())
    assert final["format"] == ckpt.MODEL_FORMAT
    assert {k for k in final if k != "format"} <= set(json.loads(
        (run / "best" / "model.json").read_text()))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _bad_json(path):
    path.write_text("{not json")


def _pickled(path):
    buf = io.BytesIO()
    np.savez(buf, **{"global": np.array([object()], dtype=object), "broadcast": np.zeros(3)})
    path.write_bytes(buf.getvalue())


def _missing(path):
    path.unlink()


@pytest.mark.parametrize("damage, name, reason", [
    (_truncate, "weights.npz", "weights.npz: sha256 mismatch"),
    (_bad_json, "meta.json", "meta.json: sha256 mismatch"),
    (_pickled, "weights.npz", "weights.npz: sha256 mismatch"),
    (_missing, "state.npz", "state.npz: missing"),
    (_bad_json, "checksums.json", "checksums.json: not valid"),
])
def test_damaged_newest_checkpoint_falls_back(char_dataset, run, capsys, damage, name, reason):
    damage(run / "checkpoints" / "round-000001" / name)
    rc, out, err = run_cli(capsys, more_rounds(char_dataset, run, "--quiet"))
    assert rc == 0, err
    assert f"round-000001 is damaged ({reason}); resuming from round-000000" in err
    assert strict_json(out.splitlines()[-1])["rounds"] == 4
    rounds = [json.loads(l)["round"] for l in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(l)["kind"] == "round"]
    assert rounds == [0, 1, 2, 3]  # round 1 was trained again from round 0's checkpoint


@pytest.mark.parametrize("damage, name, reason", [
    (_truncate, "weights.npz", "weights.npz: not a readable .npz"),
    (_bad_json, "meta.json", "meta.json: not valid"),
    (_pickled, "weights.npz", "weights.npz: holds pickled objects"),
    (_missing, "meta.json", "meta.json: missing"),
])
def test_first_release_checkpoints_are_checked_by_parsing(run, damage, name, reason):
    """Old checkpoints (no checksums.json) still read, and their damage is still found."""
    d = run / "checkpoints" / "round-000001"
    (d / "checksums.json").unlink()
    (d / "model.json").unlink()
    assert ckpt.load_checkpoint(str(d)).round == 1
    damage(d / name)
    with pytest.raises(ckpt.CheckpointDamaged, match=reason):
        ckpt.load_checkpoint(str(d))


def test_no_intact_checkpoint_is_one_line_and_touches_nothing(char_dataset, run, tmp_path, capsys):
    for d in (run / "checkpoints").iterdir():
        _truncate(d / "weights.npz")
    assert_user_error(capsys, more_rounds(char_dataset, run), [tmp_path],
                      "no intact checkpoint", "round-000001: weights.npz: sha256 mismatch",
                      "round-000000", "--overwrite")


def test_newest_intact_lists_damaged_newest_first(run):
    _missing(run / "checkpoints" / "round-000001" / "meta.json")
    ck, damaged = ckpt.newest_intact(RunDir(str(run)))
    assert ck.round == 0 and [d.name for d in damaged] == ["round-000001"]


def test_staging_leftovers_are_not_checkpoints(run):
    """A driver killed while writing leaves a hidden staging dir; it is never listed."""
    (run / "checkpoints" / ".round-000002.__tmp-abc").mkdir()
    names = [p.rsplit("/", 1)[-1] for p in ckpt.list_checkpoints(RunDir(str(run)))]
    assert names == ["round-000000", "round-000001"]


def test_pruning_never_keeps_only_a_damaged_checkpoint(run):
    """A resume skipped a damaged newer checkpoint; the ones written since are not pruned in
    favour of it (keep counts only checkpoints up to the round just written)."""
    rd = RunDir(str(run))
    ck = ckpt.load_checkpoint(str(run / "checkpoints" / "round-000001"))
    (run / "checkpoints" / "round-000001").rename(run / "checkpoints" / "round-000009")
    _truncate(run / "checkpoints" / "round-000009" / "weights.npz")  # the damaged "future"
    ckpt.write_checkpoint(rd, 1, ck.weights, ck.state, {**ck.meta, "round": 1}, keep=1)
    names = [p.rsplit("/", 1)[-1] for p in ckpt.list_checkpoints(rd)]
    assert names == ["round-000001", "round-000009"]
    assert ckpt.newest_intact(rd)[0].round == 1


def test_meta_json_is_strict_json_without_validation(char_dataset, tmp_path, capsys):
    from safety_helpers import strict_json

    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(char_dataset, run, "--quiet", "--val-split", ""))[0] == 0
    meta = strict_json((run / "checkpoints" / "round-000001" / "meta.json").read_text())
    assert meta["best_val"] is None
    rc, _, err = run_cli(capsys, tiny_args(char_dataset, run, "--quiet", "--val-split", "",
                                           "--resume", "--max-rounds", "3"))
    assert rc == 0, err
