"""Run a graph that came out of the parser (and verified) on the numpy backend.

A verified graph must run, or refuse with a GraphcError: a raw exception from a backend means
the verifier let through something the backends cannot handle. Symbolic dims are bound to 2;
graphs with a value above MAX_ELEMENTS elements are not run (counted by the caller).
"""

from __future__ import annotations

import math

import numpy as np

import graphc as gc

MAX_ELEMENTS = 100_000
SYMBOL_SIZE = 2


def _size(d: object) -> int:
    """A dim's size with every symbol bound to SYMBOL_SIZE (dims are ints, names, products)."""
    if isinstance(d, int):
        return d
    return math.prod(int(f) if f.strip().isdigit() else SYMBOL_SIZE for f in str(d).split("*"))


def shape_of(v: object) -> tuple[int, ...]:
    return tuple(_size(d) for d in v.type.shape)  # type: ignore[attr-defined]


def small_enough(graph: gc.Graph) -> bool:
    return all(0 <= math.prod(shape_of(v)) <= MAX_ELEMENTS and min(shape_of(v), default=0) >= 0
               for v in graph.values())


def _feed(v: object, rng: np.random.Generator) -> np.ndarray:
    dtype = np.dtype(v.type.dtype.np)  # type: ignore[attr-defined]
    shape = shape_of(v)
    if dtype.kind == "f":
        return rng.uniform(-2.0, 2.0, shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.integers(0, 2, shape).astype(dtype)


def run_parsed(graph: gc.Graph, rng: np.random.Generator) -> None:
    """Run ``graph`` without passes and with the default pipeline; GraphcErrors propagate."""
    feeds = [_feed(v, rng) for v in graph.inputs]
    values = {p.name: _feed(p, rng) for p in graph.params}
    inputs = [gc.Tensor(v, graph) for v in graph.inputs]
    outputs = [gc.Tensor(v, graph) for v in graph.outputs]
    updates = [(gc.Tensor(p, graph), gc.Tensor(v, graph)) for p, v in graph.updates]
    for passes in ([], None):
        for p in graph.params:
            p.param.value = values[p.name].copy()
        fn = gc.function(inputs, outputs, updates, backend="numpy", passes=passes)
        with np.errstate(all="ignore"):
            fn(*feeds)
