"""NumPy reference kernels for conv2d and 2-D pooling (NCHW), vectorized through im2col.

Windows are strided views (sliding_window_view, no copy) that BLAS contracts through
tensordot; the backward scatters loop over kernel taps (KH*KW iterations of whole-tensor
adds), never over pixels.
"""

from __future__ import annotations

from collections.abc import Iterator

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


def _scatter(cols: np.ndarray, hw: Pair, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    """Inverse of _windows: add cols [N, C, OH, OW, KH, KW] into an [N, C, H, W] image."""
    n, c, oh, ow, kh, kw = cols.shape
    out = np.zeros((n, c, hw[0] + 2 * p[0], hw[1] + 2 * p[1]), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * d[0], i * d[0] + s[0] * (oh - 1) + 1, s[0])
            cs = slice(j * d[1], j * d[1] + s[1] * (ow - 1) + 1, s[1])
            out[:, :, rows, cs] += cols[:, :, :, :, i, j]
    return out[:, :, p[0] : p[0] + hw[0], p[1] : p[1] + hw[1]]


def _groups(a: np.ndarray, b: np.ndarray, groups: int, axis_a: int, axis_b: int) -> Iterator:
    return zip(np.split(a, groups, axis_a), np.split(b, groups, axis_b), strict=True)


def conv2d(x, w, stride: Pair, padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Cross-correlation of x [N, C, H, W] with w [O, C/groups, KH, KW]."""
    cols = _windows(_pad(x, padding), w.shape[2:], stride, dilation)
    parts = [
        np.tensordot(c, k, axes=([1, 4, 5], [1, 2, 3])) for c, k in _groups(cols, w, groups, 1, 0)
    ]
    out = np.concatenate(parts, axis=3) if groups > 1 else parts[0]  # [N, OH, OW, O]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=x.dtype)


def conv2d_input_grad(gy, w, stride, padding, dilation, groups, input_size) -> np.ndarray:
    """Gradient of conv2d w.r.t. its input (a transposed convolution)."""
    parts = [np.tensordot(g, k, axes=([1], [0])) for g, k in _groups(gy, w, groups, 1, 0)]
    cols = np.concatenate(parts, axis=3) if groups > 1 else parts[0]  # [N, OH, OW, C, KH, KW]
    gx = _scatter(cols.transpose(0, 3, 1, 2, 4, 5), input_size, stride, padding, dilation)
    return np.ascontiguousarray(gx, dtype=gy.dtype)


def conv2d_weight_grad(x, gy, stride, padding, dilation, groups, kernel_size) -> np.ndarray:
    """Gradient of conv2d w.r.t. its weights."""
    cols = _windows(_pad(x, padding), kernel_size, stride, dilation)
    pairs = _groups(gy, cols, groups, 1, 1)
    parts = [np.tensordot(g, c, axes=([0, 2, 3], [0, 2, 3])) for g, c in pairs]
    return np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=x.dtype)


def max_pool2d(x, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Max over each window; padding never wins (it is -inf)."""
    v = _windows(_pad(x, padding, -np.inf), kernel_size, stride, _ONE)
    return np.ascontiguousarray(v.max(axis=(4, 5)))


def max_pool2d_grad(x, gy, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Routes each window's gradient to its first maximum (as PyTorch does)."""
    v = _windows(_pad(x, padding, -np.inf), kernel_size, stride, _ONE)
    n, c, oh, ow, kh, kw = v.shape
    first = v.reshape(n, c, oh, ow, kh * kw).argmax(axis=-1)
    hit = first[..., None] == np.arange(kh * kw)
    cols = np.where(hit, gy[..., None], gy.dtype.type(0)).reshape(v.shape)
    return np.ascontiguousarray(_scatter(cols, x.shape[2:], stride, padding, _ONE))


def avg_pool2d(x, kernel_size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Mean over each window, zero padding included in the count (PyTorch's default)."""
    v = _windows(_pad(x, padding), kernel_size, stride, _ONE)
    return np.ascontiguousarray(v.mean(axis=(4, 5), dtype=x.dtype))


def avg_pool2d_grad(gy, kernel_size: Pair, stride: Pair, padding: Pair, input_size: Pair):
    """Spreads each window's gradient evenly over the window."""
    share = gy / gy.dtype.type(kernel_size[0] * kernel_size[1])
    cols = np.broadcast_to(share[..., None, None], share.shape + tuple(kernel_size))
    return np.ascontiguousarray(_scatter(cols, input_size, stride, padding, _ONE))
