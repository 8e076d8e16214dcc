"""cse: merge nodes that compute the same thing (same op, attributes, operands, body).

Structural hashing: a node's key is its op, its attributes (arrays compared by content), its
operands (by identity, after earlier merges; sorted for commutative ops) and its body's text.
The first node of each class survives, so locations point at the first occurrence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.printer import print_graph
from graphc.passes.manager import register_pass
from graphc.passes.util import Rewriter


def attr_key(value: Any) -> Any:
    """A hashable stand-in for an attribute value (arrays by dtype, shape and bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return tuple(attr_key(v) for v in value)
    if isinstance(value, float):  # by bits: 0.0 and -0.0 differ, nan equals nan
        return ("float", value.hex())
    return (type(value).__name__, value)


def node_key(node: Node, order: dict[Value, int]) -> tuple:
    """The structural key of ``node``; operand order is normalized for commutative ops."""
    operands = [order[v] for v in node.inputs]
    if node.op.commutative:
        operands.sort()
    attrs = tuple((k, attr_key(v)) for k, v in sorted(node.attrs.items()))
    body = print_graph(node.body) if node.body is not None else None
    return (node.op.name, attrs, tuple(operands), body)


@register_pass("cse", regions=True)
def cse(graph: Graph) -> Graph:
    """Replace each node equal to an earlier one by that earlier node's results."""
    order = {v: i for i, v in enumerate(graph.arguments)}
    seen: dict[tuple, Node] = {}
    rw = Rewriter(graph)
    for n in rw.walk():
        key = node_key(n, order)
        first = seen.get(key)
        if first is not None:
            rw.replace(n, first.outputs)
            continue
        seen[key] = n
        for v in n.outputs:
            order[v] = len(order)
    return rw.finish()
