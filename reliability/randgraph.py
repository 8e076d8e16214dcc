"""Random graphs built through the public API (gc.*), with their gradients and feeds.

A graph draws leaves (placeholders, at most one parameter) of small static shapes and applies
random steps: safe elementwise math, broadcasting binaries, comparisons feeding ``where``,
reductions, matmul, shape ops, the softmax family, conv/pool and moresteps.py's ops. Domains
are kept where results are finite and comparable: logarithms, roots and divisions see
``|x| + c``, powers a positive base, and a value whose magnitude estimate grows past a bound is
squashed with tanh before exp/square.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import graphc as gc
from reliability.builder import BIG, Builder, RandomGraph, Val
from reliability.moresteps import MORE_STEPS

# -- steps: each takes the builder and adds one value to its pool, returns its label -----
UNARY: dict[str, tuple[Callable[[gc.Tensor], gc.Tensor], Callable[[float], float]]] = {
    "neg": (gc.neg, lambda b: b),
    "abs": (gc.abs, lambda b: b),
    "tanh": (gc.tanh, lambda b: 1.0),
    "sigmoid": (gc.sigmoid, lambda b: 1.0),
    "relu": (gc.relu, lambda b: b),
    "sin": (gc.sin, lambda b: 1.0),
    "cos": (gc.cos, lambda b: 1.0),
    "softplus": (gc.softplus, lambda b: b + 1.0),
    "gelu": (gc.gelu, lambda b: b),
    "erf": (gc.erf, lambda b: 1.0),
    "leaky_relu": (lambda x: gc.leaky_relu(x, 0.1), lambda b: b),
    "elu": (gc.elu, lambda b: b),
    "log": (lambda x: gc.log(gc.abs(x) + 0.5), lambda b: abs(np.log(b + 0.5)) + 1.0),
    "log1p": (lambda x: gc.log1p(gc.abs(x)), lambda b: np.log1p(b)),
    "sqrt": (lambda x: gc.sqrt(gc.abs(x) + 0.25), lambda b: np.sqrt(b + 0.25)),
    "rsqrt": (lambda x: gc.rsqrt(gc.abs(x) + 0.25), lambda b: 2.0),
    "reciprocal": (lambda x: gc.reciprocal(gc.abs(x) + 0.5), lambda b: 2.0),
}
GROWING_UNARY: dict[str, tuple[Callable[[gc.Tensor], gc.Tensor], Callable[[float], float]]] = {
    "exp": (gc.exp, lambda b: float(np.exp(b))),
    "square": (gc.square, lambda b: b * b),
}


def step_unary(b: Builder) -> str:
    table = {**UNARY, **GROWING_UNARY}
    name = list(table)[int(b.rng.integers(len(table)))]
    fn, bound = table[name]
    a = b.tame(b.pick(), 3.0) if name in GROWING_UNARY else b.pick()
    b.add(fn(a.t), bound(a.bound))
    return name


BINARY: dict[str, tuple[Callable[[gc.Tensor, gc.Tensor], gc.Tensor], Callable]] = {
    "add": (lambda x, y: x + y, lambda p, q: p + q),
    "sub": (lambda x, y: x - y, lambda p, q: p + q),
    "mul": (lambda x, y: x * y, lambda p, q: p * q),
    "maximum": (gc.maximum, max),
    "minimum": (gc.minimum, max),
    "div": (lambda x, y: x / (gc.abs(y) + 0.5), lambda p, q: 2.0 * p),
    "pow": (lambda x, y: (gc.abs(x) + 0.5) ** gc.tanh(y), lambda p, q: p + 0.5 + 2.0),
}


def step_binary(b: Builder) -> str:
    name = list(BINARY)[int(b.rng.integers(len(BINARY)))]
    fn, bound = BINARY[name]
    a = b.tame(b.pick())
    c = b.tame(b.partner(a))
    if b.rng.random() < 0.5:
        a, c = c, a
    b.add(fn(a.t, c.t), bound(a.bound, c.bound))
    return name


COMPARE = {
    "greater": gc.greater, "less": gc.less, "greater_equal": gc.greater_equal,
    "less_equal": gc.less_equal, "not_equal": gc.not_equal,
}


def step_compare(b: Builder) -> str:
    name = list(COMPARE)[int(b.rng.integers(len(COMPARE)))]
    a, c = b.pick(), None
    c = b.partner(a)
    cond = COMPARE[name](a.t, c.t)
    form = int(b.rng.integers(3))
    if form == 0:
        out = gc.where(cond, a.t, c.t)
    elif form == 1:
        both = gc.logical_and(cond, gc.greater(a.t, 0.25))
        out = gc.where(gc.logical_or(both, gc.less(c.t, -1.5)), a.t * 2.0, c.t)
    else:
        out = a.t * gc.cast(cond, b.dtype)
    b.add(out, 2.0 * max(a.bound, c.bound))
    return f"where/{name}"


REDUCE = {"sum": gc.sum, "mean": gc.mean, "max": gc.max, "min": gc.min,
          "logsumexp": gc.logsumexp, "prod": gc.prod}


def step_reduce(b: Builder) -> str:
    name = list(REDUCE)[int(b.rng.integers(len(REDUCE)))]
    a = b.pick()
    rank = len(a.shape)
    axis = None if rank == 0 or b.rng.random() < 0.2 else int(b.rng.integers(-rank, rank))
    keep = bool(b.rng.random() < 0.5)
    n = int(np.prod(a.shape)) if axis is None else a.shape[axis]
    if name in ("prod", "logsumexp"):  # a long product of values below 2 could still overflow
        a = b.tame(a, 2.0 if n <= 8 else 1.0)
    bound = {"sum": a.bound * n, "prod": a.bound ** min(n, 8)}.get(name, a.bound + np.log(n + 1))
    b.add(REDUCE[name](a.t, axis=axis, keepdims=keep), float(bound))
    return f"{name}(axis={axis},keepdims={keep})"


def step_matmul(b: Builder) -> str:
    a = b.tame(b.pick(), 4.0)
    rank = len(a.shape)
    if rank == 0:
        a = b.tame(b.pick(2), 4.0)
        rank = 2
    k, n = a.shape[-1], int(b.rng.integers(1, 6 if b.rng.random() < 0.7 else 40))
    other = (k, n) if rank != 3 or b.rng.random() < 0.5 else (a.shape[0], k, n)
    if rank > 3:
        other = (k, n)
    w = b.tame(b.leaf(other), 4.0)
    if b.rng.random() < 0.3 and rank == 2 and a.shape[0] == k:  # a @ a-like: square operand
        w = a
    b.add(gc.matmul(a.t, w.t), float(a.bound * w.bound * k))
    return f"matmul{a.shape}x{w.shape}"


def _reshape(b: Builder, a: Val) -> gc.Tensor:
    size = int(np.prod(a.shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    d = divisors[int(b.rng.integers(len(divisors)))]
    return gc.reshape(a.t, (d, -1) if b.rng.random() < 0.5 else (-1, d))


def _slice(b: Builder, a: Val) -> gc.Tensor:
    begin = [int(b.rng.integers(0, max(1, n))) for n in a.shape]
    end = [int(b.rng.integers(s + 1, n + 1)) for s, n in zip(begin, a.shape, strict=True)]
    step = [int(b.rng.integers(1, 3)) for _ in a.shape]
    return gc.slice(a.t, begin, end, step)


def _getitem(b: Builder, a: Val) -> gc.Tensor:
    if a.shape[0] > 1 and b.rng.random() < 0.5:
        return a.t[1:]
    return a.t[::-1] if b.rng.random() < 0.5 else a.t[0]


def _split(b: Builder, a: Val) -> gc.Tensor:
    axis = int(b.rng.integers(len(a.shape)))
    n = a.shape[axis]
    parts = gc.split(a.t, [n // 2] if n > 1 else 1, axis=axis)
    return parts[int(b.rng.integers(len(parts)))]


def _take(b: Builder, a: Val) -> gc.Tensor:
    axis = int(b.rng.integers(len(a.shape)))
    idx = b.rng.integers(0, a.shape[axis], int(b.rng.integers(1, 5)))
    return gc.take(a.t, idx.astype(np.int64), axis=axis)


def _broadcast(b: Builder, a: Val) -> gc.Tensor:
    return gc.broadcast_to(gc.expand_dims(a.t, 0), (int(b.rng.integers(1, 4)), *a.shape))


def _squeeze(b: Builder, a: Val) -> gc.Tensor:
    return gc.squeeze(gc.expand_dims(a.t, int(b.rng.integers(0, len(a.shape) + 1))))


SHAPE_OPS: dict[str, Callable[[Builder, Val], gc.Tensor]] = {
    "transpose": lambda b, a: gc.transpose(a.t, tuple(b.rng.permutation(len(a.shape)))),
    "reshape": _reshape,
    "flatten": lambda b, a: gc.flatten(a.t),
    "broadcast_to": _broadcast,
    "squeeze": _squeeze,
    "concat": lambda b, a: gc.concat([a.t, a.t * 0.5], axis=int(b.rng.integers(len(a.shape)))),
    "stack": lambda b, a: gc.stack([a.t, -a.t], axis=int(b.rng.integers(len(a.shape) + 1))),
    "split": _split,
    "slice": _slice,
    "getitem": _getitem,
    "pad": lambda b, a: gc.pad(a.t, [(int(p), int(q)) for p, q in
                                     b.rng.integers(0, 3, (len(a.shape), 2))], 0.5),
    "take": _take,
}


def step_shape(b: Builder) -> str:
    name = list(SHAPE_OPS)[int(b.rng.integers(len(SHAPE_OPS)))]
    a = b.pick()
    if not a.shape:
        a = b.pick(2)
    b.add(SHAPE_OPS[name](b, a), a.bound)
    return name


def step_softmax(b: Builder) -> str:
    a = b.pick()
    if len(a.shape) < 1:
        a = b.pick(2)
    axis = int(b.rng.integers(-len(a.shape), len(a.shape)))
    form = int(b.rng.integers(4))
    if form == 0:
        b.add(gc.softmax(a.t, axis=axis), 1.0)
        return f"softmax(axis={axis})"
    if form == 1:
        b.add(gc.log_softmax(b.tame(a).t, axis=axis), BIG + 5.0)
        return f"log_softmax(axis={axis})"
    if form == 2 and len(a.shape) == 2:
        labels = b.rng.integers(0, a.shape[1], a.shape[0]).astype(np.int64)
        b.add(gc.softmax_cross_entropy(b.tame(a).t, gc.constant(labels)), 2 * BIG)
        return "softmax_cross_entropy"
    c = b.tame(b.partner(a))
    b.add(gc.mse(b.tame(a).t, c.t), BIG * BIG)
    return "mse"


def step_conv(b: Builder) -> str:
    fours = [v for v in b.pool if len(v.shape) == 4 and min(v.shape[2:]) >= 3]
    x = b.tame(fours[-1] if fours and b.rng.random() < 0.5 else
               b.leaf((int(b.rng.integers(1, 3)), int(b.rng.integers(1, 4)),
                       int(b.rng.integers(3, 8)), int(b.rng.integers(3, 8)))), 4.0)
    n, c, h, w = x.shape
    k = int(b.rng.integers(1, min(h, w, 3) + 1))
    stride, pad = int(b.rng.integers(1, 3)), int(b.rng.integers(0, k))
    kind = int(b.rng.integers(4))
    if kind <= 1:
        wt = b.tame(b.leaf((int(b.rng.integers(1, 4)), c, k, k)), 4.0)
        y = gc.conv2d(x.t, wt.t, stride=stride, padding=pad)
        bound = x.bound * wt.bound * c * k * k
        label = f"conv2d(k={k},s={stride},p={pad})"
    else:
        pool = gc.max_pool2d if kind == 2 else gc.avg_pool2d
        y = pool(x.t, k, stride=stride, padding=k // 2)
        bound, label = x.bound, f"{pool.__name__}(k={k},s={stride})"
    b.add(y, float(bound))
    return label


STEPS: list[tuple[Callable[[Builder], str], float]] = [
    (step_unary, 3.0), (step_binary, 3.0), (step_compare, 1.0), (step_reduce, 1.5),
    (step_matmul, 1.0), (step_shape, 2.0), (step_softmax, 1.0), (step_conv, 0.7),
    *MORE_STEPS,
]


def random_graph(seed: int, dtype: str, max_steps: int = 8) -> RandomGraph:
    """The random graph number ``seed``: results, a scalar loss and d loss / d leaves."""
    rng = np.random.default_rng(seed)
    g = gc.Graph(f"fuzz{seed}")
    b = Builder(rng, dtype)
    fns = [fn for fn, _ in STEPS]
    p = np.asarray([w for _, w in STEPS]) / sum(w for _, w in STEPS)
    with g:
        for _ in range(int(rng.integers(2, max_steps + 1))):
            b.steps.append(fns[int(rng.choice(len(fns), p=p))](b))
        results = [b.pool[-1].t] + ([b.pool[-2].t] if len(b.pool) > 1 else [])
        loss = sum(gc.sum(r * b.const_like(tuple(int(d) for d in r.shape))) for r in results)
        grads = gc.grad(loss, b.leaves, disconnected="zero")
        updates, initial = [], []
        if b.param is not None:  # a gradient step: w <- w - 0.1 * d loss / d w
            w, value = b.param
            i = [t is w for t in b.leaves].index(True)  # by identity: Tensor == is elementwise
            updates = [(w, w - grads[i] * 0.1)]
            initial = [value]
    return RandomGraph(g, b.inputs, [*results, loss, *grads], b.feeds, b.steps, updates, initial)
