"""generate: seeded, state carried across steps (equal to one forward over the whole text), bad
inputs."""

import json

import numpy as np
import pytest

import rnn_spark as rs
from rnn_spark.cli import main
from rnn_spark.serve.generate import generate


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_same_seed_same_text(lm_run, capsys):
    _, run = lm_run
    args = ["generate", "--model", run, "--prime", "def ", "--length", "40", "--seed", "5",
            "--num-samples", "2", "--json"]
    code, out1, _ = run_cli(capsys, *args)
    code2, out2, _ = run_cli(capsys, *args)
    assert code == code2 == 0 and out1 == out2
    a = json.loads(out1)
    assert len(a["samples"]) == 2 and all(s.startswith("def ") for s in a["samples"])
    assert all(len(ids) == 4 + 40 for ids in a["ids"])
    code, out3, _ = run_cli(capsys, *args[:-4], "6", "--num-samples", "2", "--json")
    assert json.loads(out3)["samples"] != a["samples"]


def test_state_is_carried(lm_run):
    """Greedy generation token by token equals argmax of one forward pass over the whole output."""
    _, run = lm_run
    tm = rs.load_model(run)
    g = generate(tm, prime="import json", length=30, temperature=0)
    ids = np.array(g.ids[0])[None, :]
    logits, _ = tm.engine().forward(ids[:, :-1])
    n = len(tm.vocab.encode("import json"))
    np.testing.assert_array_equal(logits[0, n - 1:].argmax(axis=1), ids[0, n:])


def test_top_k_one_is_greedy(lm_run):
    tm = rs.load_model(lm_run[1])
    assert generate(tm, prime="x", length=20, top_k=1, seed=3).ids == \
        generate(tm, prime="x", length=20, temperature=0).ids


def test_unknown_prime_chars_are_reported(lm_run, capsys):
    code, out, err = run_cli(capsys, "generate", "--model", lm_run[1], "--prime", "ab\u4e2d\u6587",
                             "--length", "5")
    assert code == 0 and "2 prime character(s)" in err and "<unk>" in err


@pytest.mark.parametrize("args,msg", [(["--length", "-1"], "--length"),
                                      (["--temperature", "-0.5"], "--temperature"),
                                      (["--top-k", "0"], "--top-k")])
def test_bad_options(lm_run, capsys, args, msg):
    code, out, err = run_cli(capsys, "generate", "--model", lm_run[1], *args)
    assert code == 2 and msg in err and out == ""


def test_not_a_language_model(classify_run, capsys):
    code, out, err = run_cli(capsys, "generate", "--model", classify_run[1])
    assert code == 2 and "needs a language model with a vocabulary" in err
    assert len(err.strip().splitlines()) == 1
