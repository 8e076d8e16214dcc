"""One process of the cache-fault runs: compile a fixed graph on llvm, check it, print 'ok'.

Exit 0 and 'ok' when the llvm results equal the numpy reference; 3 on a wrong result; an
exception exits 1 with its traceback (the parent counts both as failures).
"""

from __future__ import annotations

import sys

import numpy as np

import graphc as gc


def build() -> tuple[list[gc.Tensor], list[gc.Tensor], list[np.ndarray]]:
    """A small training-step-like graph: matmul, bias, tanh, softmax, loss and gradients."""
    rng = np.random.default_rng(0)
    g = gc.Graph("cachecheck")
    with g:
        x = gc.placeholder("x", ("B", 6), "float32")
        w = gc.placeholder("w", (6, 4), "float32")
        b = gc.placeholder("b", (4,), "float32")
        h = gc.tanh(x @ w + b)
        loss = gc.mean(gc.log_softmax(h * 3.0, axis=-1)) + gc.sum(gc.exp(-h * h))
        gw, gb = gc.grad(loss, [w, b])
    feeds = [rng.standard_normal(s).astype(np.float32) for s in ((5, 6), (6, 4), (4,))]
    return [x, w, b], [h, loss, gw, gb], feeds


def main() -> int:
    inputs, outputs, feeds = build()
    ref = gc.function(inputs, outputs, backend="numpy", passes=[])(*feeds)
    got = gc.function(inputs, outputs, backend="llvm")(*feeds)
    for r, o in zip(ref, got, strict=True):
        if not np.allclose(o, r, rtol=1e-4, atol=1e-5):
            print(f"mismatch: max difference {np.abs(o - r).max()}")
            return 3
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
