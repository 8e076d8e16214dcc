"""layer_norm over the last axis as one op (one row-wise kernel), and its gradient as one op.

As compositions the forward and backward of a layer norm became about a dozen kernels; here a
row is read twice forward (mean and variance, then the output) and three times backward.
``layer_norm`` has no weight or bias: the affine part is ordinary elementwise ops around it.
"""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import ShapeError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ops._cost import per_element
from graphc.ops._rules import FLOAT, require_dtype

__all__ = ["layer_norm", "layer_norm_grad"]

_EPS = {"eps": AttrSpec("float", 1e-5)}


def _rule(in_types, attrs):
    for t in in_types:
        require_dtype(t, FLOAT)
    x = in_types[-1]
    if x.rank == 0:
        raise ShapeError("layer_norm normalizes the last axis; got a scalar")
    if any(t != x for t in in_types):
        raise ShapeError(f"layer_norm_grad operands must share one type, got "
                         f"{', '.join(str(t) for t in in_types)}")
    return [x]


def _normalized(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(y, rstd): x centered and scaled to unit variance per row of the last axis."""
    centered = x - x.mean(axis=-1, keepdims=True)
    var = (centered * centered).mean(axis=-1, keepdims=True)
    rstd = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    return centered * rstd, rstd


def _grad_kernel(g: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    # d/dx of (x - mean) * rstd, applied to g: rstd * (g - mean(g) - y * mean(g * y))
    y, rstd = _normalized(x, eps)
    mg = g.mean(axis=-1, keepdims=True)
    mgy = (g * y).mean(axis=-1, keepdims=True)
    return rstd * (g - mg - y * mgy)


layer_norm = register(OpDef(
    "layer_norm", "nn", _rule, lambda x, eps: _normalized(x, eps)[0], attrs=_EPS,
    vjp=lambda e, node, gouts: [e.layer_norm_grad(gouts[0], node.inputs[0],
                                                  eps=node.attrs["eps"])],
    cost=per_element(6),  # sum, subtract, square, sum, subtract, multiply
    doc="(x - mean) / sqrt(var + eps) over the last axis",
))

layer_norm_grad = register(OpDef(
    "layer_norm_grad", "nn", _rule, _grad_kernel, arity=2, attrs=_EPS, differentiable=False,
    cost=per_element(12),  # the forward's statistics again, two more sums, the combination
    doc="the gradient of layer_norm at x for output gradient g (one row-wise kernel)",
))
