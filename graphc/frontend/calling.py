"""A compiled function's call: its arguments checked against the graph's inputs (dtypes,
ranks, symbolic dims bound, sizes), the backend run, and results that share no memory with
arrays someone else may change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.backends import Executable
from graphc.ir.errors import InputError, ShapeError
from graphc.ir.graph import Graph, Value
from graphc.ir.types import TensorType, check_size, dim_symbols, eval_dim


def bind_dims(graph: Graph, args: Sequence[np.ndarray]) -> dict[str, int]:
    """Check call arguments against the graph's inputs; returns the symbolic dim bindings."""
    if len(args) != len(graph.inputs):
        names = ", ".join(str(v.name) for v in graph.inputs)
        raise InputError(f"expected {len(graph.inputs)} inputs ({names}), got {len(args)}")
    env: dict[str, int] = {}
    where: dict[str, str] = {}
    for v, a in zip(graph.inputs, args, strict=True):
        _check_one(v, a, env, where)
    if env:
        _check_bound(graph, env)
    return env


def _check_bound(graph: Graph, env: dict[str, int]) -> None:
    """The checks that need sizes, on the nodes whose types have symbols bound by this call:
    no result beyond int64 bytes, and each op's own check_bound (a max over an axis of size B
    called with B = 0); a ShapeError names the node."""
    for n in graph.nodes:
        try:
            for v in n.outputs:
                if v.type.symbols() and v.type.symbols() <= env.keys():
                    check_size(v.type, env)
            types = [v.type for v in n.inputs]
            symbols = {s for t in types for s in t.symbols()}
            if n.op.check_bound is not None and symbols and symbols <= env.keys():
                n.op.check_bound([t.concrete(env) for t in types], n.attrs)
        except ShapeError as e:
            bound = ", ".join(f"{k}={v}" for k, v in sorted(env.items()))
            raise ShapeError(f"{n.describe()} ({bound}): {e}") from None


def _check_one(v: Value, a: np.ndarray, env: dict[str, int], where: dict[str, str]) -> None:
    t: TensorType = v.type
    if a.dtype != t.dtype.np:
        raise InputError(f"input {v.name!r}: expected dtype {t.dtype.name}, got {a.dtype}")
    if a.ndim != t.rank:
        raise InputError(f"input {v.name!r}: expected rank {t.rank} ({t}), got shape {a.shape}")
    for axis, (d, n) in enumerate(zip(t.shape, a.shape, strict=True)):
        syms = dim_symbols(d)
        if len(syms) == 1 and d == syms[0] and d not in env:
            env[d], where[d] = n, f"input {v.name!r} axis {axis}"
            continue
        try:
            want = eval_dim(d, env)
        except KeyError:
            continue  # a product of unbound symbols: not checkable on its own
        if want != n:
            bound = f" (bound to {want} by {where[d]})" if d in where else ""
            raise InputError(
                f"input {v.name!r} axis {axis}: expected {d}{bound}, got {n} in shape {a.shape}"
            )


def run(executable: Executable, graph: Graph, inputs: list[np.ndarray],
        dims: dict[str, int]) -> list[np.ndarray]:
    """``executable.run``; an allocation the machine cannot make is a ShapeError, whichever
    backend tried it."""
    try:
        return executable.run(inputs, dims)
    except MemoryError as e:
        bound = ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) or "no symbolic dims"
        raise ShapeError(f"graph @{graph.name} ({bound}) needs more memory than this machine "
                         f"can allocate ({e})") from None


def _root(a: np.ndarray) -> int:
    """The id of the object that owns ``a``'s memory (a view shares it with its base)."""
    base: Any = a
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return id(base)


def held_arrays(graph: Graph) -> list[int]:
    """The roots of the arrays the graph itself holds (constants' values): never handed out."""
    return [_root(a) for n in graph.nodes for a in n.attrs.values() if isinstance(a, np.ndarray)]


def unaliased(graph: Graph, inputs: list[np.ndarray], results: list[np.ndarray],
               n_outputs: int, held: Sequence[int] = ()) -> list[np.ndarray]:
    """``results`` with copies where one would share memory another holder can change.

    A backend may return a caller's input, a parameter's array, a constant's value (``held``)
    or one array twice, and later calls write parameter updates into the parameter's array in
    place. So a new parameter value keeps its memory only if it is fresh or already that
    parameter's own array, and an output never shares memory with a parameter or a constant.
    """
    owner: dict[int, object] = {_root(a): "input" for a in inputs}
    owner.update((root, "graph") for root in held)
    for p in graph.params:
        if p.param is not None and p.param.value is not None:
            owner.setdefault(_root(p.param.value), p)
    out = list(results)
    for i, (p, _) in enumerate(graph.updates, start=n_outputs):
        if owner.setdefault(_root(out[i]), p) is not p:
            out[i] = out[i].copy()
            owner[_root(out[i])] = p
    for i in range(n_outputs):
        if owner.get(_root(out[i]), "input") != "input":
            out[i] = out[i].copy()
    return out
