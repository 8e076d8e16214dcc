"""W6: one LSTM layer (input 64, hidden 256, batch 32, T = 50): SGD training step with
cross-entropy on the last output, and the forward alone.

Every system starts from the same parameters (torch.nn.LSTM's layout and gate order i, f, g, o,
which gc.nn.LSTM shares) and the same batch. graphc runs the sequence as one ``scan`` node
compiled into its native entry (gc.nn.LSTM); JAX runs ``lax.scan``; PyTorch its nn.LSTM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.harness import (
    GRAPHC,
    PEER,
    System,
    Workload,
    abs_compare,
    loss_probe,
    output_probe,
    rel_compare,
)
from benchmarks.hostinfo import require

REFERENCE = "PyTorch eager"
LR = 0.1
SLOTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


@dataclass(frozen=True)
class Shape:
    steps: int = 50
    batch: int = 32
    inputs: int = 64
    hidden: int = 256


QUICK = Shape(steps=5, batch=4, inputs=8, hidden=16)


def params(s: Shape) -> dict[str, np.ndarray]:
    """torch.nn.LSTM's initialization, U(-1/sqrt(H), 1/sqrt(H)), from a fixed seed."""
    rng = np.random.default_rng(6)
    k, g = 1 / np.sqrt(s.hidden), 4 * s.hidden
    shapes = {"weight_ih_l0": (g, s.inputs), "weight_hh_l0": (g, s.hidden),
              "bias_ih_l0": (g,), "bias_hh_l0": (g,)}
    return {n: rng.uniform(-k, k, shape).astype(np.float32) for n, shape in shapes.items()}


def batch(s: Shape) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(s.steps, s.batch, s.inputs)).astype(np.float32)
    return x, rng.integers(0, s.hidden, s.batch).astype(np.int64)


# --- graphc ---------------------------------------------------------------------------------


def graphc_system(s: Shape, train: bool) -> Callable[[], Any]:
    import graphc as gc

    init, (xv, yv) = params(s), batch(s)
    with gc.Graph("w6"):
        x = gc.placeholder("x", ("T", s.batch, s.inputs))
        lstm = gc.nn.LSTM(s.inputs, s.hidden, name="lstm")
        out, _ = lstm(x)
        for slot in SLOTS:
            getattr(lstm, slot).value = init[slot].copy()
        if not train:
            f = gc.function([x], out, backend="llvm")
            return lambda: f(xv)
        y = gc.placeholder("y", (s.batch,), "int64")
        loss = gc.mean(gc.softmax_cross_entropy(out[-1], y))
        opt = gc.optim.SGD(lstm.params, lr=LR)
        f = gc.function([x, y], loss, updates=opt.updates(loss), backend="llvm")
    return lambda: f(xv, yv)


# --- PyTorch --------------------------------------------------------------------------------


def torch_system(s: Shape, train: bool, compiled: bool) -> Callable[[], Any]:
    torch = require("torch")
    m = torch.nn.LSTM(s.inputs, s.hidden)
    with torch.no_grad():
        for slot, v in params(s).items():
            getattr(m, slot).copy_(torch.from_numpy(v.copy()))
    xv, yv = batch(s)
    x, y = torch.from_numpy(xv), torch.from_numpy(yv)
    if not train:
        fwd = torch.compile(m) if compiled else m

        def infer() -> Any:
            with torch.no_grad():
                return fwd(x)[0].numpy()

        return infer
    opt = torch.optim.SGD(m.parameters(), lr=LR)

    def loss_of() -> Any:
        return torch.nn.functional.cross_entropy(m(x)[0][-1], y)

    loss_fn = torch.compile(loss_of) if compiled else loss_of

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


# --- JAX ------------------------------------------------------------------------------------


def _jax_forward(jax: Any) -> Callable:
    jnp = jax.numpy

    def forward(p: dict, x: Any) -> Any:
        w_ih, w_hh = p["weight_ih_l0"].T, p["weight_hh_l0"].T
        xp = x @ w_ih + p["bias_ih_l0"] + p["bias_hh_l0"]

        def cell(carry: tuple, xt: Any) -> tuple:
            h, c = carry
            i, f, g, o = jnp.split(xt + h @ w_hh, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zero = jnp.zeros((x.shape[1], w_hh.shape[0]), x.dtype)
        _, hs = jax.lax.scan(cell, (zero, zero), xp)
        return hs

    return forward


def jax_system(s: Shape, train: bool) -> Callable[[], Any]:
    jax = require("jax")
    jnp = jax.numpy
    forward = _jax_forward(jax)
    p = {k: jnp.asarray(v) for k, v in params(s).items()}
    xv, yv = batch(s)
    x, y = jnp.asarray(xv), jnp.asarray(yv)
    if not train:
        fwd = jax.jit(forward)
        return lambda: np.asarray(fwd(p, x).block_until_ready())

    def loss_fn(p: dict) -> Any:
        logits = forward(p, x)[-1]
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()

    def update(p: dict) -> tuple:
        loss, g = jax.value_and_grad(loss_fn)(p)
        return jax.tree.map(lambda a, b: a - LR * b, p, g), loss

    jitted = jax.jit(update, donate_argnums=0)
    state = [p]

    def step() -> Any:
        state[0], loss = jitted(state[0])
        return loss.block_until_ready()

    return step


def systems(s: Shape, train: bool) -> list[System]:
    return [
        System(REFERENCE, PEER, lambda: torch_system(s, train, False)),
        System("graphc llvm", GRAPHC, lambda: graphc_system(s, train)),
        System("torch.compile", PEER, lambda: torch_system(s, train, True), slow_compile=True),
        System("JAX jit", PEER, lambda: jax_system(s, train)),
    ]


def workloads(quick: bool) -> list[Workload]:
    """The training step and the forward alone (--quick: the step alone at toy sizes)."""
    s = QUICK if quick else Shape()
    size = f"input {s.inputs}, hidden {s.hidden}, batch {s.batch}, T = {s.steps}"
    note = ("one LSTM layer, cross-entropy on the last output, SGD lr 0.1; every system starts "
            "from the same parameters (torch.nn.LSTM's layout).")
    step = Workload(f"W6: LSTM training step ({size})", systems(s, True), loss_probe(3),
                    rel_compare(1e-4), REFERENCE,
                    [note, "check = first 3 losses within 1e-4 of PyTorch eager's."])
    if quick:
        return [step]
    return [
        step,
        Workload(f"W6: LSTM forward, inference ({size})", systems(s, False), output_probe,
                 abs_compare(1e-4), REFERENCE,
                 ["check = largest absolute difference of the outputs from PyTorch eager's "
                  "(ok within 1e-4)."]),
    ]
