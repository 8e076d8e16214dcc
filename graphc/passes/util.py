"""Small graph-surgery helpers shared by the passes."""

from __future__ import annotations

import numpy as np

from graphc.ir.graph import Graph, Value
from graphc.ir.loc import UNKNOWN, Loc


def substitute(graph: Graph, subst: dict[Value, Value]) -> None:
    """Rewire every read of a key of ``subst`` (node operands, results, updates) in place."""
    if not subst:
        return

    def get(v: Value) -> Value:
        while v in subst:
            v = subst[v]
        return v

    for n in graph.nodes:
        n.inputs = [get(v) for v in n.inputs]
    graph.outputs = [get(v) for v in graph.outputs]
    graph.updates = [(p, get(v)) for p, v in graph.updates]


def constant_value(v: Value) -> np.ndarray | None:
    """The array of a value made by a ``constant`` node, else None."""
    if v.node is None or not v.node.op.constant_like:
        return None
    return v.node.attrs["value"]


def splat_value(v: Value) -> float | None:
    """The single value of a constant whose elements are all equal, else None."""
    arr = constant_value(v)
    if arr is None or arr.size == 0:
        return None
    flat = arr.reshape(-1)
    first = flat[0]
    return float(first) if bool(np.all(flat == first)) else None


def rewrite_loc(loc: Loc, rule: str) -> Loc:
    """The location for a node a rewrite emitted: the user's line, keeping a gradient's rule."""
    if loc == UNKNOWN or loc.rule:
        return loc
    return loc.derived(rule)
