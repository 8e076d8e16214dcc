"""NumPy reference kernels for conv2d and 2-D pooling (NCHW), vectorized through im2col.

Windows are strided views (sliding_window_view, no copy) that BLAS contracts through
tensordot; the backward scatters loop over kernel taps (KH*KW iterations of whole-tensor
adds), never over pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pair = tuple[int, int]
_ONE: Pair = (1, 1)


def out_size(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output length of a sliding window (PyTorch's floor formula)."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _pad(x: np.ndarray, p: Pair, value: float = 0.0) -> np.ndarray:
    if p == (0, 0):
        return x
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


def _windows(xp: np.ndarray, k: Pair, s: Pair, d: Pair) -> np.ndarray:
    """View [N, C, OH, OW, KH, KW] of the windows of padded ``xp``."""
    span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    v = sliding_window_view(xp, span, axis=(2, 3))
    return v[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]


def _im2col(x: np.ndarray, k: Pair, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    """Windows as a [C*KH*KW, N*OH*OW] matrix; rows are channel-major, so groups are blocks."""
    v = _windows(_pad(x, p), k, s, d)
    n, c, oh, ow, kh, kw = v.shape
    # one copy whose inner loop runs along OW (contiguous rows), not along the tiny KW
    return np.ascontiguousarray(v.transpose(1, 4, 5, 0, 2, 3)).reshape(c * kh * kw, n * oh * ow)


def _tap(i: int, j: int, s: Pair, d: Pair, oh: int, ow: int) -> tuple[slice, slice]:
    """Where kernel tap (i, j) reads in the padded image, for every output position."""
    rows = slice(i * d[0], i * d[0] + s[0] * (oh - 1) + 1, s[0])
    return rows, slice(j * d[1], j * d[1] + s[1] * (ow - 1) + 1, s[1])


def _col2im(taps: Callable[[int, int], np.ndarray], lead: tuple, k: Pair, out_hw: Pair,
            hw: Pair, s: Pair, p: Pair, d: Pair, dtype: np.dtype) -> np.ndarray:
    """Adds taps(i, j) [*lead, OH, OW] into a [*lead, H, W] image at each tap's positions."""
    out = np.zeros((*lead, hw[0] + 2 * p[0], hw[1] + 2 * p[1]), dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out[(..., *_tap(i, j, s, d, *out_hw))] += taps(i, j)
    return out[..., p[0] : p[0] + hw[0], p[1] : p[1] + hw[1]]


def _blocks(m: np.ndarray, groups: int) -> list[np.ndarray]:
    return np.split(m, groups, axis=0)


def _out_hw(hw: tuple, k: Pair, s: Pair, p: Pair, d: Pair) -> Pair:
    return out_size(hw[0], k[0], s[0], p[0], d[0]), out_size(hw[1], k[1], s[1], p[1], d[1])


def _gy_matrix(gy: np.ndarray) -> np.ndarray:
    """[N, O, OH, OW] -> [O, N*OH*OW], the layout the GEMMs want."""
    return np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(gy.shape[1], -1)


def conv2d(x, w, stride: Pair, padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Cross-correlation of x [N, C, H, W] with w [O, C/groups, KH, KW]."""
    k = w.shape[2:]
    cols = _im2col(x, k, stride, padding, dilation)
    wm = w.reshape(w.shape[0], -1)
    out = np.concatenate([a @ b for a, b in zip(_blocks(wm, groups), _blocks(cols, groups),
                                                  strict=True)])
    oh, ow = _out_hw(x.shape[2:], k, stride, padding, dilation)
    out = out.reshape(w.shape[0], x.shape[0], oh, ow).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out, dtype=x.dtype)


def conv2d_input_grad(gy, w, stride, padding, dilation, groups, input_size) -> np.ndarray:
    """Gradient of conv2d w.r.t. its input (a transposed convolution)."""
    g = _gy_matrix(gy)
    wm = w.reshape(w.shape[0], -1)
    # a contiguous copy of the small transposed weight: OpenBLAS multiplies a transposed
    # view here up to 30x slower (measured)
    pairs = zip(_blocks(wm, groups), _blocks(g, groups), strict=True)
    cols = np.concatenate([np.ascontiguousarray(a.T) @ b for a, b in pairs])
    n, (oh, ow), k = gy.shape[0], gy.shape[2:], w.shape[2:]
    cols = cols.reshape(-1, k[0], k[1], n, oh, ow)  # [C, KH, KW, N, OH, OW]
    gx = _col2im(lambda i, j: cols[:, i, j], (cols.shape[0], n), k, (oh, ow), input_size,
                 stride, padding, dilation, gy.dtype)
    return np.ascontiguousarray(gx.transpose(1, 0, 2, 3))


def conv2d_weight_grad(x, gy, stride, padding, dilation, groups, kernel_size) -> np.ndarray:
    """Gradient of conv2d w.r.t. its weights."""
    cols = _im2col(x, kernel_size, stride, padding, dilation)
    g = _gy_matrix(gy)
    gw = np.concatenate([a @ b.T for a, b in zip(_blocks(g, groups), _blocks(cols, groups),
                                                   strict=True)])
    return np.ascontiguousarray(gw.reshape(gy.shape[1], -1, *kernel_size), dtype=x.dtype)


def _pool_taps(x: np.ndarray, k: Pair, s: Pair, p: Pair, fill: float):
    """(padded x, output size, tap(i, j) -> the [N, C, OH, OW] values tap (i, j) sees)."""
    xp = _pad(x, p, fill)
    ohw = _out_hw(x.shape[2:], k, s, p, _ONE)
    return ohw, lambda i, j: xp[(..., *_tap(i, j, s, _ONE, *ohw))]


def max_pool2d(x, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Max over each window; padding never wins (it is -inf)."""
    _, tap = _pool_taps(x, kernel_size, stride, padding, -np.inf)
    out = tap(0, 0).copy()
    for i, j in np.ndindex(*kernel_size):
        np.maximum(out, tap(i, j), out=out)
    return out


def _first_max_taps(x: np.ndarray, k: Pair, s: Pair, p: Pair) -> Iterator:
    """(tap slices, mask of the windows whose first maximum sits at that tap), per tap."""
    ohw, tap = _pool_taps(x, k, s, p, -np.inf)
    best = max_pool2d(x, k, s, p)
    taken = np.zeros(best.shape, bool)
    for i, j in np.ndindex(*k):  # row-major tap order: the first max wins, as in PyTorch
        hit = (tap(i, j) == best) & ~taken
        taken |= hit
        yield (..., *_tap(i, j, s, _ONE, *ohw)), hit


def max_pool2d_grad(x, gy, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Routes each window's gradient to its first maximum."""
    p, zero = padding, gy.dtype.type(0)
    out = np.zeros((*x.shape[:2], x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1]), gy.dtype)
    for where, hit in _first_max_taps(x, kernel_size, stride, padding):
        out[where] += np.where(hit, gy, zero)
    return np.ascontiguousarray(out[..., p[0] : p[0] + x.shape[2], p[1] : p[1] + x.shape[3]])


def max_pool2d_gather(x, gx, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """gx read at each window's first maximum (the transpose of max_pool2d_grad)."""
    gxp, zero = _pad(gx, padding), gx.dtype.type(0)
    out = None
    for where, hit in _first_max_taps(x, kernel_size, stride, padding):
        picked = np.where(hit, gxp[where], zero)
        out = picked if out is None else out + picked
    return np.ascontiguousarray(out)


def avg_pool2d(x, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Mean over each window, zero padding included in the count (PyTorch's default)."""
    _, tap = _pool_taps(x, kernel_size, stride, padding, 0.0)
    out = tap(0, 0).copy()
    for i, j in list(np.ndindex(*kernel_size))[1:]:
        out += tap(i, j)
    return out / x.dtype.type(kernel_size[0] * kernel_size[1])


def avg_pool2d_grad(gy, kernel_size: Pair, stride: Pair, padding: Pair, input_size: Pair):
    """Spreads each window's gradient evenly over the window."""
    share = gy / gy.dtype.type(kernel_size[0] * kernel_size[1])
    return np.ascontiguousarray(_col2im(lambda i, j: share, gy.shape[:2], kernel_size,
                                        gy.shape[2:], input_size, stride, padding, _ONE,
                                        gy.dtype))
