"""canonicalize: algebraic identities and numerical stabilization, as rewrite rules (data).

Float caveats: ``x * 0 -> 0`` is only done for integers (for floats inf * 0 and nan * 0 are
nan), ``exp(log(x)) -> x`` only when x is known to be >= 0 (elsewhere log gives nan), and
``log(exp(x)) -> x`` trades an overflow (inf) for the exact answer. ``x + 0 -> x`` keeps a
-0.0 that the addition would have made +0.0 (as XLA's simplifier does; the two compare equal).
softmax_cross_entropy needs no rewrite: the catalogue op already computes -log_softmax in
log-sum-exp form; the rules here catch the unstable spellings users write by hand
(log(softmax(x)), log(sigmoid(x))).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc import ops  # noqa: F401  (the catalogue fills the registry ops_with reads)
from graphc.ir.emit import Emitter
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.opdef import ops_with
from graphc.ops import collective
from graphc.passes.dce import dce
from graphc.passes.manager import register_pass
from graphc.passes.rewrite import Lit, Match, P, Rule, RuleSet, Var, X, Y, apply_rules
from graphc.passes.util import constant_value

ZERO, ONE = Lit(0.0), Lit(1.0)
REDUCTIONS = ops_with("reduction")
VIEWS = ("reshape", "flatten", "expand_dims", "squeeze")
NONNEGATIVE = ops_with("nonnegative")  # exp(log(x)) == x for them
COLLECTIVES = ops_with("collective")


def _x(m: Match, e: Emitter) -> Value:
    return m["x"]


def _op(name: str, **attrs: object):
    """Replacement builder: ``name(x)`` or ``name(x, y)`` with fixed attributes."""

    def build(m: Match, e: Emitter) -> Value:
        args = [m.values[k] for k in ("x", "y") if k in m.values]
        return e.op(name, *args, **attrs)

    return build


def _is_int(v: Value) -> bool:
    return not v.type.dtype.is_float


def _zeros_like_root(m: Match, e: Emitter) -> Value | None:
    x = m["x"]
    return e.full_like(x, value=0.0) if x.type == m.root.outputs[0].type else None


def _broadcast_to_root(m: Match, e: Emitter) -> Value:
    return e.broadcast_to(m["x"], shape=m.root.outputs[0].type.shape)


def _reshape_to_root(m: Match, e: Emitter) -> Value:
    return e.reshape(m["x"], shape=m.root.outputs[0].type.shape)


def _compose_transpose(m: Match, e: Emitter) -> Value:
    inner, outer = m.node("inner").attrs["perm"], m.root.attrs["perm"]
    perm = tuple(inner[a] for a in outer)
    return m["x"] if perm == tuple(range(len(perm))) else e.transpose(m["x"], perm=perm)


def _log_softmax(m: Match, e: Emitter) -> Value:
    return e.log_softmax(m["x"], axis=m.node("sm").attrs["axis"])


def _log_sigmoid(m: Match, e: Emitter) -> Value:
    return e.neg(e.softplus(e.neg(m["x"])))


def _scalar_operands(m: Match, e: Emitter) -> Value | None:
    """Elementwise ops broadcast by themselves: read a broadcast scalar constant directly."""
    node = m.root
    new = [_scalar_source(v) or v for v in node.inputs]
    return e.op(node.op.name, *new, **node.attrs)


def _scalar_source(v: Value) -> Value | None:
    if v.node is None or not v.node.op.broadcast:
        return None
    src = v.node.inputs[0]
    arr = constant_value(src)
    return src if arr is not None and arr.size == 1 else None


def _has_scalar_broadcast(node: Node) -> bool:
    return any(_scalar_source(v) is not None for v in node.inputs)


def _attr_is(key: str, test: Callable[[Any], bool]) -> Callable[[Node], bool]:
    return lambda node: test(node.attrs[key])


def _full(value: float) -> P:
    return P("full_like", Y, where=_attr_is("value", lambda v: v == value))


_ELEMENTWISE_BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "where",
                       "equal", "not_equal", "less", "less_equal", "greater", "greater_equal")

IDENTITIES = [
    Rule("add-zero", P("add", X, ZERO), _x),
    Rule("add-zeros-like", P("add", X, _full(0.0)), _x),
    Rule("add-zeros-like-broadcast", P("add", X, _full(0.0)), _broadcast_to_root),
    Rule("sub-zero", P("sub", X, ZERO), _x),
    Rule("mul-one", P("mul", X, ONE), _x),
    Rule("mul-ones-like", P("mul", X, _full(1.0)), _x),
    Rule("mul-zero-int", P("mul", Var("x", _is_int), ZERO), _zeros_like_root),
    Rule("mul-minus-one", P("mul", X, Lit(-1.0)), _op("neg")),
    Rule("div-one", P("div", X, ONE), _x),
    Rule("pow-one", P("pow", X, ONE), _x),
    Rule("pow-two", P("pow", X, Lit(2.0)), _op("square")),
    Rule("neg-neg", P("neg", P("neg", X)), _x),
    Rule("add-neg", P("add", X, P("neg", Y)), _op("sub")),
    Rule("sub-neg", P("sub", X, P("neg", Y)), _op("add")),
    Rule("cast-same", P("cast", X, where=lambda n: n.attrs["dtype"] == n.inputs[0].type.dtype),
         _x),
    Rule("reduce-no-axes", P(REDUCTIONS, X, where=_attr_is("axis", lambda a: a == ())), _x),
    Rule("reshape-same", P(VIEWS + ("broadcast_to",), X), _x),
    Rule("reshape-reshape", P("reshape", P(VIEWS, X)), _reshape_to_root),
    Rule("transpose-transpose", P("transpose", P("transpose", X, name="inner")),
         _compose_transpose),
    Rule("transpose-identity",
         P("transpose", X, where=_attr_is("perm", lambda p: p == tuple(range(len(p))))), _x),
    # One process: every collective is the identity. Dropping it here (not in the builder)
    # keeps the built IR the same on any number of ranks and lets fusion see through it.
    Rule("collective-one-process", P(COLLECTIVES, X, where=lambda n: collective.world() is None),
         _x),
    Rule("broadcast-scalar-constant", P(_ELEMENTWISE_BINARY, where=_has_scalar_broadcast),
         _scalar_operands),
]

STABILIZATION = [
    Rule("log-softmax", P("log", P("softmax", X, name="sm")), _log_softmax),
    Rule("log-sigmoid", P("log", P("sigmoid", X)), _log_sigmoid),
    Rule("log-exp", P("log", P("exp", X)), _x),
    Rule("exp-log", P("exp", P("log", P(NONNEGATIVE, name="nonneg"))),
         lambda m, e: m.node("nonneg").outputs[0]),
    Rule("log-one-plus", P("log", P("add", ONE, X)), _op("log1p")),
]

RULES = RuleSet(IDENTITIES + STABILIZATION)


@register_pass("canonicalize", regions=True)
def canonicalize(graph: Graph) -> Graph:
    """Apply every rule to a fixed point, then drop what the rewrites left dead."""
    apply_rules(graph, RULES)
    return dce(graph)
