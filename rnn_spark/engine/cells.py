"""The cell registry: a cell's name in ModelConfig -> its class. The contract the cells follow is
in cellbase.py; the cells themselves in rnn.py, lstm.py and gru.py (they import cellbase, never
this module, so the imports run one way)."""

from __future__ import annotations

from .cellbase import Cell
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import RNNCell

__all__ = ["CELL_TYPES", "make_cell"]

# name -> (class, extra constructor arguments); the names are config.CELLS
CELL_TYPES: dict[str, tuple[type[Cell], tuple]] = {
    "rnn_tanh": (RNNCell, ("tanh",)),
    "rnn_relu": (RNNCell, ("relu",)),
    "lstm": (LSTMCell, ()),
    "gru": (GRUCell, ()),
}


def make_cell(kind: str, input_size: int, hidden_size: int) -> Cell:
    """A cell of kind ``kind`` (a ModelConfig ``cell`` name) for one layer."""
    if kind not in CELL_TYPES:
        raise ValueError(f"unknown cell {kind!r}; valid cells: {', '.join(CELL_TYPES)}")
    cls, args = CELL_TYPES[kind]
    return cls(input_size, hidden_size, *args)
