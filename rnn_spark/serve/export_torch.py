"""``export --format pytorch``: a PyTorch state dict (``model.pt``; ``model.npz`` when torch is
not installed) + ``model.json`` (config, vocabulary/statistics, interface) + ``rnn_model.py``, the
snippet that rebuilds the modules and loads whichever weights file was written (also printed).
The engine's parameter names and layouts already are PyTorch's (nn.Embedding / nn.RNN|LSTM|GRU /
nn.Linear); layers of unequal width become an ``nn.ModuleList`` of one-layer modules
(``rnn.{k}.weight_ih_l0``, ``rnn.{k}.weight_ih_l0_reverse``). The module takes raw inputs and
returns outputs in original units: model.json's "normalisation" (serve/export_meta.py) becomes
non-persistent buffers. A bidirectional model is ``bidirectional=True`` modules; given
``lengths`` it packs each layer's input (``pack_padded_sequence``) so the reverse direction
starts at each row's last valid step, as the engine does, and a last-step head reads
``[forward at the last valid step, reverse at step 0]`` (torch's ``h_n``).
"""

from __future__ import annotations

import io

import numpy as np

from rnn_spark.serve.export_meta import model_json, write_export

SNIPPET = '''\
# Rebuild an rnn-spark model as PyTorch modules (written by `rnn-spark export --format pytorch`).
# It takes RAW inputs (token ids, or features in the training data's own units) and returns
# outputs in original units: the normalisation in model.json is done inside forward().
import json
import os

import numpy
import torch
from torch import nn


class RNNModel(nn.Module):
    """[normalise] -> [nn.Embedding | dense input] -> nn.RNN/LSTM/GRU layers (bidirectional if
    cfg says so) -> nn.Linear head -> [de-normalise] (batch-first)."""

    def __init__(self, cfg, normalisation=None):
        super().__init__()
        self.cfg = cfg
        norm = normalisation or {}
        for part, names in (("input", ("in_mean", "in_std")), ("output", ("out_mean", "out_std"))):
            for name, key in zip(names, ("mean", "std")):
                value = norm[part][key] if part in norm else None
                self.register_buffer(name, None if value is None else
                                     torch.tensor(value, dtype=torch.float64), persistent=False)
        if cfg["vocab_size"]:
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["embedding_size"])
        n_in = cfg["embedding_size"] if cfg["vocab_size"] else cfg["input_size"]
        hs = cfg["hidden_sizes"]
        self.bidirectional = bool(cfg.get("bidirectional", False))
        d = 2 if self.bidirectional else 1
        kind = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cfg["cell"], nn.RNN)
        extra = {"nonlinearity": cfg["cell"][4:]} if cfg["cell"].startswith("rnn_") else {}
        extra["bidirectional"] = self.bidirectional
        if len(set(hs)) == 1:
            self.rnn = kind(n_in, hs[0], num_layers=len(hs), batch_first=True, **extra)
        else:
            self.rnn = nn.ModuleList(kind(i, h, batch_first=True, **extra)
                                     for i, h in zip([n_in] + [d * h for h in hs[:-1]], hs))
        self.head = nn.Linear(d * hs[-1], cfg["output_size"])

    def forward(self, x, lengths=None):
        """x: token ids [B, T] or raw features [B, T, D]; lengths [B] (valid steps per row, right
        padding: last-step heads read there, a bidirectional model's reverse direction starts
        there). -> logits, or predictions in original units."""
        if self.cfg["vocab_size"]:
            y = self.embedding(x)
        else:
            y = x if self.in_mean is None else (x - self.in_mean) / self.in_std
        B, T = y.shape[:2]
        pack = self.bidirectional and lengths is not None
        for layer in (self.rnn if isinstance(self.rnn, nn.ModuleList) else [self.rnn]):
            if pack:  # the reverse direction reads each row from its last valid step
                y = nn.utils.rnn.pack_padded_sequence(y, torch.as_tensor(lengths).cpu(),
                                                      batch_first=True, enforce_sorted=False)
                y, _ = layer(y)
                y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=T)
            else:
                y, _ = layer(y)
        if self.cfg["head_at"] == "last":
            last = (lengths - 1) if lengths is not None else torch.full((B,), T - 1)
            h = y[torch.arange(B), torch.as_tensor(last).long()]
            if self.bidirectional:  # [forward at the last valid step, reverse at step 0]: h_n
                H = self.cfg["hidden_sizes"][-1]
                h = torch.cat([h[:, :H], y[:, 0, H:]], 1)
            y = h
        y = self.head(y)
        return y if self.out_mean is None else y * self.out_std + self.out_mean


def load(directory="."):
    with open(os.path.join(directory, "model.json")) as f:
        meta = json.load(f)
    cfg = meta["model"]
    model = RNNModel(cfg, meta.get("interface", {}).get("normalisation"))
    model = model.to(getattr(torch, cfg["dtype"]))
    path = os.path.join(directory, meta.get("weights", "model.pt"))
    if path.endswith(".npz"):  # written where torch was not installed
        with numpy.load(path, allow_pickle=False) as z:
            state = {k: torch.from_numpy(z[k]) for k in z.files}
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
'''


def torch_names(cfg, state: dict) -> dict:
    """Engine names -> the names of the snippet's modules (ModuleList for unequal widths)."""
    if len(set(cfg.hidden_sizes)) == 1:
        return dict(state)
    out = {}
    for name, v in state.items():
        if name.startswith("rnn."):  # rnn.weight_ih_l3[_reverse] -> rnn.3.weight_ih_l0[_reverse]
            base, rest = name[4:].rsplit("_l", 1)
            k, _, direction = rest.partition("_")
            name = f"rnn.{k}.{base}_l0" + (f"_{direction}" if direction else "")
        out[name] = v
    return out


def export_pytorch(tm, out: str, overwrite: bool = False) -> dict:
    """Write the export directory ``out`` atomically; -> {"files", "snippet", "interface"}."""
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
    meta = model_json(tm, "pytorch", weights)
    files = write_export(tm, out, "pytorch", {weights: buf.getvalue(),
                                              "rnn_model.py": SNIPPET.encode()}, meta, overwrite)
    snippet = SNIPPET + f'\n# model = load("{out}")\n'
    if torch is None:
        snippet += "# torch was not installed at export time: load() reads the weights from model.npz\n"
    return {"files": files, "snippet": snippet, "interface": meta["interface"]}
