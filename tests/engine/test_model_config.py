import json

import pytest

from rnn_spark.engine import ModelConfig, ModelConfigError
from rnn_spark.errors import UserError


def test_defaults_and_round_trip():
    cfg = ModelConfig(cell="rnn", vocab_size=96, embedding_size=64, hidden_sizes=[256, 128],
                      output_size=96, task="lm")
    assert cfg.cell == "rnn_tanh" and cfg.head_at == "every" and cfg.dtype == "float32"
    d = json.loads(json.dumps(cfg.to_dict()))
    assert ModelConfig.from_dict(d) == cfg
    c2 = ModelConfig(cell="gru", input_size=3, hidden_sizes=8, output_size=4, task="classify")
    assert c2.head_at == "last" and c2.hidden_sizes == [8] and c2.in_features == 3
    assert ModelConfig(cell="lstm", input_size=3, output_size=1, task="regress").head_at == "every"


@pytest.mark.parametrize("kw,words", [
    (dict(cell="transformer"), "cell"),
    (dict(task="translate"), "task"),
    (dict(dtype="float16"), "dtype"),
    (dict(hidden_sizes=[]), "hidden_sizes"),
    (dict(hidden_sizes=[8, 0]), "hidden_sizes"),
    (dict(output_size=0), "output_size"),
    (dict(input_size=None), "input_size"),
    (dict(vocab_size=5, embedding_size=4), "input_size"),  # both kinds of input
    (dict(input_size=None, vocab_size=5), "embedding_size"),
    (dict(task="lm", head_at="last"), "head_at"),
    (dict(head_at="middle"), "head_at"),
    (dict(cell="gru", forget_bias=1.0), "forget_bias"),
])
def test_validation(kw, words):
    base = dict(cell="lstm", input_size=3, hidden_sizes=[8], output_size=2, task="regress")
    base.update(kw)
    with pytest.raises(ValueError, match=words) as e:
        ModelConfig(**base)
    assert isinstance(e.value, UserError) and isinstance(e.value, ModelConfigError)
    assert "\n" not in str(e.value)


def test_lm_output_must_match_vocab():
    with pytest.raises(ValueError, match="vocab_size"):
        ModelConfig(vocab_size=10, embedding_size=4, output_size=9, task="lm")


def test_from_dict_unknown_key():
    with pytest.raises(ValueError, match="unknown key"):
        ModelConfig.from_dict({"cell": "lstm", "input_size": 2, "output_size": 1, "hidden": 3})
