"""graphc versions of the workloads; each says which missing feature keeps it from running."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.harness import Skip
from benchmarks.models import LR, CNNShape

MLP_NEEDS = ("grad", "matmul", "relu", "softmax_cross_entropy", "mean")
CNN_NEEDS = MLP_NEEDS + ("conv2d", "max_pool2d", "reshape")
ELEMENTWISE_NEEDS = ("sigmoid", "tanh", "exp")


def _graphc(needs: Sequence[str]) -> Any:
    try:
        import graphc as gc
    except Exception as exc:
        raise Skip(f"graphc does not import: {type(exc).__name__}: {exc}") from exc
    missing = [n for n in needs if not hasattr(gc, n)]
    if missing:
        raise Skip("graphc lacks " + ", ".join(f"gc.{n}" for n in missing) + " (not built yet)")
    return gc


def _compile(gc: Any, inputs: list, outputs: Any, updates: list | None, backend: str) -> Any:
    """gc.function, turning a backend that does not exist yet into a skip."""
    try:
        return gc.function(inputs, outputs, updates=updates, backend=backend)
    except (ImportError, NotImplementedError) as exc:
        raise Skip(f"backend {backend!r} not available: {type(exc).__name__}: {exc}") from exc


def _sgd_updates(gc: Any, loss: Any, params: list) -> list:
    grads = gc.grad(loss, params)
    return [(p, p - LR * g) for p, g in zip(params, grads, strict=True)]


def _dense(x: Any, w: Any, b: Any) -> Any:
    return x @ w + b


def mlp_step(backend: str, init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable:
    """The W1 training step as one gc.function with SGD updates; returns step() -> loss."""
    gc = _graphc(MLP_NEEDS)
    g = gc.Graph("mlp_step")
    with g:
        xs = gc.placeholder("x", ("B", x.shape[1]), "float32")
        ys = gc.placeholder("y", ("B",), "int64")
        ps = [gc.parameter(f"p{i}", v.copy()) for i, v in enumerate(init)]
        h = gc.relu(_dense(xs, ps[0], ps[1]))
        h = gc.relu(_dense(h, ps[2], ps[3]))
        loss = gc.mean(gc.softmax_cross_entropy(_dense(h, ps[4], ps[5]), ys))
        updates = _sgd_updates(gc, loss, ps)
    fn = _compile(gc, [xs, ys], loss, updates, backend)
    return lambda: fn(x, y)


def _conv_block(gc: Any, h: Any, k: Any, b: Any) -> Any:
    return gc.max_pool2d(gc.relu(gc.conv2d(h, k, b, stride=1, padding=1)), 2, stride=2)


def cnn_step(backend: str, init: list[np.ndarray], x: np.ndarray, y: np.ndarray,
             s: CNNShape) -> Callable:
    """The W2 training step; returns step() -> loss."""
    gc = _graphc(CNN_NEEDS)
    g = gc.Graph("cnn_step")
    with g:
        xs = gc.placeholder("x", ("B", 1, s.side, s.side), "float32")
        ys = gc.placeholder("y", ("B",), "int64")
        ps = [gc.parameter(f"p{i}", v.copy()) for i, v in enumerate(init)]
        h = _conv_block(gc, _conv_block(gc, xs, ps[0], ps[1]), ps[2], ps[3])
        h = gc.relu(_dense(gc.reshape(h, (-1, s.flat)), ps[4], ps[5]))
        loss = gc.mean(gc.softmax_cross_entropy(_dense(h, ps[6], ps[7]), ys))
        updates = _sgd_updates(gc, loss, ps)
    fn = _compile(gc, [xs, ys], loss, updates, backend)
    return lambda: fn(x, y)


def elementwise(backend: str, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """W3's expression as a gc.function of three 1-D inputs; returns run() -> array."""
    gc = _graphc(ELEMENTWISE_NEEDS)
    g = gc.Graph("elementwise")
    with g:
        xs, as_, bs = (gc.placeholder(n, ("N",), "float32") for n in ("x", "a", "b"))
        out = gc.sigmoid(xs * as_ + bs) * gc.tanh(xs) - gc.exp(-(xs * xs)) + 0.5 * as_
    fn = _compile(gc, [xs, as_, bs], out, None, backend)
    return lambda: fn(x, a, b)
