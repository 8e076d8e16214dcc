"""fn.memory_plan() is the plan of the backend that runs: its arena is the one allocated."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

BATCH = 32


def _mlp(backend: str, **options: object) -> gc.Function:
    rng = np.random.default_rng(0)
    g = gc.Graph("mlp")
    with g:
        x = gc.placeholder("x", ("B", 64))
        w1 = gc.parameter("w1", rng.standard_normal((64, 96)).astype(np.float32) * 0.1)
        w2 = gc.parameter("w2", rng.standard_normal((96, 10)).astype(np.float32) * 0.1)
        h = gc.relu(x @ w1)
        y = gc.tanh(h @ w2) * 2.0
        loss = gc.sum(y * y)
        g1, g2 = gc.grad(loss, [w1, w2])
    return gc.function([x], [loss], updates=[(w1, w1 - 0.1 * g1), (w2, w2 - 0.1 * g2)],
                       backend=backend, **options)


def _call(fn: gc.Function) -> None:
    fn(np.linspace(-1, 1, BATCH * 64, dtype=np.float32).reshape(BATCH, 64))


def test_llvm_plan_is_the_compiled_arena():
    fn = _mlp("llvm", threads=2)
    _call(fn)
    plan = fn.memory_plan()
    compiled = fn.compile_report()[-1].arena_bytes
    assert plan.backend == "llvm"
    assert plan.arena_bytes == compiled > 0
    assert plan.scratch_per_thread > 0  # the GEMM's workspace, once per thread
    assert plan.arena_bytes == plan.scratch_offset + 2 * plan.scratch_per_thread
    variant = next(iter(fn.executable.variants.values()))
    assert variant.arena.nbytes == plan.arena_bytes


def test_numpy_plan_is_the_executor_arena():
    fn = _mlp("numpy")
    _call(fn)
    plan = fn.memory_plan()
    program = fn.executable.executor.program({"B": BATCH})
    assert plan.backend == "numpy"
    assert plan.arena_bytes == program.arena.nbytes > 0


def test_numpy_without_the_executor_plans_nothing():
    fn = _mlp("numpy", check_numerics=True)
    _call(fn)
    plan = fn.memory_plan()
    assert plan.arena_bytes == 0
    assert {s.kind for s in plan.slots.values()} <= {"fresh", "output", "view", "constant"}


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_plans_bind_other_dims_without_a_call(backend: str):
    fn = _mlp(backend)
    small, large = fn.memory_plan(B=8), fn.memory_plan(B=512)
    assert small.dims == {"B": 8} and large.arena_bytes > small.arena_bytes
