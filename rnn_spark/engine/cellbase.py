"""The cell contract: what a recurrent cell is given, what it returns, and the base it builds on.

A cell runs the recurrence of ONE layer over one window, forward and backward. The model around it
(model.py) owns the parameters, the input projection and the weight gradients; per layer and call:

    prep = cell.prepare(w_hh, b_hh, B, ws)         # Prep: W_hh laid out for the step loop
    xp   = Projection(cell, ..., prep).forward(x)  # XP = x @ W_ih^T + b, internal gate order
    fw   = cell.forward(xp, state0, prep, mask, rm)  # Forward(y, final, cache); rm: dropout
    bw   = cell.backward(dy, fw.cache, prep, mask, t0)  # Backward(dxp, dgh, hprev, dstate)
    dW_hh = dgh^T @ hprev, dW_ih = dxp^T @ x       # ONE GEMM each over all steps (GradRows)

Layout is time-major, ``[T, B, features]``: one step is a contiguous ``[B, features]`` slab. A cell
never sees the layer input itself, only the input pre-activations ``XP`` for the whole window,
and adds the recurrent term step by step. Inside, gates are in the cell's internal order
(``perm_blocks``) and sigmoid gates are evaluated as ``0.5 * tanh(0.5 z) + 0.5`` with the inner
0.5 folded into the internal copies of the weights (``scale``), so one ``tanh`` covers all gates.
A cell with ``gate_major`` set (the LSTM) takes ``XP`` and gives its pre-activation gradients as
``[G, T, B, H]`` instead of ``[T, B, G*H]`` (one gate of one step = one contiguous block).

Recurrent dropout (``rm [B, H]``, engine/dropout.py) multiplies ``h_{t-1}`` where it enters the
recurrent product only; ``Backward.hprev`` is then ``h_{t-1} * rm`` and the recurrent part of
``dh_{t-1}`` is multiplied by ``rm``.

Masked steps (mask ``[T, B]`` False) keep the state: ``h_t = h_{t-1}`` (and ``c_t = c_{t-1}``) for
those rows. :class:`MaskInfo` holds the one implementation of that carry, forward
(:meth:`MaskInfo.hold`) and backward (:meth:`MaskInfo.hold_grad`), used by every cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from . import gemmplan
from .buffers import Workspace, aligned_empty, transpose_into


@dataclass(frozen=True)
class Prep:
    """One layer's recurrent weights laid out for one call's step loop, and where it works.

    ``fwd``: the per-step forward product ``h [B, H] @ W_hh^T`` (internal order, scaled) as
    contiguous column blocks ``[J, H, m]`` (gemmplan), or ``[G, J, H, m]`` for a gate-major cell.
    ``bwd``: the backward product ``d [B, G*H] @ W_hh`` (internal order, unscaled), the same way.
    ``ws``: the layer's workspace (this thread's); everything the cell and the projection
    allocate per call comes from it. ``gate_major``: the layout of ``XP`` and of the
    pre-activation gradients, ``[G, T, B, H]`` if set, else ``[T, B, G*H]``.
    """

    ws: Workspace
    fwd: np.ndarray
    bwd: np.ndarray
    gate_major: bool


class Forward(NamedTuple):
    """What :meth:`Cell.forward` returns.

    ``y``: ``[T, B, H]``, the outputs h_1 .. h_T (a workspace view: copy it to keep it).
    ``final``: the state after step T, fresh arrays: ``h [B, H]``, or ``(h, c)`` for the LSTM.
    ``cache``: the cell's own record for :meth:`Cell.backward` (workspace views, same call only).
    """

    y: np.ndarray
    final: Any
    cache: Any


class Backward(NamedTuple):
    """What :meth:`Cell.backward` returns; gradients are valid on steps ``t0 .. T-1`` only.

    ``dxp``: gradient w.r.t. the input pre-activations ``XP`` (drives dW_ih, db_ih and dx),
    ``[T, B, G*H]`` or gate-major ``[G, T, B, H]``, internal gate order.
    ``dgh``: gradient w.r.t. the recurrent pre-activations ``h_{t-1} @ W_hh^T + b_hh`` (drives
    dW_hh, db_hh), same shape; the same array as ``dxp`` when the two coincide (RNN, LSTM).
    ``hprev``: ``[T, B, H]``, h_{t-1} of every step (the left operand of dW_hh).
    ``dstate``: gradient w.r.t. the initial state (``[B, H]``, or ``(dh0, dc0)`` for the LSTM).
    """

    dxp: np.ndarray
    dgh: np.ndarray
    hprev: np.ndarray
    dstate: Any


class MaskInfo:
    """A time-major mask ``[T, B]`` (None = nothing masked) prepared for the step loops, and the
    state carry of masked steps, shared by all cells. A loop checks :meth:`masked` once per step
    and calls :meth:`hold` / :meth:`hold_grad` only on steps with a masked row."""

    def __init__(self, mask_tb: np.ndarray | None, dtype) -> None:
        if mask_tb is None:
            self.any = False
            self.steps = None
            return
        keep = np.asarray(mask_tb, dtype=bool)
        self.any = not bool(keep.all())
        self.steps = (~keep).any(axis=1)  # step t has at least one masked row
        self.drop = ~keep[:, :, None]  # [T, B, 1] bool, True = masked (state carried)
        self.keep_f = keep[:, :, None].astype(dtype)  # [T, B, 1] 1.0 = computed
        self.drop_f = self.drop.astype(dtype)  # [T, B, 1] 1.0 = carried

    def masked(self, t: int) -> bool:
        """Step ``t`` has at least one masked row."""
        return self.any and bool(self.steps[t])

    def hold(self, t: int, new: np.ndarray, old: np.ndarray) -> None:
        """Forward carry of step ``t``: masked rows of ``new`` (a state ``[B, H]``) get ``old``."""
        np.copyto(new, old, where=self.drop[t])

    def hold_grad(self, t: int, g: np.ndarray) -> np.ndarray:
        """Backward of :meth:`hold` for a state gradient ``g [B, H]`` of step ``t``: returns the
        masked rows' part (it passes unchanged to step t-1: add it to that step's gradient) and
        zeroes those rows in ``g`` (in place; the step's own math sees the unmasked rows only)."""
        carry = g * self.drop_f[t]
        g *= self.keep_f[t]
        return carry


def blocked(right: np.ndarray, batch: int, ws: Workspace, key) -> np.ndarray:
    """``right [K, N]`` as contiguous column blocks ``[J, K, m]`` (width from gemmplan)."""
    K, N = right.shape
    m = gemmplan.block_width(N, batch, K)
    out = ws.get(key, (N // m, K, m), right.dtype)
    np.copyto(out, right.reshape(K, N // m, m).transpose(1, 0, 2))
    return out


def block_out(out: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """View of a ``[B, N]`` product as ``[J, B, m]`` for ``np.matmul(a, blocks, out=...)``."""
    J, _, m = blocks.shape
    return out.reshape(out.shape[0], J, m).transpose(1, 0, 2)


class Cell:
    """Base of every cell: gate layout, the internal (permuted, scaled) copies of the weights, and
    the contract (:meth:`prepare`, :meth:`forward`, :meth:`backward`; see the module doc).

    A subclass sets ``gates`` (G), ``perm_blocks`` (internal block b holds PyTorch gate block
    ``perm_blocks[b]``; None = PyTorch's order), ``n_sigmoid`` (the first n_sigmoid internal
    blocks are sigmoid gates) and ``gate_major``, and implements forward and backward.
    """

    gates: ClassVar[int] = 1
    perm_blocks: ClassVar[tuple[int, ...] | None] = None
    n_sigmoid: ClassVar[int] = 0
    gate_major: ClassVar[bool] = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        self.input_size = input_size
        self.hidden_size = hidden_size
        H, G = hidden_size, self.gates
        order = self.perm_blocks if self.perm_blocks is not None else tuple(range(G))
        # (internal rows, PyTorch rows, scale) per gate block
        self.blocks = [(slice(b * H, (b + 1) * H), slice(tb * H, (tb + 1) * H),
                        0.5 if b < self.n_sigmoid else 1.0) for b, tb in enumerate(order)]

    # -- the contract ---------------------------------------------------------------------------
    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1,
                ws: Workspace | None = None) -> Prep:
        """``W_hh`` (``[G*H, H]``, PyTorch order) laid out for the per-step products of a batch of
        ``batch`` rows (see :class:`Prep`). This default, for batch-major cells: forward blocks of
        ``W_hh^T`` (internal, scaled), backward blocks of ``W_hh`` (internal, unscaled), each
        ``[J, K, m]``; :func:`block_out` gives the matching view of a ``[B, N]`` product."""
        ws = ws if ws is not None else Workspace()  # reused buffers: fresh ones page-fault
        wT = self.internal_T_scaled(w_hh, ws.get("wT", w_hh.shape[::-1], w_hh.dtype))  # [H, GH]
        w_int = w_hh if self.perm_blocks is None else self.to_internal(w_hh)  # blocked() copies
        return Prep(ws, blocked(wT, batch, ws, "wfwd"), blocked(w_int, batch, ws, "wbwd"),
                    self.gate_major)

    def forward(self, xp: np.ndarray, state0: Any, prep: Prep, mi: MaskInfo,
                rm: np.ndarray | None = None) -> Forward:
        """Run the window: ``xp`` the input pre-activations (internal order, scaled; ``[T, B, G*H]``
        or ``[G, T, B, H]``, may be overwritten), ``state0`` the state before step 0, ``rm`` the
        recurrent dropout mask ``[B, H]`` (None = off): ``h_{t-1} * rm`` enters the recurrent
        product, the state carried is ``h_{t-1}`` itself."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray, cache: Any, prep: Prep, mi: MaskInfo, t0: int) -> Backward:
        """Back through steps ``T-1 .. t0`` (state entering step t0 is a constant): ``dy [T, B, H]``
        the gradient w.r.t. the outputs ``y``, ``cache`` from :meth:`forward` of the same call
        (which holds the recurrent dropout mask, if any: ``hprev`` then is ``h_{t-1} * rm``, as
        the forward computed it: :meth:`dropped`)."""
        raise NotImplementedError

    @staticmethod
    def dropped(rm: np.ndarray | None, T: int, prep: Prep, dtype) -> np.ndarray | None:
        """With recurrent dropout, the window's buffer ``[T, B, H]`` for ``h_{t-1} * rm`` of every
        step: the step loop writes step t's product there, and the backward hands it over as
        ``Backward.hprev`` (what entered the recurrent product: the left operand of dW_hh)."""
        return None if rm is None else prep.ws.get("h_rm", (T,) + rm.shape, dtype)

    def zero_state(self, batch: int, dtype) -> Any:
        """The all-zero state of this layer: ``h [B, H]`` (``(h, c)`` for cells with a cell state)."""
        return np.zeros((batch, self.hidden_size), dtype)

    # -- weight layout (block slices: memcpy-speed, no fancy indexing) -------------------------
    def to_internal(self, a: np.ndarray) -> np.ndarray:
        """PyTorch gate order -> internal gate order along axis 0 (a copy)."""
        out = aligned_empty(a.shape, a.dtype)
        if self.perm_blocks is None:
            out[...] = a
            return out
        for bi, bt, _ in self.blocks:
            out[bi] = a[bt]
        return out

    def scaled(self, a_int: np.ndarray) -> np.ndarray:
        """Fold the 0.5 of sigmoid-via-tanh into internal rows (in place, returns a)."""
        if self.n_sigmoid:
            a_int[: self.n_sigmoid * self.hidden_size] *= 0.5
        return a_int

    def internal_T_scaled(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``[In, GH]`` contiguous: PyTorch-order ``w [GH, In]`` permuted, scaled and transposed
        in one pass (a row-major right operand is the fastest GEMM layout here)."""
        if out is None:
            out = aligned_empty((w.shape[1], w.shape[0]), w.dtype)
        for bi, bt, sc in self.blocks:
            transpose_into(out[:, bi], w[bt], sc)
        return out

    def to_torch_into(self, g_int: np.ndarray, out: np.ndarray) -> None:
        """out (PyTorch order) += internal-order gradient g_int."""
        if self.perm_blocks is None:
            out += g_int
            return
        for bi, bt, _ in self.blocks:
            out[bt] += g_int[bi]

    def input_bias(self, b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
        """Internal, scaled bias added to the input projection."""
        return self.scaled(self.to_internal(b_ih + b_hh))
