"""Random graphs for property tests of the passes and the numpy backend (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import graphc as gc
from graphc.ir.graph import Graph

# The whole elementwise catalogue. Ops with a restricted domain read a positive operand
# (|a| + 0.5), so that random graphs stay mostly finite and keep telling results apart.
UNARY = ["neg", "abs", "sign", "exp", "square", "sin", "cos", "tanh", "sigmoid", "relu",
         "leaky_relu", "elu", "softplus", "gelu", "erf", "floor", "ceil"]
POSITIVE_UNARY = ["log", "log1p", "sqrt", "rsqrt", "reciprocal"]
# Binary steps emit op(a, b) and op(b, a) side by side, so a pass that loses operand order
# (CSE merging them, a rule matching the swapped form) changes an output.
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
POSITIVE_BINARY = ["div", "pow"]
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
SHAPES = {"x": (3, 4), "v": (4,), "s": (3, 1)}


@dataclass
class Case:
    """A graph, its call inputs and the initial value of its parameter."""

    graph: Graph
    inputs: list[np.ndarray]
    w0: np.ndarray

    def reset(self) -> None:
        self.graph.params[0].param.value = self.w0.copy()  # type: ignore[union-attr]


def _positive(x: gc.Tensor) -> gc.Tensor:
    return gc.abs(x) + 0.5


def _as_34(x: gc.Tensor) -> gc.Tensor:
    return gc.broadcast_to(x, (3, 4))


# op(a, b) for the ordered pair steps; each returns a float tensor broadcastable to [3, 4]
PAIRS = {
    **{name: getattr(gc, name) for name in BINARY},
    **{name: (lambda f: lambda a, b: f(_positive(a), _positive(b)))(getattr(gc, name))
       for name in POSITIVE_BINARY},
    **{name: (lambda f: lambda a, b: gc.cast(f(a, b), gc.float32))(getattr(gc, name))
       for name in COMPARE},
    "where": lambda a, b: gc.where(gc.greater(a, 0.0), a, b),
    "where-cond": lambda a, b: gc.where(gc.less(a, b), a, 0.5),
    "matmul": lambda a, b: gc.matmul(_as_34(a), gc.transpose(_as_34(b))),  # [3, 3]
    "concat": lambda a, b: gc.matmul(CONCAT_MIX, gc.concat([_as_34(a), _as_34(b)], axis=0)),
}
PAIR_NAMES = sorted(PAIRS)
CONCAT_MIX = np.linspace(-1.0, 1.0, 18, dtype=np.float32).reshape(3, 6)


def _unary(arg: int, a: gc.Tensor) -> gc.Tensor:
    names = UNARY + POSITIVE_UNARY
    name = names[arg % len(names)]
    return getattr(gc, name)(_positive(a) if name in POSITIVE_UNARY else a)


def _pair(arg: int, a: gc.Tensor, b: gc.Tensor) -> list[gc.Tensor]:
    """op(a, b) and op(b, a), both kept (a [3, 3] matmul is brought back to [3, 4])."""
    name = PAIR_NAMES[arg % len(PAIR_NAMES)]
    out = [PAIRS[name](a, b), PAIRS[name](b, a)]
    if name == "matmul":
        out = [gc.matmul(o, _as_34(a)) for o in out]
    return out


def _const_first(arg: int, a: gc.Tensor) -> gc.Tensor:
    """c - a, c / a, c ** a with c in 0, 1, 2: the mirror images of the identity rules."""
    c = [0.0, 1.0, 2.0][arg % 3]
    p = _positive(a)
    return [lambda: c - a, lambda: c / p, lambda: c**p][(arg // 3) % 3]()


BODY_KINDS = ["unary", "binary", "const", "where", "reduce", "matmul", "softmax", "twice"]


def _scan(arg: int, a: gc.Tensor, b: gc.Tensor, w) -> list[gc.Tensor]:
    """A scan over 3 steps whose body is another random step on (carry, x) that reads the
    captured parameter w: (final carry, sum of the stacked ys)."""
    xs = gc.stack([_as_34(a), _as_34(b), _as_34(a) * 0.5], axis=0)
    kind = BODY_KINDS[arg % len(BODY_KINDS)]

    def body(c: gc.Tensor, xt: gc.Tensor) -> tuple[gc.Tensor, gc.Tensor]:
        y = _apply(kind, arg // len(BODY_KINDS), [c, xt], w)[-1]
        return gc.tanh(c + _as_34(y) * 0.5 + gc.sum(w) * 0.01), y

    final, ys = gc.scan(body, _as_34(b) * 1.0, xs, reverse=arg % 2 == 1)
    return [final, gc.sum(ys, axis=0)]


def _apply(kind: str, arg: int, pool: list, w) -> list[gc.Tensor]:
    a, b = pool[arg % len(pool)], pool[(arg * 7 + 3) % len(pool)]
    table = {
        "unary": lambda: [_unary(arg, a)],
        "binary": lambda: _pair(arg, a, b),
        "const": lambda: [a * [0.0, 1.0, 2.0, -1.0][arg % 4] + [0.0, 0.5][arg % 2]],
        "const-first": lambda: [_const_first(arg, a)],
        "where": lambda: [gc.where(gc.greater(a, b), a, b)],
        "reduce": lambda: [[gc.sum, gc.max, gc.mean][arg % 3](a, axis=-1, keepdims=True)],
        "matmul": lambda: [gc.matmul(_as_34(a), w)],
        "softmax": lambda: [gc.softmax(_as_34(a), axis=-1)],
        "twice": lambda: [gc.neg(gc.neg(a)) + gc.exp(gc.log(gc.sigmoid(b)))],
        "scan": lambda: _scan(arg, a, b, w),
    }
    return table[kind]()


STEPS = st.lists(st.tuples(st.sampled_from(["unary", "binary", "const", "const-first", "where",
                                            "reduce", "matmul", "softmax", "twice", "scan"]),
                           st.integers(0, 1000)), min_size=1, max_size=14)


@st.composite
def graphs(draw) -> Case:
    """A random graph over x[3,4], v[4], s[3,1] and a parameter w[4,4] that it updates.

    Outputs: the last two values and every op(a, b) / op(b, a) pair, so no pair is dead.
    """
    steps = draw(STEPS)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
    g = Graph("random")
    with g:
        pool = [gc.placeholder(n, s) for n, s in SHAPES.items()]
        w = gc.parameter("w", w0.copy())
        pairs: list[gc.Tensor] = []
        for kind, arg in steps:
            made = _apply(kind, arg, pool, w)
            pool += made
            pairs += made if len(made) == 2 else []
        last = pool[-1]
        new_w = w - 0.01 * gc.sum(last) + 0.0 * w
    kept = [last, pool[-2]] + [t for t in pairs if t is not last and t is not pool[-2]]
    g.outputs = [t.ir for t in kept]
    g.updates = [(w.ir, new_w.ir)]
    g.nodes = [n for n in g.nodes]  # built in place; dead nodes are fine
    inputs = [rng.uniform(-2, 2, s).astype(np.float32) for s in SHAPES.values()]
    return Case(g, inputs, w0)
