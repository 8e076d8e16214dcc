"""W1: one SGD training step of the 784-256-256-10 ReLU MLP with softmax cross-entropy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks import graphc_steps, mlp_peers
from benchmarks.harness import (
    BASELINE,
    GRAPHC,
    PEER,
    REFERENCE_COST,
    System,
    Workload,
    loss_probe,
    rel_compare,
)
from benchmarks.models import MLP_SIZES, batch, mlp_params, sgd, softmax_xent

BATCHES = (32, 128, 1024)
QUICK_BATCHES = (32,)
REFERENCE = "NumPy by hand"


def numpy_step(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable:
    """Forward and backward written by hand in NumPy, SGD in place."""
    w1, b1, w2, b2, w3, b3 = ps = [p.copy() for p in init]

    def step() -> np.float32:
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        logits = h2 @ w3
        logits += b3
        loss, g3 = softmax_xent(logits, y)
        g2 = g3 @ w3.T
        g2 *= h2 > 0
        g1 = g2 @ w2.T
        g1 *= h1 > 0
        grads = [x.T @ g1, g1.sum(0), h1.T @ g2, g2.sum(0), h2.T @ g3, g3.sum(0)]
        sgd(ps, grads)
        return loss

    return step


def gemm_floor(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable:
    """Only the step's 8 matrix products (3 forward, 5 backward) into preallocated outputs."""
    w1, _, w2, _, w3, _ = init
    n = len(x)
    h1, h2 = np.ones((n, MLP_SIZES[1]), np.float32), np.ones((n, MLP_SIZES[2]), np.float32)
    lo = np.empty((n, MLP_SIZES[3]), np.float32)
    g3, g2, g1 = np.full_like(lo, 0.01), np.empty_like(h2), np.empty_like(h1)
    dw = [np.empty_like(w) for w in (w1, w2, w3)]

    def step() -> None:
        np.matmul(x, w1, out=h1)
        np.matmul(h1, w2, out=h2)
        np.matmul(h2, w3, out=lo)
        np.matmul(h2.T, g3, out=dw[2])
        np.matmul(g3, w3.T, out=g2)
        np.matmul(h1.T, g2, out=dw[1])
        np.matmul(g2, w2.T, out=g1)
        np.matmul(x.T, g1, out=dw[0])

    return step


def systems(n: int) -> list[System]:
    """Every contender for batch size ``n`` (builders are lazy: nothing is imported here)."""
    init = mlp_params()
    x, y = batch((n, MLP_SIZES[0]))

    def gcs(backend: str) -> Callable[[], Callable]:
        return lambda: graphc_steps.mlp_step(backend, init, x, y)

    return [
        System(REFERENCE, BASELINE, lambda: numpy_step(init, x, y)),
        System("graphc numpy", GRAPHC, gcs("numpy")),
        System("graphc llvm", GRAPHC, gcs("llvm")),
        *[System(name, PEER, lambda b=b: b(init, x, y), note, slow)
          for name, b, note, slow in mlp_peers.BUILDERS],
        System("reference cost: NumPy GEMMs only", REFERENCE_COST, lambda: gemm_floor(init, x, y),
               "3 forward + 5 backward matmuls, out= buffers (timed code, not a bound)"),
    ]


def step_cost(n: int) -> tuple[float, float]:
    """(FLOPs, bytes) no step at batch ``n`` can avoid: the 8 matrix products (3 forward, 2
    backward through the activations, 3 weight gradients); reading the batch and reading and
    writing every parameter once."""
    d = MLP_SIZES
    layers = [(d[i], d[i + 1]) for i in range(len(d) - 1)]
    weights = sum(a * b for a, b in layers)
    flops = 2.0 * n * (3 * weights - layers[0][0] * layers[0][1])  # no input gradient
    params = weights + sum(b for _, b in layers)
    nbytes = 4.0 * (n * d[0] + 2 * params) + 8.0 * n
    return flops, nbytes


def floor(n: int) -> Callable[[], tuple[float, str]]:
    """The lower bound of one step from the machine's peaks."""

    def compute() -> tuple[float, str]:
        from benchmarks.machine import peaks

        p = peaks()
        flops, nbytes = step_cost(n)
        return p.floor(flops, nbytes), (f"{flops / 1e6:.1f} MFLOP at {p.flops_bound / 1e9:.0f} "
                                        f"GFLOP/s, {nbytes / 1e6:.2f} MB at "
                                        f"{p.bytes / 1e9:.1f} GB/s (lower bound)")

    return compute


def workloads(quick: bool) -> list[Workload]:
    """One workload per batch size."""
    notes = ["float32, SGD lr 0.1, integer labels; check = largest relative difference of the "
             "first 3 losses against NumPy by hand (ok within 1e-4)."]
    return [
        Workload(f"W1: MLP 784-256-256-10 training step, batch {n}", systems(n), loss_probe(3),
                 rel_compare(1e-4), REFERENCE, notes, floor(n))
        for n in (QUICK_BATCHES if quick else BATCHES)
    ]
