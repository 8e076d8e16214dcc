"""The numpy backend's MLP training step against a hand-written NumPy step.

    python benchmarks/numpy_step.py [--repeat 200] [--block 4]

784-256-256-10 MLP, relu, softmax cross-entropy, batch 128, float32, SGD: one graphc step
(forward, gc.grad backward, updates) compiled with the full pass pipeline and with passes=[],
timed against the same step written by hand in NumPy. Prints the time ratio (goal: <= 1.15)
and the peak traced memory of one step (goal: no higher than the hand-written step).
BLAS runs single-threaded unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise: on a
shared 2-core machine threaded GEMMs of this size vary 50x from run to run, which would drown
the difference being measured (both sides use the same BLAS either way).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

import graphc as gc  # noqa: E402

SIZES = (784, 256, 256, 10)
BATCH, LR = 128, 0.05


def init_params(seed: int = 0) -> list[np.ndarray]:
    """He-initialized weights and zero biases: w0, b0, w1, b1, w2, b2."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b in zip(SIZES[:-1], SIZES[1:], strict=True):
        out += [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32),
                np.zeros(b, np.float32)]
    return out


def graphc_step(params: list[np.ndarray], passes: object = None) -> tuple[gc.Function, list]:
    """The compiled training step and its parameter tensors."""
    g = gc.Graph("mlp_step")
    with g:
        x = gc.placeholder("x", ("B", SIZES[0]))
        y = gc.placeholder("y", ("B",), "int64")
        ps = [gc.parameter(f"p{i}", p.copy()) for i, p in enumerate(params)]
        h = x
        for i in range(len(SIZES) - 1):
            h = h @ ps[2 * i] + ps[2 * i + 1]
            h = gc.relu(h) if i < len(SIZES) - 2 else h
        loss = gc.mean(gc.softmax_cross_entropy(h, y))
        grads = gc.grad(loss, ps)
        updates = [(p, p - LR * gp) for p, gp in zip(ps, grads, strict=True)]
    return gc.function([x, y], loss, updates=updates, passes=passes), ps


def numpy_step(params: list[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], float]:
    """The same step by hand: what a NumPy user would write."""
    w0, b0, w1, b1, w2, b2 = (p.copy() for p in params)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        z0 = x @ w0 + b0
        h0 = np.maximum(z0, 0)
        z1 = h0 @ w1 + b1
        h1 = np.maximum(z1, 0)
        logits = h1 @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(np.mean(np.log(s[:, 0]) - shifted[rows, y]))
        g = e / s
        g[rows, y] -= 1
        g /= len(y)
        gw2, gb2 = h1.T @ g, g.sum(axis=0)
        gz1 = (g @ w2.T) * (z1 > 0)
        gw1, gb1 = h0.T @ gz1, gz1.sum(axis=0)
        gz0 = (gz1 @ w1.T) * (z0 > 0)
        gw0, gb0 = x.T @ gz0, gz0.sum(axis=0)
        for p, gp in ((w0, gw0), (b0, gb0), (w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2)):
            p -= LR * gp
        return loss

    return step


def timed(steps: list[Callable[..., object]], x: np.ndarray, y: np.ndarray,
          repeat: int, block: int) -> list[tuple[float, float]]:
    """(median, min) seconds per call of each step.

    Steps take turns, so that the load of a shared machine falls on every step alike; each
    turn is ``block`` calls in a row of which the first is not timed. That first call runs
    with the caches full of the other steps' weights and buffers (about 2 MiB each, the
    size of L2 here), which a training loop, calling one step again and again, never sees;
    ``block=1`` times exactly those calls instead.
    """
    for step in steps:
        for _ in range(5):
            step(x, y)
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeat):
        for i, step in enumerate(steps):
            for k in range(block):
                t = time.perf_counter()
                step(x, y)
                if k or block == 1:
                    times[i].append(time.perf_counter() - t)
    return [(float(np.median(t)), min(t)) for t in times]


def peak_bytes(make: Callable[[], Callable[..., object]], x: np.ndarray, y: np.ndarray) -> int:
    """Peak traced bytes of the first call of a freshly made step (buffers it keeps included)."""
    step = make()
    tracemalloc.start()
    try:
        step(x, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="turns per step")
    parser.add_argument("--block", type=int, default=4,
                        help="calls per turn, the first untimed (1: time every call, each "
                             "right after another step's, with cold caches)")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    params = init_params()
    losses = [graphc_step(params)[0](x, y), numpy_step(params)(x, y)]
    print(f"first-step loss: graphc {float(losses[0]):.6f}  numpy {losses[1]:.6f}")
    variants = {"hand-written numpy": lambda: numpy_step(params),
                "graphc full pipeline": lambda: graphc_step(params, None)[0],
                "graphc passes=[]": lambda: graphc_step(params, [])[0]}
    seconds = timed([make() for make in variants.values()], x, y, args.repeat, args.block)
    peaks = [peak_bytes(make, x, y) for make in variants.values()]
    rows = list(zip(variants, seconds, peaks, strict=True))
    (hand, hand_min) = seconds[0]
    print(f"{'step':<22} {'median ms':>9} {'ratio':>6} {'min ms':>7} {'ratio':>6} "
          f"{'peak KiB':>9} {'mem ratio':>9}")
    for label, (sec, low), mem in rows:
        print(f"{label:<22} {sec * 1e3:9.3f} {sec / hand:6.3f} {low * 1e3:7.3f} "
              f"{low / hand_min:6.3f} {mem / 1024:9.0f} {mem / rows[0][2]:9.3f}")


if __name__ == "__main__":
    main()
