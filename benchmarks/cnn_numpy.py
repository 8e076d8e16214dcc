"""W2's CNN training step written by hand in NumPy: im2col convolutions, argmax pooling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.models import CNNShape, sgd, softmax_xent


def im2col(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N*H*W, C*9): the 3x3 patches of x zero-padded by 1."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)


def conv(x: np.ndarray, k: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 cross-correlation, stride 1, padding 1 (NCHW, OIHW) plus bias; also returns im2col."""
    n, _, h, w = x.shape
    cols = im2col(x)
    out = cols @ k.reshape(len(k), -1).T
    out += b
    return out.reshape(n, h, w, len(k)).transpose(0, 3, 1, 2), cols


def conv_grad(g: np.ndarray, cols: np.ndarray, k: np.ndarray, x_shape: tuple[int, ...],
              need_dx: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of conv w.r.t. the kernel, the bias and (optionally) the input."""
    n, c, h, w = x_shape
    gf = g.transpose(0, 2, 3, 1).reshape(n * h * w, len(k))
    dk = (gf.T @ cols).reshape(k.shape)
    if not need_dx:
        return dk, gf.sum(0), None
    dcols = (gf @ k.reshape(len(k), -1)).reshape(n, h, w, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, w + 2), g.dtype)
    for i in range(3):  # col2im: scatter each kernel tap back onto the padded input
        for j in range(3):
            dxp[:, :, i:i + h, j:j + w] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dk, gf.sum(0), dxp[:, :, 1:-1, 1:-1]


def _windows(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        n, c, h // 2, w // 2, 4)


def pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max pooling, stride 2; also returns the argmax of each window."""
    v = _windows(x)
    idx = v.argmax(axis=-1)
    return np.take_along_axis(v, idx[..., None], axis=-1)[..., 0], idx


def pool_grad(g: np.ndarray, idx: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """Route each window's gradient to its (first) maximum."""
    n, c, h, w = x_shape
    d = np.zeros((n, c, h // 2, w // 2, 4), g.dtype)
    np.put_along_axis(d, idx[..., None], g[..., None], axis=-1)
    return d.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)


def cnn_step(init: list[np.ndarray], x: np.ndarray, y: np.ndarray, s: CNNShape) -> Callable:
    """Forward and backward by hand, SGD in place; returns step() -> loss."""
    ps = [p.copy() for p in init]
    k1, c1, k2, c2, w3, b3, w4, b4 = ps

    def step() -> np.float32:
        z1, cols1 = conv(x, k1, c1)
        a1 = np.maximum(z1, 0)
        p1, i1 = pool(a1)
        z2, cols2 = conv(p1, k2, c2)
        a2 = np.maximum(z2, 0)
        p2, i2 = pool(a2)
        f = p2.reshape(len(x), -1)
        a3 = np.maximum(f @ w3 + b3, 0)
        loss, g4 = softmax_xent(a3 @ w4 + b4, y)
        g3 = (g4 @ w4.T) * (a3 > 0)
        dp2 = (g3 @ w3.T).reshape(p2.shape)
        da2 = pool_grad(dp2, i2, a2.shape) * (a2 > 0)
        dk2, dc2, dp1 = conv_grad(da2, cols2, k2, p1.shape, need_dx=True)
        da1 = pool_grad(dp1, i1, a1.shape) * (a1 > 0)
        dk1, dc1, _ = conv_grad(da1, cols1, k1, x.shape, need_dx=False)
        sgd(ps, [dk1, dc1, dk2, dc2, f.T @ g3, g3.sum(0), a3.T @ g4, g4.sum(0)])
        return loss

    return step
