"""Small graph-surgery helpers shared by the passes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.loc import UNKNOWN, Loc


class Rewriter:
    """The one way a pass rebuilds ``graph.nodes`` (xDSL's rewriter, tinygrad's graph_rewrite).

    ``walk()`` yields the nodes in order, each with its operands already read through the
    replacements made so far; a yielded node is kept unless the pass calls ``replace`` or
    ``erase`` on it. New nodes go in with ``insert`` (or an Emitter on the graph: during the
    rewrite ``graph.nodes`` is the new list, so emitted nodes land before the node being
    visited). A pass that orders nodes itself skips ``walk`` and inserts everything.
    ``finish()`` reads every operand, result and update through the replacements.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.old, graph.nodes = graph.nodes, []
        self.subst: dict[Value, Value] = {}
        self._dropped: set[Node] = set()

    def value(self, v: Value) -> Value:
        """What ``v`` reads as now (replacements chain)."""
        while v in self.subst:
            v = self.subst[v]
        return v

    def walk(self) -> Iterator[Node]:
        """The nodes in order, operands rewired; each is kept unless replaced or erased."""
        for node in self.old:
            node.inputs = [self.value(v) for v in node.inputs]
            yield node
            if node not in self._dropped:
                self.graph.nodes.append(node)

    def insert(self, node: Node) -> None:
        """Append ``node`` to the new node list."""
        self.graph.nodes.append(node)

    def replace(self, old: Node | Sequence[Value], new: Sequence[Value]) -> None:
        """Read ``new`` wherever ``old``'s results (or the values ``old``) were read; a node
        given as ``old`` is dropped."""
        if isinstance(old, Node):
            self._dropped.add(old)
            old = old.outputs
        for o, n in zip(old, new, strict=True):
            if o is not n:
                self.subst[o] = n

    def erase(self, node: Node) -> None:
        """Drop ``node`` (its results must be unread or replaced)."""
        self._dropped.add(node)

    def finish(self) -> Graph:
        """Rewire every read through the replacements; the rebuilt graph."""
        g, get = self.graph, self.value
        if self.subst:
            for n in g.nodes:
                n.inputs = [get(v) for v in n.inputs]
            g.outputs = [get(v) for v in g.outputs]
            g.updates = [(p, get(v)) for p, v in g.updates]
        return g


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
