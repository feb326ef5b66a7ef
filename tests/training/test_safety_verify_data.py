"""--verify-data (train.verify_data): workers check each shard's sha256, not only its size."""

import shutil
from pathlib import Path

from safety_helpers import run_cli, tiny_args


def test_verify_data_finds_a_same_size_corruption(char_dataset, tmp_path, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(char_dataset, ds)
    for shard in sorted(Path(ds).rglob("*.parquet")):
        raw = bytearray(shard.read_bytes())
        raw[len(raw) // 2] ^= 0xFF  # same size: only a hash check can tell
        shard.write_bytes(bytes(raw))
    rc, _, err = run_cli(capsys, tiny_args(ds, tmp_path / "run", "--quiet", "--verify-data"))
    lines = [l for l in err.splitlines() if l.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert ".parquet" in lines[0] and "content hash" in lines[0] and "Traceback" not in err
    # without --verify-data only the (unchanged) size is checked: training runs on
    rc, _, err = run_cli(capsys, tiny_args(ds, tmp_path / "run2", "--quiet"))
    assert "content hash" not in err
