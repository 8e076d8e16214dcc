"""Linear algebra: matmul (NumPy's rules: 1-D operands, batched with broadcast batch dims)."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import ShapeError
from graphc.ir.opdef import OpDef, register
from graphc.ir.types import TensorType, broadcast_shapes
from graphc.ops import _cost
from graphc.ops._rules import NUMERIC, same_dtype
from graphc.ops.shape import fmt

__all__ = ["matmul"]


def _matmul_rule(in_types, attrs) -> list[TensorType]:
    a, b = in_types
    dtype = same_dtype(in_types, NUMERIC)
    if a.rank == 0 or b.rank == 0:
        raise ShapeError("matmul operands need rank >= 1; use mul for scalars")
    ash = a.shape if a.rank > 1 else (1, *a.shape)  # a vector on the left is a row
    bsh = b.shape if b.rank > 1 else (*b.shape, 1)  # and on the right a column
    if ash[-1] != bsh[-2]:
        raise ShapeError(f"contracting dims differ: {ash[-1]} (last of {fmt(a.shape)}) vs "
                         f"{bsh[-2]} (rows of {fmt(b.shape)})")
    try:
        batch = broadcast_shapes(ash[:-2], bsh[:-2])
    except ShapeError as e:
        raise ShapeError(f"batch dims {fmt(ash[:-2])} and {fmt(bsh[:-2])}: {e}") from None
    rows = (ash[-2],) if a.rank > 1 else ()
    cols = (bsh[-1],) if b.rank > 1 else ()
    return [TensorType(dtype, batch + rows + cols)]


def _swap_last(e, v):
    r = v.type.rank
    return e.transpose(v, perm=(*range(r - 2), r - 1, r - 2))


def _matmul_vjp(e, node, gouts):
    a, b = node.inputs
    a2 = a if a.type.rank > 1 else e.expand_dims(a, axis=(0,))
    b2 = b if b.type.rank > 1 else e.expand_dims(b, axis=(1,))
    lost = ((-2,) if a.type.rank == 1 else ()) + ((-1,) if b.type.rank == 1 else ())
    g = e.expand_dims(gouts[0], axis=lost) if lost else gouts[0]
    # sum_to folds broadcast batch dims (and a vector's row axis) back into each operand
    ga = e.sum_to(e.matmul(g, _swap_last(e, b2)), a.type)
    gb = e.matmul(_swap_last(e, a2), g)
    if b.type.rank == 1:
        gb = e.squeeze(gb, axis=(-1,))
    return [ga, e.sum_to(gb, b.type)]


matmul = register(OpDef(
    "matmul", "linalg", _matmul_rule, lambda a, b: np.matmul(a, b), arity=2, vjp=_matmul_vjp,
    contraction=True, cost=_cost.matmul,
    doc="matrix product; vectors and batch dims as in np.matmul",
))
