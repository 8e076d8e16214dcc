"""W1's MLP training step in the peer systems (PyTorch, JAX, PyTensor); imports are lazy."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.hostinfo import require
from benchmarks.models import LR

Step = Callable[[], Any]


def _torch_loss(torch: Any) -> Callable:
    f = torch.nn.functional

    def loss_fn(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any) -> Any:
        h = torch.relu(torch.addmm(b1, x, w1))
        h = torch.relu(torch.addmm(b2, h, w2))
        return f.cross_entropy(torch.addmm(b3, h, w3), y)

    return loss_fn


def torch_training(loss_fn: Callable, init: list[np.ndarray], inputs: tuple) -> Step:
    """A standard PyTorch loop body: loss, backward, torch.optim.SGD (foreach) step."""
    torch = require("torch")
    params = [torch.from_numpy(p.copy()).requires_grad_() for p in init]
    data = [torch.from_numpy(a) for a in inputs]
    opt = torch.optim.SGD(params, lr=LR, foreach=True)

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(*data, *params)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def torch_eager(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """PyTorch eager mode."""
    return torch_training(_torch_loss(require("torch")), init, (x, y))


def torch_compiled(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """torch.compile of the loss (forward and AOT backward compiled by Inductor)."""
    torch = require("torch")
    return torch_training(torch.compile(_torch_loss(torch)), init, (x, y))


def jax_training(loss_fn: Callable, init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """jax.jit of value_and_grad plus the SGD update, parameters donated."""
    jax = require("jax")

    def update(params: list, xb: Any, yb: Any) -> tuple[list, Any]:
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        return [p - LR * g for p, g in zip(params, grads, strict=True)], loss

    jitted = jax.jit(update, donate_argnums=0)
    state = [jax.device_put(p.copy()) for p in init]
    xb, yb = jax.device_put(x), jax.device_put(y.astype(np.int32))

    def step() -> Any:
        nonlocal state
        state, loss = jitted(state, xb, yb)
        return loss.block_until_ready()

    return step


def jax_xent(jax: Any, logits: Any, y: Any) -> Any:
    """Mean softmax cross-entropy on integer labels in JAX."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jax.numpy.take_along_axis(logp, y[:, None], axis=1).mean()


def jax_mlp(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Step:
    """JAX jit of the whole step."""
    jax = require("jax")

    def loss_fn(p: list, xb: Any, yb: Any) -> Any:
        h = jax.nn.relu(xb @ p[0] + p[1])
        h = jax.nn.relu(h @ p[2] + p[3])
        return jax_xent(jax, h @ p[4] + p[5], yb)

    return jax_training(loss_fn, init, x, y)


def pytensor_training(mode: str, loss_fn: Callable, init: list[np.ndarray],
                      x: np.ndarray, y: np.ndarray) -> Step:
    """pytensor.function with the SGD updates on shared variables, in the given mode."""
    # pip installs of PyTensor warn at import that its C linker found no BLAS; NUMBA needs none.
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    pytensor = require("pytensor")
    pt = require("pytensor.tensor")
    xs = pt.tensor("x", dtype="float32", shape=(None,) * x.ndim)
    ys = pt.vector("y", dtype="int64")
    params = [pytensor.shared(p.copy(), name=f"p{i}") for i, p in enumerate(init)]
    loss = loss_fn(pt, params, xs, ys)
    lr = np.float32(LR)
    updates = [(p, p - lr * g) for p, g in zip(params, pytensor.grad(loss, params), strict=True)]
    fn = pytensor.function([xs, ys], loss, updates=updates, mode=mode)
    return lambda: fn(x, y)


def pytensor_xent(pt: Any, logits: Any, y: Any) -> Any:
    """Mean softmax cross-entropy on integer labels in PyTensor."""
    logp = pt.special.log_softmax(logits, axis=-1)
    return -logp[pt.arange(y.shape[0]), y].mean()


def _pt_mlp(pt: Any, p: list, x: Any, y: Any) -> Any:
    h = pt.maximum(x @ p[0] + p[1], 0)
    h = pt.maximum(h @ p[2] + p[3], 0)
    return pytensor_xent(pt, h @ p[4] + p[5], y)


def pytensor_mlp(mode: str) -> Callable[..., Step]:
    """PyTensor in ``mode`` (e.g. "NUMBA")."""
    return lambda init, x, y: pytensor_training(mode, _pt_mlp, init, x, y)


# (row name, builder, note, slow to compile)
BUILDERS: list[tuple[str, Callable[..., Step], str, bool]] = [
    ("PyTorch eager", torch_eager, "torch.optim.SGD(foreach=True)", False),
    ("torch.compile", torch_compiled, "Inductor, default mode; optimizer step eager", True),
    ("JAX jit", jax_mlp, "value_and_grad + SGD in one jit, params donated", False),
    # PyTensor's default C linker finds no BLAS in a pip install (it warns so and recommends
    # NUMBA), so its GEMMs would be naive loops: NUMBA is the fair PyTensor here.
    ("PyTensor numba", pytensor_mlp("NUMBA"), "mode=NUMBA", True),
]
