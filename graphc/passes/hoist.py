"""hoist: loop-invariant code motion out of region bodies that run once per step (scan).

A body op whose operands are all invariant (the op's ``invariant_args``, e.g. a scan's
captures, results of other invariant ops, constants) computes the same value every step: it
moves before the loop node, and its result enters the body as a new capture. A weight's
transpose in an RNN cell, or its gradient body's, runs once instead of T times. Constants are
left in the body (copied out only when a hoisted op reads them); ops with bodies stay.
"""

from __future__ import annotations

from graphc.ir.clone import copy_node
from graphc.ir.graph import Graph, Node, Value, make_node
from graphc.passes.manager import register_pass
from graphc.passes.util import Rewriter


@register_pass("hoist", regions=True)
def hoist(graph: Graph) -> Graph:
    """Move loop-invariant body ops out of every loop node of ``graph``."""
    rw = Rewriter(graph)
    for node in rw.walk():
        if node.body is None or node.op.invariant_args is None:
            continue
        moved = _hoist(node, rw)
        if moved is not None:
            rw.insert(moved)
            rw.erase(node)
            rw.replace(node.outputs, moved.outputs)
    return rw.finish()


def _invariant(node: Node) -> dict[Value, Value]:
    """Body values known before the loop: body argument -> its operand."""
    body: Graph = node.body  # type: ignore[assignment]
    return {body.inputs[i]: node.inputs[i] for i in node.op.invariant_args(node)}  # type: ignore[misc]


def _hoist(node: Node, rw: Rewriter) -> Node | None:
    """The loop node with its invariant ops moved out (inserted through ``rw``), or None."""
    body: Graph = node.body  # type: ignore[assignment]
    outer = _invariant(node)
    consts = {v for n in body.nodes if n.op.constant_like for v in n.outputs}
    moved: list[Node] = []
    for n in body.nodes:
        if n.op.constant_like or n.body is not None or not n.inputs:
            continue
        if all(v in outer or v in consts for v in n.inputs) and any(v in outer for v in n.inputs):
            for v in n.inputs:
                if v in consts and v not in outer:  # a constant a hoisted op reads: copy it out
                    copy = copy_node(v.node, [])  # type: ignore[arg-type]
                    rw.insert(copy)
                    outer[v] = copy.outputs[v.index]
            copy = copy_node(n, [outer[v] for v in n.inputs])
            rw.insert(copy)
            outer.update(zip(n.outputs, copy.outputs, strict=True))
            moved.append(n)
    if not moved:
        return None
    return _rebuilt(node, body, set(moved), outer)


def _rebuilt(node: Node, body: Graph, moved: set[Node], outer: dict[Value, Value]) -> Node:
    """The loop node whose body reads the hoisted results as new captures."""
    keep = [n for n in body.nodes if n not in moved]
    read = {v for n in keep for v in n.inputs} | set(body.outputs)
    hoisted = [v for n in body.nodes if n in moved for v in n.outputs if v in read]
    args = {v: Value(v.type, name=f"h{i}") for i, v in enumerate(hoisted)}
    new_body = Graph(body.name)
    new_body.inputs = [*body.inputs, *args.values()]
    new_body.nodes = []
    for n in keep:
        n2 = copy_node(n, [args.get(v, v) for v in n.inputs])
        for old, fresh in zip(n.outputs, n2.outputs, strict=True):
            args[old] = fresh
        new_body.nodes.append(n2)
    new_body.outputs = [args.get(v, v) for v in body.outputs]
    operands = [*node.inputs, *(outer[v] for v in hoisted)]
    return make_node(node.op, operands, dict(node.attrs), node.loc, new_body)
