"""Manifest: validation, versions, verify, work units."""

import json
import os

import pytest

from rnn_spark.data import WorkUnit, read_manifest
from rnn_spark.ingest import ingest_text
from rnn_spark.errors import DataError


@pytest.fixture()
def shards(text_files, tmp_path):
    out = tmp_path / "o"
    ingest_text([str(p) for p in text_files], str(out), seq_len=8, rows_per_group=32,
                shard_bytes=4000)
    return out


def _edit(path, fn):
    d = json.loads(path.read_text())
    fn(d)
    path.write_text(json.dumps(d))


def test_unknown_version_refused(shards):
    _edit(shards / "manifest.json", lambda d: d.update(schema_version=99))
    with pytest.raises(DataError, match=r"schema version 99 is not supported .* re-ingest"):
        read_manifest(str(shards))


def test_not_a_manifest(shards, tmp_path):
    (tmp_path / "x.json").write_text("{\"a\": 1}")
    with pytest.raises(DataError, match="not an rnn-spark manifest"):
        read_manifest(str(tmp_path / "x.json"))
    (tmp_path / "y.json").write_text("{broken")
    with pytest.raises(DataError, match="not valid JSON"):
        read_manifest(str(tmp_path / "y.json"))


def test_counts_must_add_up(shards):
    _edit(shards / "manifest.json", lambda d: d["splits"]["train"].update(sequences=1))
    with pytest.raises(DataError, match="do not add up"):
        read_manifest(str(shards))


def test_verify_detects_changed_and_missing_shards(shards):
    m = read_manifest(str(shards))
    m.verify("hash")
    shard = shards / m.shards("train")[0]["path"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    m.verify("size")  # same size
    with pytest.raises(DataError, match="content hash differs"):
        m.verify("hash")
    shard.write_bytes(bytes(data[:-10]))
    with pytest.raises(DataError, match="truncated"):
        m.verify("size")
    os.remove(shard)
    with pytest.raises(DataError, match="missing"):
        m.verify("size")


def test_work_units_json_round_trip(shards):
    m = read_manifest(str(shards))
    units = m.work_units("train")
    assert sum(u.rows for u in units) == m.counts("train")["sequences"]
    assert all(os.path.isabs(u.shard) for u in units)
    again = [WorkUnit.from_dict(json.loads(json.dumps(u.to_dict()))) for u in units]
    assert again == units
    with pytest.raises(DataError, match="no split 'test'"):
        m.work_units("test")


@pytest.mark.parametrize("bad", ["../x.parquet", "../../../../etc/passwd", "/etc/passwd",
                                 "train/../../x.parquet", "hdfs:///d/x.parquet",
                                 "file:///etc/passwd", "train//x.parquet", ".", ""])
def test_shard_paths_must_stay_inside_the_dataset(shards, bad):
    def edit(d):
        d["splits"]["train"]["shards"][0]["path"] = bad
    _edit(shards / "manifest.json", edit)
    with pytest.raises(DataError) as err:
        read_manifest(str(shards))
    msg = str(err.value)
    assert "\n" not in msg and "is not a relative path inside the dataset directory" in msg
    assert msg.startswith(str(shards / "manifest.json"))


def test_verify_cli_refuses_escaping_path(shards, capsys):
    from rnn_spark.cli import main
    _edit(shards / "manifest.json",
          lambda d: d["splits"]["train"]["shards"][0].update(path="../../../../etc/passwd"))
    assert main(["ingest", "verify", str(shards)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "etc/passwd" in err
