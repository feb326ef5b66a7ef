"""``export --format pytorch``: a PyTorch state dict (``model.pt``; ``model.npz`` when torch is
not installed) + ``model.json`` (config, vocabulary/statistics) + ``rnn_model.py``, the snippet
that rebuilds the modules (also printed). The engine's parameter names and layouts already are
PyTorch's (nn.Embedding / nn.RNN|LSTM|GRU / nn.Linear); layers of unequal width become an
``nn.ModuleList`` of one-layer modules (``rnn.{k}.weight_ih_l0``).
"""

from __future__ import annotations

import io
import json

import numpy as np

from rnn_spark import fs
from rnn_spark.fs.kinds import EXPORT, EXPORT_MARKER

SNIPPET = '''\
# Rebuild an rnn-spark model as PyTorch modules (written by `rnn-spark export --format pytorch`).
import json

import torch
from torch import nn


class RNNModel(nn.Module):
    """[nn.Embedding | dense input] -> nn.RNN/LSTM/GRU layers -> nn.Linear head (batch-first)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if cfg["vocab_size"]:
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embedding_size"])
        n_in = cfg["embedding_size"] if cfg["vocab_size"] else cfg["input_size"]
        hs = cfg["hidden_sizes"]
        kind = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cfg["cell"], nn.RNN)
        extra = {"nonlinearity": cfg["cell"][4:]} if cfg["cell"].startswith("rnn_") else {}
        if len(set(hs)) == 1:
            self.rnn = kind(n_in, hs[0], num_layers=len(hs), batch_first=True, **extra)
        else:
            self.rnn = nn.ModuleList(kind(i, h, batch_first=True, **extra)
                                     for i, h in zip([n_in] + hs[:-1], hs))
        self.head = nn.Linear(hs[-1], cfg["output_size"])

    def forward(self, x, lengths=None):
        """x: token ids [B, T] or features [B, T, D]; lengths [B] (last-step heads, right padding)."""
        y = self.embedding(x) if self.cfg["vocab_size"] else x
        for layer in (self.rnn if isinstance(self.rnn, nn.ModuleList) else [self.rnn]):
            y, _ = layer(y)
        if self.cfg["head_at"] == "last":
            last = (lengths - 1) if lengths is not None else torch.full((y.shape[0],), y.shape[1] - 1)
            y = y[torch.arange(y.shape[0]), last.long()]
        return self.head(y)


def load(directory="."):
    with open(f"{directory}/model.json") as f:
        cfg = json.load(f)["model"]
    model = RNNModel(cfg).to(getattr(torch, cfg["dtype"]))
    model.load_state_dict(torch.load(f"{directory}/model.pt"))
    return model.eval()
'''


def torch_names(cfg, state: dict) -> dict:
    """Engine names -> the names of the snippet's modules (ModuleList for unequal widths)."""
    if len(set(cfg.hidden_sizes)) == 1:
        return dict(state)
    out = {}
    for name, v in state.items():
        if name.startswith("rnn."):
            base, k = name[4:].rsplit("_l", 1)
            name = f"rnn.{k}.{base}_l0"
        out[name] = v
    return out


def model_json(tm) -> dict:
    d = {"model": tm.config.to_dict(), "task": tm.task, "format": "pytorch-state-dict",
         "stats": tm.stats, "source": tm.source.uri}
    if tm.vocab is not None:
        d["vocab"] = tm.vocab.to_dict()
    return d


def mark_export(tmp: str, fmt: str) -> None:
    """The marker that makes a directory an export rnn-spark made (rnn_spark/fs/kinds.py): only
    such a directory is replaced by ``export --overwrite`` -- a model.json alone proves nothing."""
    from rnn_spark import __version__
    fs.write_text(fs.join(tmp, EXPORT_MARKER), json.dumps(
        {"rnn_spark_export": 1, "format": fmt, "version": __version__}) + "\n")


def export_pytorch(tm, out: str, overwrite: bool = False) -> dict:
    """Write the export directory ``out`` atomically; -> {"files": [...], "snippet": str}."""
    state = torch_names(tm.config, tm.state)
    try:
        import torch
    except ImportError:
        torch = None
    buf = io.BytesIO()
    if torch is not None:
        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, buf)
        weights = "model.pt"
    else:
        np.savez(buf, **state)
        weights = "model.npz"
    from rnn_spark.serve.common import check_out
    replace = check_out(out, overwrite, [tm.source.uri], kind=EXPORT)
    with fs.staging_dir(out, overwrite=replace) as tmp:
        mark_export(tmp, "pytorch")
        fs.write_bytes(fs.join(tmp, weights), buf.getvalue())
        fs.write_text(fs.join(tmp, "model.json"), json.dumps(model_json(tm), indent=1, sort_keys=True))
        fs.write_text(fs.join(tmp, "rnn_model.py"), SNIPPET)
    snippet = SNIPPET + f'\n# model = load("{out}")\n'
    if torch is None:
        snippet += ("# torch was not installed at export time: the weights are in model.npz;\n"
                    "# sd = {k: torch.from_numpy(v) for k, v in numpy.load('model.npz').items()}\n")
    return {"files": [weights, "model.json", "rnn_model.py"], "snippet": snippet}
