"""Small compiled training steps the explorer tests draw."""

from __future__ import annotations

import numpy as np

import graphc as gc


def mlp_step(backend: str = "numpy", name: str = "mlp_step") -> gc.Function:
    """A 12-8-4 MLP training step (forward, gc.grad, SGD updates), called once on batch 6."""
    rng = np.random.default_rng(0)
    with gc.Graph(name):
        x = gc.placeholder("x", ("B", 12))
        y = gc.placeholder("y", ("B",), "int64")
        w0 = gc.parameter("w0", rng.normal(size=(12, 8)).astype(np.float32))
        w1 = gc.parameter("w1", rng.normal(size=(8, 4)).astype(np.float32))
        b0 = gc.parameter("b0", np.zeros(8, np.float32))
        logits = gc.relu(x @ w0 + b0) @ w1
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
        params = [w0, w1, b0]
        grads = gc.grad(loss, params)
        fn = gc.function([x, y], loss, backend=backend,
                         updates=[(p, p - 0.1 * g) for p, g in zip(params, grads, strict=True)])
    fn(rng.normal(size=(6, 12)).astype(np.float32), rng.integers(0, 4, 6))
    return fn


def ir_lines(fn: gc.Function, op: str) -> list[str]:
    """The lines of the function's IR that apply ``op`` (its printed form, stripped)."""
    return [line.strip() for line in fn.ir().splitlines() if f" = {op} " in line]
