"""Emitter: appends nodes to a graph at one source location (used by autodiff and rewrites).

``e.mul(a, b)`` or ``e.sum(x, axis=(0,), keepdims=True)`` builds a node of the op of that name
and returns its result (a tuple for multi-result ops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.ir.graph import Graph, Value
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.opdef import lookup
from graphc.ir.types import DType, TensorType


class Emitter:
    """Builds nodes into ``graph`` with location ``loc``."""

    def __init__(self, graph: Graph, loc: Loc = UNKNOWN) -> None:
        self.graph = graph
        self.loc = loc

    def op(self, name: str, *inputs: Value, **attrs: Any) -> Any:
        """A node of op ``name``; its result, or a tuple of results."""
        node = self.graph.add_node(lookup(name), inputs, attrs, self.loc)
        return node.outputs[0] if len(node.outputs) == 1 else tuple(node.outputs)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *inputs, **attrs: self.op(name, *inputs, **attrs)

    def const(self, value: object, dtype: DType) -> Value:
        """A constant of ``dtype`` (scalars stay rank 0 and broadcast)."""
        return self.op("constant", value=np.asarray(value, dtype=dtype.np))

    def scalar_like(self, value: float, like: Value) -> Value:
        """A rank-0 constant of like's dtype."""
        return self.const(value, like.type.dtype)

    def sum_to(self, g: Value, target: TensorType) -> Value:
        """Sum a broadcast gradient back to ``target``'s shape (the one shared helper)."""
        shape = g.type.shape
        lead = len(shape) - target.rank
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(target.shape) if d == 1 and shape[lead + i] != 1
        )
        if axes:
            g = self.op("sum", g, axis=axes, keepdims=False)
        if g.type.shape != target.shape:
            g = self.op("reshape", g, shape=target.shape)
        return g
