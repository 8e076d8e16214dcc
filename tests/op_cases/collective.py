"""Catalogue cases for the collectives: in a world of one process each is the identity (the
multi-rank behaviour is tested under mpiexec in tests/distributed)."""

from __future__ import annotations

import numpy as np

from tests.op_cases import Case, f32


def args(*builders):
    return lambda rng: [b(rng) for b in builders]


def i32(*shape: int):
    return lambda rng: rng.integers(-50, 50, shape).astype(np.int32)


CASES = [
    Case("allreduce", args(f32(3, 4)), ref=lambda x: x),
    Case("allreduce", args(f32(5)), {"op": "mean"}, "mean", ref=lambda x: x),
    Case("allreduce", args(f32(2, 3)), {"op": "max"}, "max", grad_inputs=(), ref=lambda x: x),
    Case("allreduce", args(i32(4)), {"op": "min"}, "i32-min", ref=lambda x: x),
    Case("broadcast", args(f32(3, 2)), ref=lambda x: x),
    Case("broadcast", args(i32(6)), {"root": 0}, "i32", ref=lambda x: x),
]
