"""The vectorized tile kernels of max_pool2d and its gradient (kernel == stride, no padding).

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


def _reference(x: np.ndarray, gy: np.ndarray, k: tuple[int, int]) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    y, gx = np.zeros(gy.shape, x.dtype), np.zeros(x.shape, x.dtype)
    for n, c, i, j in np.ndindex(*gy.shape):
        win = x[n, c, i * k[0]:(i + 1) * k[0], j * k[1]:(j + 1) * k[1]].ravel()
        nan = np.flatnonzero(np.isnan(win))
        t = int(nan[0]) if nan.size else int(np.argmax(win))
        y[n, c, i, j] = win[t]
        gx[n, c, i * k[0] + t // k[1], j * k[1] + t % k[1]] = gy[n, c, i, j]
    return y, gx


def _inputs(shape: tuple[int, ...], k: tuple[int, int], dtype: str, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(dtype)  # few distinct values: ties everywhere
    x[rng.random(shape) < 0.02] = np.nan
    gy = rng.standard_normal((shape[0], shape[1], shape[2] // k[0], shape[3] // k[1]))
    return x, gy.astype(dtype)


def _run(x: np.ndarray, gy0: np.ndarray, k: tuple[int, int], threads: int) -> list[np.ndarray]:
    with gc.Graph("pool"):
        xs = gc.placeholder("x", x.shape, str(x.dtype))
        gy = gc.placeholder("gy", gy0.shape, str(x.dtype))
        y = gc.max_pool2d(xs, k)
        gx = gc.grad(gc.sum(y * gy), xs)
        fn = gc.function([xs, gy], [y, gx], backend="llvm", threads=threads)
    return fn(x, gy0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "k"), SHAPES)
def test_tile_pool_matches_the_window_reference(shape: tuple[int, ...], k: tuple[int, int],
                                                dtype: str) -> None:
    x, gy = _inputs(shape, k, dtype, seed=sum(shape))
    want_y, want_gx = _reference(x, gy, k)
    y, gx = _run(x, gy, k, threads=1)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(gx, want_gx)


def test_tile_pool_is_bit_identical_on_one_and_two_threads() -> None:
    x, gy = _inputs((6, 4, 28, 28), (2, 2), "float32", seed=1)
    one, two = _run(x, gy, (2, 2), 1), _run(x, gy, (2, 2), 2)
    for a, b in zip(one, two, strict=True):
        assert a.tobytes() == b.tobytes()
