"""The vectorized kernels of max_pool2d and its gradient: tiles (kernel == stride, no padding)
and general windows (any stride, padding, overlap).

Against a NumPy reference written out window by window (first maximum in row-major order wins,
NaN counts as the largest value), on shapes that exercise the vector steps: rows narrower than
a vector, several steps with a partial last one, leftover rows and columns no tile covers,
non-square tiles, batch 1, float64; inputs with many ties and some NaNs. Exact equality: the
kernels only select and add 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

# (x shape, kernel): OW = 1, 7, 14, 16, 17, 33 outputs per row; leftover rows/columns
SHAPES = [
    ((1, 1, 2, 2), (2, 2)),
    ((2, 3, 14, 14), (2, 2)),
    ((1, 2, 28, 29), (2, 2)),
    ((3, 1, 5, 32), (2, 2)),
    ((1, 2, 7, 35), (2, 2)),
    ((2, 2, 9, 99), (3, 3)),
    ((1, 3, 8, 33), (1, 1)),
    ((2, 1, 6, 51), (2, 3)),
    ((1, 1, 9, 20), (3, 1)),
]


# (x shape, kernel, stride, padding): overlapping, strided, padded, gapped windows
WINDOWS = [
    ((1, 1, 5, 5), (3, 3), (2, 2), (1, 1)),
    ((2, 3, 17, 17), (3, 3), (2, 2), (1, 1)),
    ((1, 2, 9, 40), (3, 3), (1, 1), (1, 1)),
    ((1, 1, 12, 67), (2, 3), (1, 2), (0, 1)),
    ((2, 1, 8, 30), (2, 2), (3, 3), (0, 0)),
    ((1, 2, 6, 35), (3, 2), (2, 1), (1, 0)),
]


def _reference(x: np.ndarray, gy: np.ndarray, k: tuple[int, int],
               stride: tuple[int, int] | None = None,
               padding: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Window by window in (n, c, oh, ow) order; padding reads -inf and never takes a gradient."""
    s = stride or k
    pad = ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2)
    xp = np.pad(x, pad, constant_values=-np.inf)
    y, gxp = np.zeros(gy.shape, x.dtype), np.zeros(xp.shape, x.dtype)
    for n, c, i, j in np.ndindex(*gy.shape):
        win = xp[n, c, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].ravel()
        nan = np.flatnonzero(np.isnan(win))
        t = int(nan[0]) if nan.size else int(np.argmax(win))
        y[n, c, i, j] = win[t]
        gxp[n, c, i * s[0] + t // k[1], j * s[1] + t % k[1]] += gy[n, c, i, j]
    return y, gxp[:, :, padding[0]:padding[0] + x.shape[2], padding[1]:padding[1] + x.shape[3]]


def _inputs(shape: tuple[int, ...], out_hw: tuple[int, int], dtype: str, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(dtype)  # few distinct values: ties everywhere
    x[rng.random(shape) < 0.02] = np.nan
    x[rng.random(shape) < 0.02] = -np.inf  # ties with the padding
    gy = rng.standard_normal((shape[0], shape[1], *out_hw))
    return x, gy.astype(dtype)


def _tiled(shape: tuple[int, ...], k: tuple[int, int]) -> tuple[int, int]:
    return shape[2] // k[0], shape[3] // k[1]


def _run(x: np.ndarray, gy0: np.ndarray, k: tuple[int, int], threads: int,
         stride: tuple[int, int] | None = None, padding: tuple[int, int] = (0, 0),
         ) -> list[np.ndarray]:
    with gc.Graph("pool"):
        xs = gc.placeholder("x", x.shape, str(x.dtype))
        gy = gc.placeholder("gy", gy0.shape, str(x.dtype))
        y = gc.max_pool2d(xs, k, stride, padding)
        gx = gc.grad(gc.sum(y * gy), xs)
        fn = gc.function([xs, gy], [y, gx], backend="llvm", threads=threads)
    return fn(x, gy0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "k"), SHAPES)
def test_tile_pool_matches_the_window_reference(shape: tuple[int, ...], k: tuple[int, int],
                                                dtype: str) -> None:
    x, gy = _inputs(shape, _tiled(shape, k), dtype, seed=sum(shape))
    want_y, want_gx = _reference(x, gy, k)
    y, gx = _run(x, gy, k, threads=1)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(gx, want_gx)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "k", "stride", "padding"), WINDOWS)
def test_window_pool_matches_the_window_reference(shape: tuple[int, ...], k: tuple[int, int],
                                                  stride: tuple[int, int],
                                                  padding: tuple[int, int], dtype: str) -> None:
    """Exact too: several windows adding into one input do so in the reference's order."""
    out_hw = tuple((shape[2 + d] + 2 * padding[d] - k[d]) // stride[d] + 1 for d in (0, 1))
    x, gy = _inputs(shape, out_hw, dtype, seed=sum(shape))
    x[..., 1::3, 2::4] = 7.0  # maxima shared by up to four overlapping windows
    want_y, want_gx = _reference(x, gy, k, stride, padding)
    y, gx = _run(x, gy, k, 1, stride, padding)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(gx, want_gx)


@pytest.mark.parametrize(("k", "stride", "padding"), [((2, 2), None, (0, 0)),
                                                      ((3, 3), (2, 2), (1, 1))])
def test_pool_is_bit_identical_on_one_and_two_threads(k: tuple[int, int], stride, padding) -> None:
    x, gy = _inputs((6, 4, 28, 28), (14, 14), "float32", seed=1)
    one, two = _run(x, gy, k, 1, stride, padding), _run(x, gy, k, 2, stride, padding)
    for a, b in zip(one, two, strict=True):
        assert a.tobytes() == b.tobytes()
