"""Shape values with symbolic dims: ``Shape`` of a tensor whose shape has symbols (a batch
size N) is a SymShape, a 1-D array of dims (ints and symbolic products such as "4*N"), not a
tensor. The shape ops exporters apply to it (Gather, Slice, Concat, Unsqueeze, Mul, ...) are
folded here on the dims; Reshape, Expand and ConstantOfShape take it as their target shape.
Anything else computed from symbolic dims (a run-time Add of N, a Shape fed to arithmetic
graphc dims cannot express) is an UnsupportedError naming the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.ir.types import Dim, dim_div, dim_mul
from graphc.onnx.table import NodeContext


@dataclass(frozen=True)
class SymShape:
    """A 1-D (or 0-D) int64 value whose entries may be symbolic dims."""

    dims: np.ndarray  # dtype object: int | str entries

    @property
    def symbolic(self) -> bool:
        return any(isinstance(d, str) for d in self.dims.reshape(-1))


def as_dims(v: Any) -> np.ndarray:
    """A SymShape's or a static value's entries as an object array."""
    return v.dims if isinstance(v, SymShape) else np.asarray(v).astype(object)


def _elementwise(op: Callable[[Dim, Dim], Dim | None], name: str) -> Callable[..., Any]:
    def fold(ctx: NodeContext, a: Any, b: Any) -> np.ndarray:
        x, y = np.broadcast_arrays(as_dims(a), as_dims(b))
        out = []
        for p, q in zip(x.reshape(-1), y.reshape(-1), strict=True):
            r = op(p, q) if isinstance(p, str) or isinstance(q, str) else _int_op(name, p, q)
            if r is None:
                raise ctx.fail(f"{name} of the symbolic dims {p!r} and {q!r} is not a dim "
                               "graphc can express (products only)")
            out.append(r)
        return np.asarray(out, dtype=object).reshape(x.shape)
    return fold


def _int_op(name: str, p: int, q: int) -> int:
    return {"Mul": p * q, "Div": p // q if q else 0, "Add": p + q, "Sub": p - q}[name]


def _slice(ctx: NodeContext, x: Any, starts: Any, ends: Any, axes: Any = None,
           steps: Any = None) -> np.ndarray:
    d = as_dims(x)
    s, e = int(as_dims(starts)[0]), int(as_dims(ends)[0])
    p = 1 if steps is None else int(as_dims(steps)[0])
    return d[slice(s, e, p)]


def _gather(ctx: NodeContext, x: Any, idx: Any) -> np.ndarray:
    return np.take(as_dims(x), np.asarray(as_dims(idx), np.int64), axis=ctx.attr("axis", 0))


def _unsqueeze(ctx: NodeContext, x: Any, axes: Any = None) -> np.ndarray:
    ax = [int(a) for a in as_dims(axes)] if axes is not None else ctx.attr("axes")
    return np.expand_dims(as_dims(x), tuple(ax))


def _squeeze(ctx: NodeContext, x: Any, axes: Any = None) -> np.ndarray:
    ax = [int(a) for a in as_dims(axes)] if axes is not None else ctx.attr("axes")
    return np.squeeze(as_dims(x), None if ax is None else tuple(ax))


def _concat(ctx: NodeContext, *xs: Any) -> np.ndarray:
    return np.concatenate([as_dims(x).reshape(-1) for x in xs])


FOLDERS: dict[str, Callable[..., np.ndarray]] = {
    "Gather": _gather, "Slice": _slice, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "Concat": _concat, "Identity": lambda ctx, x: as_dims(x), "Cast": lambda ctx, x: as_dims(x),
    "Mul": _elementwise(dim_mul, "Mul"), "Div": _elementwise(dim_div, "Div"),
    "Add": _elementwise(lambda p, q: None, "Add"), "Sub": _elementwise(lambda p, q: None, "Sub"),
}

CONSUMERS = frozenset({"Reshape", "Expand", "ConstantOfShape"})  # take a SymShape as a shape
