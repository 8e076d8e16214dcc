"""One process of the checkpoint runs: save states 0, 1, 2, ... to one path until killed.

State k is every parameter filled with k. 'ready' is printed once state 0 is on disk.
"""

from __future__ import annotations

import sys

import numpy as np

import graphc as gc

SHAPES = {"w": ((256, 512), "float32"), "b": ((512,), "float64"), "m": ((64, 64, 8), "float32")}


def params() -> list[gc.Tensor]:
    """The parameters every process saves and the parent loads into."""
    g = gc.Graph("ckpt")
    with g:
        return [gc.parameter(n, np.zeros(s, d)) for n, (s, d) in SHAPES.items()]


def main(path: str) -> int:
    ps = params()
    k = 0
    while True:
        for p in ps:
            p.value = np.full(p.value.shape, k, p.value.dtype)
        gc.save(path, ps)
        if k == 0:
            print("ready", flush=True)
        k += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
