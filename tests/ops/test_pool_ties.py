"""max_pool2d with tied windows: the first maximum (row-major) wins, as in PyTorch.

The catalogue's random inputs have no ties, so this pins the rule with windows full of equal
values, on both backends, against gradients written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY

BACKENDS = ["numpy", "llvm"]


def _img(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, np.float32)[None, None]


# (x, pooling attrs, gy, expected gx): each gx entry reasoned out window by window
TIES = {
    # 2x2 windows, stride 2 (the llvm fast path): [1,1/1,0] -> (0,0); [2,0/2,2] -> (0,2);
    # all 3 -> (2,0); all 5 -> (2,2)
    "tiled": (_img([[1, 1, 2, 0], [1, 0, 2, 2], [3, 3, 5, 5], [3, 3, 5, 5]]),
              {"kernel_size": 2, "stride": 2, "padding": 0},
              _img([[10, 20], [30, 40]]),
              _img([[10, 0, 20, 0], [0, 0, 0, 0], [30, 0, 40, 0], [0, 0, 0, 0]])),
    # overlapping 2x2 windows, stride 1, all equal: window (i, j) picks its corner (i, j)
    "overlapping": (_img([[1, 1, 1], [1, 1, 1], [1, 1, 1]]),
                    {"kernel_size": 2, "stride": 1, "padding": 0},
                    _img([[1, 2], [3, 4]]),
                    _img([[1, 2, 0], [3, 4, 0], [0, 0, 0]])),
    # 3x3 windows, stride 1, padding 1, all -1: padding never wins; window (i, j) picks its
    # first real tap (max(i-1, 0), max(j-1, 0)). gy = 1..9: (0,0) gets windows (0,0), (0,1),
    # (1,0), (1,1) = 1+2+4+5; (0,1) gets (0,2), (1,2) = 3+6; (1,0) gets (2,0), (2,1) = 7+8;
    # (1,1) gets (2,2) = 9
    "padded": (_img([[-1, -1, -1], [-1, -1, -1], [-1, -1, -1]]),
               {"kernel_size": 3, "stride": 1, "padding": 1},
               _img([[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
               _img([[12, 9, 0], [15, 9, 0], [0, 0, 0]])),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", sorted(TIES))
def test_tied_windows_send_the_gradient_to_the_first_maximum(label: str, backend: str) -> None:
    x0, attrs, gy0, want = TIES[label]
    with gc.Graph("ties"):
        x = gc.placeholder("x", x0.shape)
        gy = gc.placeholder("gy", gy0.shape)
        y = gc.max_pool2d(x, attrs["kernel_size"], attrs["stride"], attrs["padding"])
        gx = gc.grad(gc.sum(y * gy), x)
        fn = gc.function([x, gy], [y, gx], backend=backend)
    y_got, gx_got = fn(x0, gy0)
    np.testing.assert_array_equal(y_got, np.full(gy0.shape, x0.max()) if label != "tiled"
                                  else _img([[1, 2], [3, 5]]))
    np.testing.assert_array_equal(gx_got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", sorted(TIES))
def test_gather_reads_at_the_first_maximum(label: str, backend: str) -> None:
    """max_pool2d_gather, the transpose: out[w] = g at window w's first maximum."""
    x0, attrs, gy0, want_gx = TIES[label]
    g0 = np.arange(x0.size, dtype=np.float32).reshape(x0.shape) + 1
    with gc.Graph("gather"):
        x = gc.placeholder("x", x0.shape)
        g = gc.placeholder("g", g0.shape)
        out = apply(REGISTRY["max_pool2d_gather"], x, g, **attrs)
        fn = gc.function([x, g], out, backend=backend, passes=[])
    got = fn(x0, g0)
    # the transpose identity: <gather(g), gy> == <g, grad(gy)> for the hand-written grad
    np.testing.assert_allclose(np.sum(got * gy0), np.sum(g0 * want_gx))
    assert got.shape == gy0.shape
