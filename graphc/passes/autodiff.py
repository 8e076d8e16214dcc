"""Reverse-mode symbolic differentiation: gradients are ordinary IR appended to the graph.

``gradients`` walks the nodes between ``wrt`` and ``cost`` backwards and calls each op's VJP
rule through an Emitter whose location is the forward node's, marked ``vjp(op)``. Because the
result is plain IR in the same graph, every pass and backend handles it, and differentiating
a gradient again (a Hessian-vector product, say) is just another call. This module works on
Values and Graphs; ``gc.grad`` and ``gc.jacobian`` (graphc.frontend.grad) wrap it for Tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.ir.emit import Emitter
from graphc.ir.errors import GradError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.loc import UNKNOWN, Loc

_DISCONNECTED = ("raise", "zero")


def _describe(v: Value) -> str:
    if v.name:
        return f"%{v.name}: {v.type}"
    if v.node is not None:
        return f"the {v.node.op.name} result ({v.type}) at {v.node.loc}"
    return f"a value of type {v.type}"


def _loc_of(v: Value) -> Loc:
    return v.node.loc if v.node is not None else UNKNOWN


def _check_request(graph: Graph, cost: Value, wrt: Sequence[Value], disconnected: str) -> None:
    if disconnected not in _DISCONNECTED:
        raise GradError(f"disconnected must be 'raise' or 'zero', got {disconnected!r}")
    if cost.type.rank != 0 or not cost.type.dtype.is_float:
        raise GradError(f"the cost must be a float scalar, got {_describe(cost)}; reduce it "
                        "first (e.g. gc.sum or gc.mean)")
    known = set(graph.values())
    for v in (cost, *wrt):
        if v not in known:
            raise GradError(f"{_describe(v)} is not a value of graph @{graph.name}")
    for v in wrt:
        if not v.type.dtype.is_float:
            raise GradError(f"cannot differentiate with respect to {_describe(v)}: only "
                            "floating-point values have gradients")


def _path(graph: Graph, cost: Value, wrt: Sequence[Value]) -> list[Node]:
    """The nodes on some path from a ``wrt`` value to ``cost``, in graph order."""
    reached = set(wrt)
    path = []
    for node in graph.needed([cost]):
        if any(v in reached for v in node.inputs):
            path.append(node)
            reached.update(node.outputs)
    return path


class _Grads:
    """Gradient contributions per value; several are summed (with add) when first read."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.parts: dict[Value, list[Value]] = {}

    def add(self, v: Value, g: Value) -> None:
        self.parts.setdefault(v, []).append(g)

    def total(self, v: Value) -> Value | None:
        parts = self.parts.get(v)
        if not parts:
            return None
        if len(parts) > 1:
            # an argument has no node: the sum is placed at the first contribution's line
            where = v if v.node is not None else parts[0]
            e = Emitter(self.graph, _loc_of(where).derived("grad-accumulate"))
            acc = parts[0]
            for g in parts[1:]:
                acc = e.add(acc, g)
            self.parts[v] = [acc]
        return self.parts[v][0]


def _output_grads(graph: Graph, node: Node, grads: _Grads) -> list[Value] | None:
    gouts = [grads.total(v) for v in node.outputs]
    if all(g is None for g in gouts):
        return None
    # a multi-result node may get gradients for only some results: zeros for the others
    e = Emitter(graph, node.loc.derived("grad-zeros"))
    pairs = zip(gouts, node.outputs, strict=True)
    return [e.full_like(v, value=0.0) if g is None else g for g, v in pairs]


def _apply_rule(graph: Graph, node: Node, gouts: list[Value]) -> list[Value | None]:
    rule = f"vjp({node.op.name})"
    if node.op.vjp is None or not node.op.differentiable:
        raise GradError(f"{node.describe()}: {node.op.name} has no gradient rule, and the cost "
                        "depends on it")
    body_grad = (gradients,) if node.op.region_body else ()  # a region op differentiates its body
    grads = list(node.op.vjp(Emitter(graph, node.loc.derived(rule)), node, gouts, *body_grad))
    if len(grads) != len(node.inputs):
        raise GradError(f"{rule} at {node.loc} returned {len(grads)} gradients for "
                        f"{len(node.inputs)} operands")
    for i, (g, v) in enumerate(zip(grads, node.inputs, strict=True)):
        if g is not None and g.type != v.type:
            raise GradError(f"{rule} at {node.loc} returned {g.type} for operand {i}, "
                            f"which is {v.type}")
    return grads


def gradients(
    graph: Graph, cost: Value, wrt: Sequence[Value], disconnected: str = "raise"
) -> list[Value]:
    """d cost / d w for each w in ``wrt``, as new nodes appended to ``graph``."""
    _check_request(graph, cost, wrt, disconnected)
    start = len(graph.nodes)
    try:
        results = _backward(graph, cost, wrt, disconnected)
    except BaseException:
        del graph.nodes[start:]  # a failed request leaves the graph as it was
        raise
    _drop_unused(graph, start, results)
    return results


def _backward(graph: Graph, cost: Value, wrt: Sequence[Value], disconnected: str) -> list[Value]:
    path = _path(graph, cost, wrt)
    grads = _Grads(graph)
    seed = Emitter(graph, _loc_of(cost).derived("grad-seed")).scalar_like(1.0, cost)
    grads.add(cost, seed)
    for node in reversed(path):
        gouts = _output_grads(graph, node, grads)
        if gouts is None:
            continue
        for v, g in zip(node.inputs, _apply_rule(graph, node, gouts), strict=True):
            if g is not None and v.type.dtype.is_float:
                grads.add(v, g)
    used = {v for n in path for v in n.inputs} | {cost}
    return [_result(graph, w, grads.total(w), w in used, disconnected) for w in wrt]


def _drop_unused(graph: Graph, start: int, results: list[Value]) -> None:
    """Remove nodes this call appended that no result needs (e.g. d cost / d placeholder)."""
    keep = set(graph.needed(results))
    graph.nodes[start:] = [n for n in graph.nodes[start:] if n in keep]


def _result(graph: Graph, w: Value, g: Value | None, used: bool, disconnected: str) -> Value:
    if not used and disconnected == "raise":
        raise GradError(f"the cost does not depend on {_describe(w)}; pass "
                        "disconnected='zero' to get a zero gradient")
    if g is not None:
        return g
    # connected only through zero-gradient ops (sign, floor, comparisons ...), or disconnected
    return Emitter(graph, _loc_of(w).derived("grad-zeros")).full_like(w, value=0.0)


def jacobian_value(graph: Graph, y: Value, x: Value) -> Value:
    """dy/dx of shape y.shape + x.shape, one reverse sweep per entry of y (static shape)."""
    if not y.type.is_static:
        raise GradError(f"jacobian needs y with a static shape, got {y.type}")
    if not y.type.dtype.is_float:
        raise GradError(f"jacobian needs a float y, got {y.type}")
    shape, dtype = y.type.shape, y.type.dtype
    e = Emitter(graph, _loc_of(y).derived("jacobian"))
    rows = []
    for i in range(int(np.prod(shape, dtype=np.int64))):
        pick = np.zeros(shape, dtype.np)
        pick.flat[i] = 1  # y[i] as a scalar cost: sum(y * one_hot(i))
        cost = e.sum(e.mul(y, e.const(pick, dtype)), axis=None, keepdims=False)
        (row,) = gradients(graph, cost, [x], disconnected="zero")
        rows.append(e.reshape(row, shape=(1, *x.type.shape)))
    flat = rows[0] if len(rows) == 1 else e.concat(*rows, axis=0)
    return e.reshape(flat, shape=(*shape, *x.type.shape))
