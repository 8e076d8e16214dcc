"""Training steps (forward, gradients, SGD updates) on llvm match the NumPy interpreter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import graphc as gc

Model = Callable[[gc.Tensor, list[gc.Tensor]], gc.Tensor]


def _mlp(x: gc.Tensor, ps: list[gc.Tensor]) -> gc.Tensor:
    h = gc.relu(gc.matmul(x, ps[0]) + ps[1])
    h = gc.relu(gc.matmul(h, ps[2]) + ps[3])
    return gc.matmul(h, ps[4]) + ps[5]


def _cnn(x: gc.Tensor, ps: list[gc.Tensor]) -> gc.Tensor:
    h = gc.relu(gc.conv2d(x, ps[0], padding=1) + gc.reshape(ps[1], (1, 4, 1, 1)))
    h = gc.max_pool2d(h, kernel_size=2)
    h = gc.flatten(h, start_axis=1)
    return gc.matmul(h, ps[2]) + ps[3]


def _params(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    shapes = {
        "mlp": [(20, 16), (16,), (16, 16), (16,), (16, 5), (5,)],
        "cnn": [(4, 1, 3, 3), (4,), (4 * 4 * 4, 5), (5,)],
    }[kind]
    return [rng.normal(0, 0.3, s).astype(np.float32) for s in shapes]


def _step(kind: str, backend: str, x_shape: tuple) -> gc.Function:
    model: Model = {"mlp": _mlp, "cnn": _cnn}[kind]
    with gc.Graph(kind):
        x = gc.placeholder("x", ("B", *x_shape[1:]))
        y = gc.placeholder("y", ("B",), "int64")
        values = _params(kind, np.random.default_rng(0))
        ps = [gc.parameter(f"p{i}", v) for i, v in enumerate(values)]
        loss = gc.mean(gc.softmax_cross_entropy(model(x, ps), y))
        grads = gc.grad(loss, ps)
        ups = [(p, p - 0.2 * g) for p, g in zip(ps, grads, strict=True)]
        return gc.function([x, y], loss, updates=ups, backend=backend)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_twenty_steps_same_losses(kind: str) -> None:
    rng = np.random.default_rng(1)
    x_shape = (12, 20) if kind == "mlp" else (6, 1, 8, 8)
    xs = rng.normal(size=x_shape).astype(np.float32)
    ys = rng.integers(0, 5, x_shape[0])
    fast, slow = _step(kind, "llvm", x_shape), _step(kind, "numpy", x_shape)
    got = [float(fast(xs, ys)) for _ in range(20)]
    want = [float(slow(xs, ys)) for _ in range(20)]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert got[-1] < got[0]  # it trains
