"""Cost rules: the floating-point operations of one node for concrete shapes (an OpDef's
``cost``). Each ALU operation counts 1, as in tinygrad's counts: a transcendental is 1, a
multiply-add 2. Bytes moved are not a rule: the profiler counts operands read and results
written from the shapes (a view moves none)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from graphc.ir.graph import Node

Shape = tuple[int, ...]
CostFn = Callable[[Node, Sequence[Shape], Sequence[Shape]], float]


def per_element(k: float = 1.0) -> CostFn:
    """``k`` operations per element of the (first) result."""

    def cost(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
        return k * prod(outs[0])

    return cost


def per_input_element(k: float = 1.0) -> CostFn:
    """``k`` operations per element of the first operand (reductions, losses)."""

    def cost(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
        return k * prod(ins[0])

    return cost


def free(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
    """Moves or re-indexes data: no arithmetic."""
    return 0.0


def matmul(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
    """A multiply-add per result element and contracted index."""
    return 2.0 * prod(outs[0]) * ins[0][-1]


def conv(result: tuple[str, int], weight: tuple[str, int]) -> CostFn:
    """A convolution or one of its gradients: a multiply-add per element of the forward
    result and per weight element of one output channel. ``result``/``weight``: where the
    forward result and the weight shapes are, ("in", k) or ("out", k)."""

    def cost(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
        where = {"in": ins, "out": outs}
        y, w = where[result[0]][result[1]], where[weight[0]][weight[1]]
        return 2.0 * prod(y) * prod(w[1:])

    return cost


def pool(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
    """A comparison or add per window element, for each element of the pooled side (the
    result of a pooling, the incoming gradient of its gradients)."""
    pooled = min(prod(s) for s in [*ins, *outs])
    return float(pooled * prod(node.attrs.get("kernel_size", (1,))))


def body_per_element(node: Node) -> float:
    """Operations per element of a fused node's body (its scalar ops' own rules)."""
    if node.body is None:
        return 0.0
    total = 0.0
    for n in node.body.nodes:
        rule = n.op.cost
        total += rule(n, [()] * len(n.inputs), [()] * len(n.outputs)) if rule else 0.0
    return total


def fused(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
    """The body once per element of the result."""
    return body_per_element(node) * prod(outs[0])


def fused_reduce(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
    """The body once per element of the (broadcast) operands, then one add or compare each."""
    elements = max((prod(s) for s in ins), default=1)
    return (body_per_element(node) + 1.0) * elements


def with_epilogue(anchor: CostFn) -> CostFn:
    """A matmul or convolution, then its elementwise epilogue once per result element."""

    def cost(node: Node, ins: Sequence[Shape], outs: Sequence[Shape]) -> float:
        return anchor(node, ins, outs) + body_per_element(node) * prod(outs[0])

    return cost
