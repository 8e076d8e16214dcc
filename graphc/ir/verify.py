"""The IR verifier: def before use, types, attributes, updates; errors quote the node's line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphc.ir.errors import GraphcError, VerifyError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.printer import render


def verify(graph: Graph) -> None:
    """Check ``graph``'s invariants; raises VerifyError naming the first offending node."""
    _Verifier(graph).check(graph, set(graph.arguments))


class _Verifier:
    """Walks a graph and its bodies in order, keeping the set of values defined so far."""

    def __init__(self, root: Graph) -> None:
        self.root = root
        self.seen: set[Node] = set()

    # -- reporting ---------------------------------------------------------------------
    def fail(self, node: Node, message: str) -> VerifyError:
        return VerifyError(f"{node.describe()} ({self.quote(node)}): {message}")

    def fail_graph(self, graph: Graph, message: str) -> VerifyError:
        return VerifyError(f"graph @{graph.name}: {message}")

    def quote(self, node: Node) -> str:
        """'IR line N: <the node's printed line>' for the whole (root) graph."""
        try:
            text, line_of = render(self.root)
        except Exception as e:  # a graph broken enough not to print: still report the node
            return f"unprintable IR: {type(e).__name__}"
        n = line_of.get(node)
        return f"IR line {n}: {text.splitlines()[n - 1].strip()}" if n else "not in the graph"

    # -- graph-level rules -------------------------------------------------------------
    def check(self, graph: Graph, defined: set[Value]) -> None:
        self.check_arguments(graph)
        all_results = {v for n in graph.nodes for v in n.outputs}
        for node in graph.nodes:
            self.check_node(graph, node, defined, all_results)
            defined.update(node.outputs)
        for i, v in enumerate(graph.outputs):
            if v not in defined:
                raise self.fail_graph(graph, f"result {i} ({v!r}) is not defined in the graph")
        self.check_updates(graph, defined)

    def check_arguments(self, graph: Graph) -> None:
        names = [a.name for a in graph.arguments]
        for name in names:
            if names.count(name) > 1:
                raise self.fail_graph(graph, f"two arguments are named %{name}")
        for p in graph.params:
            if p.param is None:
                raise self.fail_graph(graph, f"parameter %{p.name} has no Param cell")
        for a in graph.inputs:
            if a.param is not None:
                raise self.fail_graph(graph, f"input %{a.name} carries a Param cell; "
                                      "parameters belong in graph.params")

    def check_updates(self, graph: Graph, defined: set[Value]) -> None:
        targets: set[Value] = set()
        for target, value in graph.updates:
            name = f"%{target.name}"
            if not any(target is p for p in graph.params):
                raise self.fail_graph(graph, f"update target {target!r} is not a parameter")
            if target in targets:
                raise self.fail_graph(graph, f"parameter {name} is updated twice")
            targets.add(target)
            if value not in defined:
                raise self.fail_graph(graph, f"the update of {name} reads an undefined value")
            if value.type != target.type:
                raise self.fail_graph(graph, f"the update of {name} ({target.type}) "
                                      f"has type {value.type}")

    # -- node rules --------------------------------------------------------------------
    def check_node(self, graph: Graph, node: Node, defined: set[Value], later: set[Value]) -> None:
        if node in self.seen:
            raise self.fail(node, "the node appears twice in the node list")
        self.seen.add(node)
        for i, v in enumerate(node.outputs):
            if v.node is not node or v.index != i:
                raise self.fail(node, f"result {i} does not belong to this node")
        for i, v in enumerate(node.inputs):
            if v not in defined:
                raise self.fail(node, self.undefined(graph, i, v, later))
        self.check_body_shape(node)
        if node.body is not None:  # inside first: the node's type rule reads the body
            self.check(node.body, set(node.body.inputs))
        attrs = self.check_attrs(node)
        self.check_types(node, attrs)

    def undefined(self, graph: Graph, i: int, v: Value, later: set[Value]) -> str:
        if v in later:
            return f"operand {i} is used before its definition{self.cycle(graph)}"
        if graph is not self.root:
            return f"operand {i} ({v!r}) is not an argument or result of this body; " \
                "a body may only use its own values"
        return f"operand {i} ({v!r}) is not defined in graph @{graph.name}"

    def cycle(self, graph: Graph) -> str:
        """' (cycle: a -> b -> a)' when the use-before-definition closes a loop."""
        import networkx as nx

        try:
            edges = nx.find_cycle(graph.to_networkx())
        except nx.NetworkXNoCycle:
            return ""
        ops = [e[0].op.name if isinstance(e[0], Node) else f"%{e[0].name}" for e in edges]
        return f" (cycle: {' -> '.join([*ops, ops[0]])})"

    def check_body_shape(self, node: Node) -> None:
        if node.op.has_body and node.body is None:
            raise self.fail(node, f"op {node.op.name} needs a body")
        if not node.op.has_body and node.body is not None:
            raise self.fail(node, f"op {node.op.name} takes no body")
        if node.body is not None and (node.body.params or node.body.updates):
            raise self.fail(node, "a body may not have parameters or updates")

    def check_attrs(self, node: Node) -> dict[str, Any]:
        try:
            canon = node.op.check_attrs(node.attrs, [v.type for v in node.inputs])
        except GraphcError as e:
            raise self.fail(node, f"invalid attributes: {e}") from None
        if canon.keys() != node.attrs.keys() or not all(
            same_attr(canon[k], node.attrs[k]) for k in canon
        ):
            raise self.fail(node, f"attributes {node.attrs} are not in canonical form {canon}")
        return canon

    def check_types(self, node: Node, attrs: dict[str, Any]) -> None:
        in_types = [v.type for v in node.inputs]
        try:
            if node.body is None:
                want = node.op.infer(in_types, attrs)
            else:
                want = node.op.infer(in_types, attrs, node.body)
        except GraphcError as e:
            raise self.fail(node, f"the op's type rule rejects the operands: {e}") from None
        have = [v.type for v in node.outputs]
        if list(want) != have:
            show = ", ".join(map(str, have))
            raise self.fail(node, f"result types ({show}) differ from the inferred "
                            f"({', '.join(map(str, want))})")


def same_attr(a: Any, b: Any) -> bool:
    """Attribute equality that handles arrays, nested tuples and nan."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_attr(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
