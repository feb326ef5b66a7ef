"""Ingest to and from the real HDFS test cluster: round trips, streaming, Spark engine, YARN."""

import json
import os
import random

import numpy as np
import pytest

from rnn_spark import fs
from rnn_spark.data import ShardReader, iter_minibatches, read_manifest
from rnn_spark.ingest import ingest_labelled, ingest_text
from rnn_spark.errors import DataError

pytestmark = pytest.mark.e2e
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = ["alpha", "beta", "gamma", "délta", "εψιλον", "zeta"]


def _texts(tmp_path, n=3):
    rnd = random.Random(0)
    d = tmp_path / "in"
    d.mkdir()
    for k in range(n):
        (d / f"p{k}.txt").write_text(" ".join(rnd.choice(WORDS) for _ in range(2000 + 500 * k)),
                                     encoding="utf-8")
    return d


def _upload(local_dir, remote_dir):
    for name in sorted(os.listdir(local_dir)):
        fs.write_bytes(fs.join(remote_dir, name), (local_dir / name).read_bytes())


def _tree(root):
    """{relative path: bytes} of every file under root, manifest without its 'sources'."""
    out = {}
    for uri in fs.walk_files(root):
        rel = uri[len(root.rstrip("/")) + 1:]
        data = fs.read_bytes(uri)
        if rel == "manifest.json":
            d = json.loads(data)
            d.pop("sources")
            data = json.dumps(d, sort_keys=True).encode()
        out[rel] = data
    return out


KW = dict(seq_len=16, rows_per_group=40, shard_bytes=8000, seed=7)


def test_text_round_trip_and_streaming(hdfs, tmp_path):
    src = _texts(tmp_path)
    _upload(src, fs.join(hdfs, "in"))
    ml = ingest_text([str(src / "*.txt")], str(tmp_path / "local"), **KW)
    mh = ingest_text([fs.join(hdfs, "in", "*.txt")], fs.join(hdfs, "out"), **KW)
    assert _tree(str(tmp_path / "local")) == _tree(fs.join(hdfs, "out"))
    assert mh.root == fs.join(hdfs, "out") and len(mh.shards("train")) > 2
    mh = read_manifest(fs.join(hdfs, "out"))
    mh.verify("hash")
    ul, uh = ml.work_units("train"), mh.work_units("train")
    assert [u.shard.startswith("hdfs://") for u in uh] == [True] * len(uh)
    bl = list(iter_minibatches(ul, 16, manifest=ml, seed=1, bucket=True))
    bh = list(iter_minibatches(uh, 16, manifest=mh, seed=1, bucket=True))
    assert len(bl) == len(bh) > 5
    for a, b in zip(bl, bh):
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.targets, b.targets)


def test_labelled_from_hdfs_and_overwrite(hdfs, tmp_path):
    rng = np.random.default_rng(0)
    lines = [json.dumps({"sequence": rng.normal(size=(int(rng.integers(2, 9)), 2)).tolist(),
                         "label": int(rng.integers(0, 3))}) for _ in range(200)]
    fs.write_text(fs.join(hdfs, "lab.jsonl"), "\n".join(lines) + "\n")
    out = fs.join(hdfs, "lab")
    m = ingest_labelled([fs.join(hdfs, "lab.jsonl")], out)
    assert m.kind == "features" and m.input_size == 2 and m.output_size == 3
    with pytest.raises(DataError, match="already exists; pass --overwrite"):
        ingest_labelled([fs.join(hdfs, "lab.jsonl")], out)
    fs.write_text(fs.join(hdfs, "bad.jsonl"), lines[0] + "\n{\"sequence\": [1], \"label\": 0}\n")
    with pytest.raises(DataError, match=r"bad\.jsonl: line 2: field 'sequence' has 1 step"):
        ingest_labelled([fs.join(hdfs, "bad.jsonl")], out, overwrite=True)
    assert read_manifest(out).counts("train") == m.counts("train")  # old output intact
    assert sorted(fs.basename(u) for u in fs.ls(hdfs)) == ["bad.jsonl", "lab", "lab.jsonl"]


@pytest.mark.spark
def test_spark_engine_reads_and_writes_hdfs(hdfs, tmp_path):
    src = _texts(tmp_path)
    _upload(src, fs.join(hdfs, "in"))
    ingest_text([str(src)], str(tmp_path / "local"), engine="local", **KW)
    ingest_text([fs.join(hdfs, "in")], fs.join(hdfs, "spark"), engine="spark",
                master="local[2]", **KW)
    assert _tree(str(tmp_path / "local")) == _tree(fs.join(hdfs, "spark"))


@pytest.mark.spark
@pytest.mark.slow
def test_ingest_job_on_yarn(hadoop_cluster, hdfs, tmp_path):
    src = _texts(tmp_path, n=4)
    _upload(src, fs.join(hdfs, "in"))
    ingest_text([str(src)], str(tmp_path / "local"), engine="local", **KW)
    out = fs.join(hdfs, "yarn")
    args = ["text", fs.join(hdfs, "in", "*.txt"), "--out", out, "--engine", "spark",
            "--seq-len", "16", "--rows-per-group", "40", "--shard-bytes", "8000", "--seed", "7"]
    before = {a["id"] for a in hadoop_cluster.yarn_apps()}
    r = hadoop_cluster.spark_submit(os.path.join(REPO, "jobs", "ingest.py"), *args)
    assert '"task": "lm"' in r.stdout
    apps = [a for a in hadoop_cluster.yarn_apps() if a["id"] not in before]
    assert apps and apps[0]["finalStatus"] == "SUCCEEDED"  # ran on YARN, not local[*]
    assert _tree(str(tmp_path / "local")) == _tree(out)


def test_overwrite_guard_on_hdfs(hdfs, tmp_path):
    """#8.1 on HDFS: an output that contains the inputs, or holds user files, is refused and
    nothing is touched; an old dataset is replaced."""
    src = _texts(tmp_path)
    _upload(src, fs.join(hdfs, "in"))
    with pytest.raises(DataError, match=r"--out contains the input"):
        ingest_text([fs.join(hdfs, "in", "*.txt")], fs.join(hdfs, "in"), overwrite=True, **KW)
    with pytest.raises(DataError, match=r"--out lies inside the input"):
        ingest_text([fs.join(hdfs, "in")], fs.join(hdfs, "in", "ds"), **KW)
    fs.write_text(fs.join(hdfs, "mine", "notes.txt"), "precious")
    with pytest.raises(DataError, match="holds files that are not a dataset rnn-spark made"):
        ingest_text([fs.join(hdfs, "in")], fs.join(hdfs, "mine"), overwrite=True, **KW)
    assert sorted(fs.basename(u) for u in fs.ls(fs.join(hdfs, "in"))) == \
        ["p0.txt", "p1.txt", "p2.txt"]
    assert fs.read_text(fs.join(hdfs, "mine", "notes.txt")) == "precious"
    out = fs.join(hdfs, "ds")
    ingest_text([fs.join(hdfs, "in", "p0.txt")], out, **KW)
    m = ingest_text([fs.join(hdfs, "in")], out, overwrite=True, **KW)
    assert len(m.data["sources"]) == 3
    assert sorted(fs.basename(u) for u in fs.ls(hdfs)) == ["ds", "in", "mine"]


def test_damaged_shard_on_hdfs_is_one_line(hdfs, tmp_path, capsys):
    """#8.2 reader side on HDFS: a truncated shard -> one line naming shard and row group, and
    `rnn-spark ingest verify` exits 2 with one line."""
    from rnn_spark.cli import main
    src = _texts(tmp_path)
    _upload(src, fs.join(hdfs, "in"))
    out = fs.join(hdfs, "ds")
    m = ingest_text([fs.join(hdfs, "in")], out, **KW)
    u = m.work_units("train")[0]
    assert ShardReader(verify_sha256=True).read_row_group(u).num_rows == u.rows
    data = fs.read_bytes(u.shard)
    fs.write_bytes(u.shard, data[:-50], overwrite=True)
    with pytest.raises(DataError) as err:
        ShardReader().read_row_group(u)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{u.shard}: row group 0 unreadable")
    assert f"manifest says {len(data)}" in msg and f"rnn-spark ingest verify {out}`" in msg
    capsys.readouterr()
    assert main(["ingest", "verify", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and u.shard in err and "truncated" in err


def test_hdfs_inputs_one_name_per_file_and_copies_warned(hdfs, capfd):
    """#21: the same HDFS file named several ways is read once; a copy is warned about."""
    from rnn_spark.ingest.sources import find_inputs
    body = " ".join(random.Random(1).choice(WORDS) for _ in range(3000))
    d = fs.join(hdfs, "in")
    fs.write_text(fs.join(d, "a.txt"), body)
    fs.write_text(fs.join(d, "b.txt"), body[::-1])
    fs.write_text(fs.join(d, "_c.txt"), body[:100])  # an '_' name is an input
    fs.write_text(fs.join(d, "_SUCCESS"), "")        # a Hadoop marker is not
    bare = "hdfs://" + fs.split(d)[2]                 # hdfs:///... : the default NameNode
    names = [fs.join(d, "a.txt"), fs.join(bare, "a.txt"), fs.join(d, "*.txt"), d, bare,
             fs.join(bare, "sub", "..", "a.txt").replace("/sub/..", "//")]
    got = find_inputs(names)
    assert sorted(fs.basename(f["uri"]) for f in got.files) == ["_c.txt", "a.txt", "b.txt"]
    assert [fs.basename(h) for h in got.hidden] == ["_SUCCESS"]
    one = ingest_text([fs.join(d, "a.txt"), fs.join(d, "b.txt"), fs.join(d, "_c.txt")],
                      fs.join(hdfs, "o1"), **KW)
    many = ingest_text(names, fs.join(hdfs, "o2"), **KW)
    assert [many.counts(s) for s in many.splits] == [one.counts(s) for s in one.splits]
    capfd.readouterr()
    fs.write_text(fs.join(d, "copy.txt"), body)
    ingest_text([d], fs.join(hdfs, "o3"), **KW)
    err = capfd.readouterr().err
    assert (f"ingest: warning: 1 input file(s) have the same content as another "
            f"({fs.join(d, 'copy.txt')} = {fs.join(d, 'a.txt')})") in err
