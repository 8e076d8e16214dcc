"""Reverse-mode symbolic differentiation: gradients are ordinary IR appended to the graph.

``gradients`` walks the nodes between ``wrt`` and ``cost`` backwards and calls each op's VJP
rule through an Emitter whose location is the forward node's, marked ``vjp(op)``. Because the
result is plain IR in the same graph, every pass and backend handles it, and differentiating
a gradient again (a Hessian-vector product, say) is just another call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.frontend.tensor import Tensor
from graphc.ir.clone import needed_nodes
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
    for node in needed_nodes(graph, [cost]):
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
    grads = list(node.op.vjp(Emitter(graph, node.loc.derived(rule)), node, gouts))
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
    keep = set(needed_nodes(graph, results))
    graph.nodes[start:] = [n for n in graph.nodes[start:] if n in keep]


def _result(graph: Graph, w: Value, g: Value | None, used: bool, disconnected: str) -> Value:
    if not used and disconnected == "raise":
        raise GradError(f"the cost does not depend on {_describe(w)}; pass "
                        "disconnected='zero' to get a zero gradient")
    if g is not None:
        return g
    # connected only through zero-gradient ops (sign, floor, comparisons ...), or disconnected
    return Emitter(graph, _loc_of(w).derived("grad-zeros")).full_like(w, value=0.0)


# --- the user-facing forms --------------------------------------------------------------


def _as_tensor(x: object, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise GradError(f"{what} must be a graphc Tensor, got {type(x).__name__}")
    return x


def grad(cost: Tensor, wrt: Tensor | Sequence[Tensor], disconnected: str = "raise"):
    """Gradients of a scalar float ``cost``: a list for a list ``wrt``, a Tensor for a Tensor."""
    single = isinstance(wrt, Tensor)
    targets = [_as_tensor(t, "wrt") for t in ([wrt] if single else list(wrt))]
    cost = _as_tensor(cost, "cost")
    graph = cost.graph
    for t in targets:
        if t.graph is not graph:
            raise GradError(f"{t!r} belongs to graph @{t.graph.name}, the cost to @{graph.name}")
    values = gradients(graph, cost.ir, [t.ir for t in targets], disconnected)
    out = [Tensor(v, graph) for v in values]
    return out[0] if single else out


def jacobian(y: Tensor, x: Tensor) -> Tensor:
    """dy/dx of shape y.shape + x.shape, one reverse sweep per entry of y (static shape)."""
    y, x = _as_tensor(y, "y"), _as_tensor(x, "x")
    if not y.type.is_static:
        raise GradError(f"jacobian needs y with a static shape, got {y.type}")
    if not y.dtype.is_float:
        raise GradError(f"jacobian needs a float y, got {y.type}")
    graph = y.graph
    e = Emitter(graph, _loc_of(y.ir).derived("jacobian"))
    rows = []
    for i in range(int(np.prod(y.shape, dtype=np.int64))):
        pick = np.zeros(y.shape, y.dtype.np)
        pick.flat[i] = 1  # y[i] as a scalar cost: sum(y * one_hot(i))
        cost = e.sum(e.mul(y.ir, e.const(pick, y.dtype)), axis=None, keepdims=False)
        (row,) = gradients(graph, cost, [x.ir], disconnected="zero")
        rows.append(e.reshape(row, shape=(1, *x.shape)))
    flat = rows[0] if len(rows) == 1 else e.concat(*rows, axis=0)
    return Tensor(e.reshape(flat, shape=(*y.shape, *x.shape)), graph)
