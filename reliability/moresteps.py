"""Random-graph steps over the composite and sequence ops (gc.cumsum, gc.layer_norm, ...)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import graphc as gc
from reliability.builder import Builder, Val


def _axis(b: Builder, a: Val) -> int:
    return int(b.rng.integers(-len(a.shape), len(a.shape)))


def _gather(b: Builder, a: Val) -> gc.Tensor:
    axis = _axis(b, a)
    idx = b.rng.integers(0, a.shape[axis], a.shape).astype(np.int64)
    return gc.gather(a.t, gc.constant(idx), axis=axis)


def _einsum(b: Builder, a: Val) -> gc.Tensor:
    w = b.tame(b.leaf((a.shape[-1], int(b.rng.integers(1, 5)))), 4.0)
    return gc.einsum("ij,jk->ik", b.tame(a, 4.0).t, w.t)


def _topk(b: Builder, a: Val) -> gc.Tensor:
    axis = _axis(b, a)
    k = int(b.rng.integers(1, a.shape[axis] + 1))
    return gc.topk(a.t, k, axis=axis, largest=bool(b.rng.random() < 0.5))[0]


# name -> (the op on a value, the minimum rank it needs, bound of the result from a's bound)
EXTRA: dict[str, tuple[Callable[[Builder, Val], gc.Tensor], int, Callable[[float], float]]] = {
    "expm1": (lambda b, a: gc.expm1(b.tame(a, 3.0).t), 0, lambda m: float(np.exp(min(m, 3.0)))),
    "silu": (lambda b, a: gc.silu(a.t), 0, lambda m: m),
    "clip": (lambda b, a: gc.clip(a.t, -0.7, 1.1), 0, lambda m: 1.1),
    "cumsum": (lambda b, a: gc.cumsum(a.t, axis=_axis(b, a)), 1, lambda m: 8 * m),
    "var": (lambda b, a: gc.var(b.tame(a).t, axis=_axis(b, a)), 1, lambda m: 30.0 * 30.0),
    "norm": (lambda b, a: gc.norm(a.t, axis=_axis(b, a), keepdims=True), 1, lambda m: 8 * m),
    "layer_norm": (lambda b, a: gc.layer_norm(b.tame(a).t), 1, lambda m: 8.0),
    "rms_norm": (lambda b, a: gc.rms_norm(b.tame(a).t), 1, lambda m: 8.0),
    "sort": (lambda b, a: gc.sort(a.t, axis=_axis(b, a))[0], 1, lambda m: m),
    "topk": (_topk, 1, lambda m: m),
    "gather": (_gather, 1, lambda m: m),
    "tril": (lambda b, a: gc.tril(a.t, int(b.rng.integers(-1, 2))), 2, lambda m: m),
    "triu": (lambda b, a: gc.triu(a.t, int(b.rng.integers(-1, 2))), 2, lambda m: m),
    "tile": (lambda b, a: gc.tile(a.t, (2, 1)), 1, lambda m: m),
    "repeat": (lambda b, a: gc.repeat(a.t, 2, axis=_axis(b, a)), 1, lambda m: m),
    "einsum": (_einsum, 2, lambda m: 30.0 * 4.0 * 4.0),
}


def step_extra(b: Builder) -> str:
    name = list(EXTRA)[int(b.rng.integers(len(EXTRA)))]
    fn, rank, bound = EXTRA[name]
    a = b.pick()
    if len(a.shape) < rank or (name == "einsum" and len(a.shape) != 2):
        a = b.pick(2)
    b.add(fn(b, a), bound(a.bound))
    return name


MORE_STEPS: list[tuple[Callable[[Builder], str], float]] = [(step_extra, 1.5)]
