"""Building fused nodes from planned groups, and the softmax expansion that precedes fusion."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphc import ops
from graphc.ir.graph import Graph, Node, Value, make_node
from graphc.ir.opdef import epilogue_op
from graphc.ir.types import TensorType
from graphc.ops import core
from graphc.passes.dce import dce
from graphc.passes.rewrite import Match, P, Rule, RuleSet, X, apply_rules


@dataclass(eq=False)
class Group:
    """Nodes that become one kernel. ``kind``: elementwise, reduce, single, or the name of the
    op an epilogue group is anchored on (matmul, conv2d)."""

    kind: str
    members: list[Node]
    anchor: Node | None = None  # the reduction / matmul / conv2d node
    dup: list[Node] = field(default_factory=list)  # producers copied into a fused_reduce

    @property
    def size(self) -> int:
        return len(self.members) + len(self.dup)

    @property
    def epilogue(self) -> bool:
        """Whether the group is an epilogue around its anchor (a matmul, a conv2d)."""
        return self.anchor is not None and epilogue_op(self.anchor.op) is not None


# --- softmax expansion --------------------------------------------------------------------
# softmax/log_softmax are opaque to fusion; as max + elementwise + sum they fuse into
# max, fused_reduce(sum of exp(x - max)) and one fused kernel: three kernels instead of six.


# A max has no value over an empty axis (a ShapeError) where softmax has one (an empty result),
# so only an axis whose size is a positive int is expanded; over a symbolic axis (which a call
# may bind to 0) softmax stays one op and gives the same empty result on every backend.


def _expand_softmax(m: Match, e) -> Value | None:
    x, axis = m["x"], (m.root.attrs["axis"],)
    if not _nonempty(x, axis[0]):
        return None
    z = e.sub(x, e.max(x, axis=axis, keepdims=True))
    ez = e.exp(z)
    return e.div(ez, e.sum(ez, axis=axis, keepdims=True))


def _expand_log_softmax(m: Match, e) -> Value | None:
    x, axis = m["x"], (m.root.attrs["axis"],)
    if not _nonempty(x, axis[0]):
        return None
    z = e.sub(x, e.max(x, axis=axis, keepdims=True))
    return e.sub(z, e.log(e.sum(e.exp(z), axis=axis, keepdims=True)))


def _nonempty(x: Value, axis: int) -> bool:
    d = x.type.shape[axis]
    return isinstance(d, int) and d > 0


EXPANSIONS = RuleSet([
    Rule("expand-softmax", P("softmax", X), _expand_softmax),
    Rule("expand-log_softmax", P("log_softmax", X), _expand_log_softmax),
])


def expand(graph: Graph) -> None:
    """Rewrite softmax and log_softmax into primitives (in place)."""
    apply_rules(graph, EXPANSIONS)


# --- fused node construction --------------------------------------------------------------


def is_scalar_constant(v: Value) -> bool:
    """A rank-0 constant (copied into bodies rather than passed in)."""
    return v.node is not None and v.node.op is core.constant and v.type.rank == 0


class BodyBuilder:
    """Copies member nodes into a scalar body, collecting the outer values they read."""

    def __init__(self, name: str) -> None:
        self.body = Graph(name)
        self.env: dict[Value, Value] = {}
        self.operands: list[Value] = []

    def argument(self, outer: Value) -> Value:
        """The body argument standing for ``outer`` (made on first use)."""
        if outer not in self.env:
            arg = self.body.add_input(f"a{len(self.operands)}", TensorType(outer.type.dtype, ()))
            self.operands.append(outer)
            self.env[outer] = arg
        return self.env[outer]

    def read(self, outer: Value) -> Value:
        if outer in self.env:
            return self.env[outer]
        if is_scalar_constant(outer):
            node = outer.node
            copy = make_node(core.constant, [], dict(node.attrs), node.loc)  # type: ignore[union-attr]
            self.body.nodes.append(copy)
            self.env[outer] = copy.output
            return copy.output
        return self.argument(outer)

    def copy(self, node: Node) -> None:
        """Append ``node`` (an elementwise op, or a fused node whose body is inlined)."""
        args = [self.read(v) for v in node.inputs]
        if node.op.broadcast:  # per element, a broadcast is the identity
            self.env[node.outputs[0]] = args[0]
            return
        if node.op.elementwise_body:
            inner = dict(zip(node.body.inputs, args, strict=True))  # type: ignore[union-attr]
            for n in node.body.nodes:  # type: ignore[union-attr]
                new = make_node(n.op, [inner[v] for v in n.inputs], dict(n.attrs), n.loc)
                self.body.nodes.append(new)
                inner.update(zip(n.outputs, new.outputs, strict=True))
            results = [inner[v] for v in node.body.outputs]  # type: ignore[union-attr]
        else:
            new = make_node(node.op, args, dict(node.attrs), node.loc)
            self.body.nodes.append(new)
            results = new.outputs
        self.env.update(zip(node.outputs, results, strict=True))


def build_group(group: Group, yields: list[Value]) -> Node:
    """The fused node computing ``yields`` (the group's values read outside it)."""
    if group.kind == "reduce":
        return _build_reduce(group)
    anchor = group.anchor
    b = BodyBuilder(f"{group.kind}_body")
    prefix: list[Value] = []
    if anchor is not None:  # an epilogue: argument 0 is the product
        b.argument(anchor.outputs[0])
        prefix = list(anchor.inputs)
    for n in group.members:
        if n is not anchor:
            b.copy(n)
    b.body.outputs = [b.env[v] for v in yields]
    dce(b.body)  # a copied fused node may bring ops for results this group does not need
    operands = prefix + b.operands[1 if anchor is not None else 0 :]
    op = epilogue_op(anchor.op) if anchor is not None else ops.fused
    attrs = dict(anchor.attrs) if anchor is not None else {}
    loc = (anchor or group.members[0]).loc
    return make_node(op, operands, attrs, loc, b.body)


def _build_reduce(group: Group) -> Node:
    red = group.anchor
    assert red is not None
    b = BodyBuilder("reduce_body")
    for n in group.dup + [m for m in group.members if m is not red]:
        b.copy(n)
    b.body.outputs = [b.read(red.inputs[0])]
    dce(b.body)
    attrs = {"reduce": red.op.name, "axis": red.attrs["axis"], "keepdims": red.attrs["keepdims"]}
    return make_node(ops.fused_reduce, b.operands, attrs, red.loc, b.body)
