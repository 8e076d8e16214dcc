"""Random graphs for property tests of the passes and the numpy backend (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import graphc as gc
from graphc.ir.graph import Graph

UNARY = ["neg", "tanh", "sigmoid", "relu", "square", "abs", "exp"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
SHAPES = {"x": (3, 4), "v": (4,), "s": (3, 1)}


@dataclass
class Case:
    """A graph, its call inputs and the initial value of its parameter."""

    graph: Graph
    inputs: list[np.ndarray]
    w0: np.ndarray

    def reset(self) -> None:
        self.graph.params[0].param.value = self.w0.copy()  # type: ignore[union-attr]


def _apply(kind: str, arg: int, pool: list, w) -> gc.Tensor:
    a, b = pool[arg % len(pool)], pool[(arg * 7 + 3) % len(pool)]
    table = {
        "unary": lambda: getattr(gc, UNARY[arg % len(UNARY)])(a),
        "binary": lambda: getattr(gc, BINARY[arg % len(BINARY)])(a, b),
        "const": lambda: a * [0.0, 1.0, 2.0, -1.0][arg % 4] + [0.0, 0.5][arg % 2],
        "where": lambda: gc.where(gc.greater(a, b), a, b),
        "reduce": lambda: [gc.sum, gc.max, gc.mean][arg % 3](a, axis=-1, keepdims=True),
        "matmul": lambda: gc.matmul(gc.broadcast_to(a, (3, 4)), w),
        "softmax": lambda: gc.softmax(gc.broadcast_to(a, (3, 4)), axis=-1),
        "twice": lambda: gc.neg(gc.neg(a)) + gc.exp(gc.log(gc.sigmoid(b))),
    }
    return table[kind]()


STEPS = st.lists(st.tuples(st.sampled_from(["unary", "binary", "const", "where", "reduce",
                                            "matmul", "softmax", "twice"]),
                           st.integers(0, 1000)), min_size=1, max_size=14)


@st.composite
def graphs(draw) -> Case:
    """A random graph over x[3,4], v[4], s[3,1] and a parameter w[4,4] that it updates."""
    steps = draw(STEPS)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
    g = Graph("random")
    with g:
        pool = [gc.placeholder(n, s) for n, s in SHAPES.items()]
        w = gc.parameter("w", w0.copy())
        for kind, arg in steps:
            pool.append(_apply(kind, arg, pool, w))
        last = pool[-1]
        new_w = w - 0.01 * gc.sum(last) + 0.0 * w
    g.outputs = [last.ir, pool[-2].ir]
    g.updates = [(w.ir, new_w.ir)]
    g.nodes = [n for n in g.nodes]  # built in place; dead nodes are fine
    inputs = [rng.uniform(-2, 2, s).astype(np.float32) for s in SHAPES.values()]
    return Case(g, inputs, w0)
