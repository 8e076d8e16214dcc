"""Copying graphs: whole (for passes that rewrite a copy) or the slice a function needs."""

from __future__ import annotations

from collections.abc import Sequence

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Node, Value


def copy_node(node: Node, inputs: Sequence[Value]) -> Node:
    """A fresh node like ``node`` reading ``inputs`` (types are re-used, not re-inferred)."""
    types = [v.type for v in node.outputs]
    new = Node(node.op, inputs, dict(node.attrs), types, node.loc, node.body)
    for old, fresh in zip(node.outputs, new.outputs, strict=True):
        fresh.name = old.name
    return new


def clone(graph: Graph, name: str | None = None) -> tuple[Graph, dict[Value, Value]]:
    """A deep copy of ``graph`` (sharing Param cells) and the old -> new value map."""
    out = Graph(name or graph.name)
    vmap: dict[Value, Value] = {}
    for a in graph.inputs:
        vmap[a] = out.add_input(a.name or "arg", a.type)
    for p in graph.params:
        vmap[p] = out.add_param(p.param, p.type)  # type: ignore[arg-type]
    for n in graph.nodes:
        new = copy_node(n, [vmap[v] for v in n.inputs])
        out.nodes.append(new)
        vmap.update(zip(n.outputs, new.outputs, strict=True))
    out.outputs = [vmap[v] for v in graph.outputs]
    out.updates = [(vmap[p], vmap[v]) for p, v in graph.updates]
    return out, vmap


def extract(
    graph: Graph,
    inputs: Sequence[Value],
    outputs: Sequence[Value],
    updates: Sequence[tuple[Value, Value]] = (),
    name: str | None = None,
) -> Graph:
    """A new graph computing ``outputs`` and ``updates`` from ``inputs`` and parameters."""
    roots = list(outputs) + [v for _, v in updates]
    nodes = graph.needed(roots)
    used = {v for n in nodes for v in n.inputs} | set(roots) | {p for p, _ in updates}
    missing = [a for a in graph.inputs if a in used and a not in inputs]
    if missing:
        raise GraphcError(
            f"the outputs depend on placeholder {missing[0].name!r}, which is not among the inputs"
        )
    out = Graph(name or graph.name)
    vmap: dict[Value, Value] = {}
    for a in inputs:
        vmap[a] = out.add_input(a.name or "arg", a.type)
    for p in graph.params:
        if p in used:
            vmap[p] = out.add_param(p.param, p.type)  # type: ignore[arg-type]
    for n in nodes:
        new = copy_node(n, [vmap[v] for v in n.inputs])
        out.nodes.append(new)
        vmap.update(zip(n.outputs, new.outputs, strict=True))
    out.outputs = [vmap[v] for v in outputs]
    out.updates = [(vmap[p], vmap[v]) for p, v in updates]
    return out
