"""W2's CNN training step in the peer systems (PyTorch, JAX, PyTensor); imports are lazy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.hostinfo import require
from benchmarks.mlp_peers import (
    Step,
    jax_training,
    jax_xent,
    pytensor_training,
    pytensor_xent,
    torch_training,
)


def _torch_loss(torch: Any) -> Callable:
    f = torch.nn.functional

    def loss_fn(x: Any, y: Any, k1: Any, c1: Any, k2: Any, c2: Any, w3: Any, b3: Any, w4: Any,
                b4: Any) -> Any:
        h = f.max_pool2d(torch.relu(f.conv2d(x, k1, c1, padding=1)), 2)
        h = f.max_pool2d(torch.relu(f.conv2d(h, k2, c2, padding=1)), 2)
        h = torch.relu(torch.addmm(b3, h.flatten(1), w3))
        return f.cross_entropy(torch.addmm(b4, h, w4), y)

    return loss_fn


def torch_eager(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """PyTorch eager mode (oneDNN convolutions)."""
    return torch_training(_torch_loss(require("torch")), init, (x, y))


def torch_compiled(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """torch.compile of the loss."""
    torch = require("torch")
    return torch_training(torch.compile(_torch_loss(torch)), init, (x, y))


def _jax_block(jax: Any, h: Any, k: Any, b: Any) -> Any:
    lax = jax.lax
    z = lax.conv_general_dilated(h, k, (1, 1), ((1, 1), (1, 1)),
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"))
    a = jax.nn.relu(z + b[None, :, None, None])
    return lax.reduce_window(a, -np.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def jax_cnn(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """JAX jit of the whole step (lax.conv_general_dilated, reduce_window max)."""
    jax = require("jax")

    def loss_fn(p: list, xb: Any, yb: Any) -> Any:
        h = _jax_block(jax, _jax_block(jax, xb, p[0], p[1]), p[2], p[3])
        h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p[4] + p[5])
        return jax_xent(jax, h @ p[6] + p[7], yb)

    return jax_training(loss_fn, init, x, y)


def _pt_block(pt: Any, h: Any, k: Any, b: Any, side: int) -> Any:
    """conv3x3 pad 1 as im2col of nine shifted slices and a tensordot, relu, 2x2 max pool.

    PyTensor has no NCHW conv2d op any more, so this is how its users write a conv layer.
    """
    o, c = k.get_value(borrow=True).shape[:2]  # k is a shared variable: use its static sizes
    # pt.pad returns float64 for float32 input (PyTensor 2.38), so pad by writing into zeros.
    hp = pt.zeros((h.shape[0], c, side + 2, side + 2), dtype="float32")
    hp = pt.set_subtensor(hp[:, :, 1:-1, 1:-1], h)
    taps = [hp[:, :, i:i + side, j:j + side] for i in range(3) for j in range(3)]
    patches = pt.stack(taps, axis=2).reshape((h.shape[0], c * 9, side, side))
    z = pt.tensordot(k.reshape((o, c * 9)), patches, axes=[[1], [1]]).dimshuffle(1, 0, 2, 3)
    a = pt.maximum(z + b.dimshuffle("x", 0, "x", "x"), 0)
    half = side // 2
    return a.reshape((h.shape[0], o, half, 2, half, 2)).max(axis=(3, 5))


def pytensor_cnn(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """PyTensor, mode=NUMBA."""
    side = x.shape[-1]

    def loss_fn(pt: Any, p: list, xs: Any, ys: Any) -> Any:
        h = _pt_block(pt, _pt_block(pt, xs, p[0], p[1], side), p[2], p[3], side // 2)
        h = pt.maximum(h.reshape((h.shape[0], -1)) @ p[4] + p[5], 0)
        return pytensor_xent(pt, h @ p[6] + p[7], ys)

    return pytensor_training("NUMBA", loss_fn, init, x, y)


# (row name, builder, note, slow to compile)
BUILDERS: list[tuple[str, Callable[..., Step], str, bool]] = [
    ("PyTorch eager", torch_eager, "torch.optim.SGD(foreach=True)", False),
    ("torch.compile", torch_compiled, "Inductor, default mode; optimizer step eager", True),
    ("JAX jit", jax_cnn, "value_and_grad + SGD in one jit, params donated", False),
    ("PyTensor numba", pytensor_cnn, "mode=NUMBA; conv as im2col + tensordot (no conv op)", True),
]
