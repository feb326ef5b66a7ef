"""How a per-step recurrent product ``[B, K] @ [K, N]`` is cut into column blocks.

OpenBLAS (SkylakeX/Zen 4 kernels) runs a GEMM with ``M * N * K <= 100^3`` through its small-matrix
kernel, which reads the operands in place instead of packing them first. With a batch of 32 the
recurrent products of an LSTM are above that size, so every step packed the whole recurrent weight
matrix again. Cut into equal column blocks of at most ``SMALL_MNK`` multiply-adds each (the weight
blocks stored contiguous, stacked ``[J, K, width]``) and run as ONE batched ``np.matmul``, the same
product is 30-55% faster (measured, one thread, B=32, forward per gate and block: [32,256] x
[256,1024] 152 -> 69 us, [32,128] x [128,512] 27 -> 17 us, [32,512] x [512,2048] 593 -> 278 us).
With kernels that have no small-matrix path (``OPENBLAS_CORETYPE=Haswell``) the blocks cost
about the same as the whole product (64 wide: 8% faster at H=128/256; 32 wide: 2% slower at 512).

The plan depends on shapes only, so every process of a run computes the same products in the
same order (bitwise repeatable).
"""

from __future__ import annotations

SMALL_MNK = 1_000_000  # OpenBLAS's small-matrix limit for sgemm/dgemm on x86_64 (M*N*K <= 100^3)
ALIGN = 32  # block widths are multiples of this (narrower blocks measured slower) ...
MAX_WIDTH = 64  # ... and at most this (wider ones measured slower, even when small enough)


def block_width(n: int, batch: int, k: int) -> int:
    """Width of equal column blocks for ``[batch, k] @ [k, n]``: the widest multiple of ``ALIGN``
    up to ``MAX_WIDTH`` that divides ``n`` and keeps each block product within ``SMALL_MNK``;
    ``n`` (one block) when there is none."""
    m = min(MAX_WIDTH, SMALL_MNK // max(1, batch * k))
    m -= m % ALIGN
    while m >= ALIGN:
        if n % m == 0:
            return m
        m -= ALIGN
    return n
