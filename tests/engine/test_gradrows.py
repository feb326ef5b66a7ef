"""GradRows gives the same whole-window products for a gradient in either layout."""

import numpy as np
import pytest

from rnn_spark.engine.gradrows import GradRows


@pytest.mark.parametrize("t0", [0, 2])
def test_layouts_agree(t0):
    rng = np.random.default_rng(0)
    G, T, B, H, X, K = 4, 5, 3, 6, 7, 2
    gm = rng.standard_normal((G, T, B, H))
    bm = np.ascontiguousarray(gm.transpose(1, 2, 0, 3)).reshape(T, B, G * H)  # [T, B, G*H]
    a, b = GradRows(gm, t0, True), GradRows(bm, t0, False)
    N = (T - t0) * B
    assert a.n == b.n == N and a.GH == b.GH == G * H
    d2 = bm[t0:].reshape(N, G * H)
    m = rng.standard_normal((K, N))
    x = rng.standard_normal((N, X))
    w = rng.standard_normal((G * H, X))
    for r in (a, b):
        np.testing.assert_allclose(r.left(m), m @ d2, rtol=1e-12)
        np.testing.assert_allclose(r.rowsum(), d2.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(r.t_at(x), d2.T @ x, rtol=1e-12)
        out = np.empty(G * H * X)
        got = r.t_at(x, out=out)
        np.testing.assert_allclose(got, d2.T @ x, rtol=1e-12)
        assert np.shares_memory(got, out)
        np.testing.assert_allclose(r.at(w), d2 @ w, rtol=1e-12)
        o2 = np.empty((N, X))
        r.at(w, out=o2)
        np.testing.assert_allclose(o2, d2 @ w, rtol=1e-12)
