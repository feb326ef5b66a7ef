"""ShardReader: the one read path -- bounded cache, size/hash checks, one-line DataError on damage."""

import json
import pickle

import pytest

from rnn_spark.data import ShardReader, WorkUnit, read_manifest
from rnn_spark.errors import DataError
from rnn_spark.ingest import ingest_text


@pytest.fixture()
def shards(text_files, tmp_path):
    out = tmp_path / "ds"
    ingest_text([str(p) for p in text_files], str(out), seq_len=8, rows_per_group=16,
                shard_bytes=4000)
    return out


def _units(ds):
    return read_manifest(str(ds)).work_units("train")


def _one_line(err, unit):
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{unit.shard}: row group {unit.row_group} ")
    assert "rnn-spark ingest verify" in msg
    return msg


def test_reads_every_unit_with_its_rows(shards):
    units = _units(shards)
    with ShardReader() as r:
        for u in units:
            t = r.read_row_group(u)
            assert t.num_rows == u.rows
            assert int((t["length"].to_numpy() - 1).sum()) == u.tokens


def test_cache_is_bounded_and_reused(shards):
    units = _units(shards)
    assert len(units) > 3
    r = ShardReader(cache_row_groups=2)
    first = r.read_row_group(units[0])
    assert r.read_row_group(units[0]) is first  # cached
    for u in units[1:]:
        r.read_row_group(u)
        assert len(r._cache) <= 2
    assert r.read_row_group(units[0]) is not first  # evicted, read again
    r.close()
    assert len(r._cache) == 0


def test_units_carry_size_and_dataset(shards):
    m = read_manifest(str(shards))
    for u in m.work_units("train"):
        assert u.size == next(s["bytes"] for s in m.shards("train")
                              if u.shard.endswith(s["path"]))
        assert u.dataset == m.root
    u = m.work_units("train")[0]
    assert WorkUnit.from_dict(json.loads(json.dumps(u.to_dict()))) == u
    old = {k: v for k, v in u.to_dict().items() if k not in ("size", "dataset")}
    assert WorkUnit.from_dict(old).size is None  # old unit dicts: size unchecked


def test_truncated_shard(shards):
    u = _units(shards)[0]
    path = u.shard
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-100])
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(u)
    msg = _one_line(err, u)
    assert f"(file is {len(data) - 100} bytes, manifest says {len(data)}" in msg
    assert f"rnn-spark ingest verify {shards}`" in msg


def test_truncated_shard_without_size_is_still_one_line(shards):
    u = _units(shards)[0]
    data = open(u.shard, "rb").read()
    open(u.shard, "wb").write(data[:-100])
    old = WorkUnit.from_dict({k: v for k, v in u.to_dict().items() if k != "size"})
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(old)
    assert "not a readable Parquet file" in _one_line(err, old)


def test_corrupted_row_group_same_size(shards):
    u = _units(shards)[0]
    data = bytearray(open(u.shard, "rb").read())
    for i in range(8, 200):  # inside the first row group's column chunks
        data[i] ^= 0x5A
    open(u.shard, "wb").write(bytes(data))
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(u)
    _one_line(err, u)


def test_bad_sha256_only_with_verify(shards):
    units = _units(shards)
    u = units[0]
    data = bytearray(open(u.shard, "rb").read())
    # Flip a byte of the footer's key-value metadata text: still a readable Parquet file.
    pos = bytes(data).rfind(b"ARROW:schema") + 2
    data[pos] ^= 0x01
    open(u.shard, "wb").write(bytes(data))
    assert ShardReader().read_row_group(u).num_rows == u.rows  # size matches: not detected
    with pytest.raises(DataError) as err:
        ShardReader(verify_sha256=True).read_row_group(u)
    assert "content hash differs" in _one_line(err, u)


def test_missing_shard(shards):
    u = _units(shards)[0]
    import os
    os.remove(u.shard)
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(u)
    assert "missing" in _one_line(err, u)


def test_row_group_not_in_shard(shards):
    u = _units(shards)[0]
    bad = WorkUnit(u.shard, 999, u.rows, u.tokens, u.sha256, u.size, u.dataset)
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(bad)
    assert "row group 999 does not match the manifest" in _one_line(err, bad)


def test_data_error_pickles(shards):
    u = _units(shards)[0]
    open(u.shard, "wb").write(b"garbage")
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(u)
    again = pickle.loads(pickle.dumps(err.value))
    assert type(again) is DataError and str(again) == str(err.value)


def test_iter_minibatches_reports_damage_in_one_line(shards):
    from rnn_spark.data import iter_minibatches
    m = read_manifest(str(shards))
    units = m.work_units("train")
    open(units[-1].shard, "ab").write(b"x")
    with pytest.raises(DataError) as err:
        list(iter_minibatches(units, 4, manifest=m))
    assert "manifest says" in str(err.value) and "\n" not in str(err.value)
