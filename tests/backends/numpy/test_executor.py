"""The planned numpy executor: buffers, in-place updates, rebinding dims, fused kernels."""

from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.backends.numpy.executor import Executor
from graphc.backends.numpy.interpreter import run_graph
from tests.passes.irtext import ir


def _chain(passes=None):
    g = gc.Graph("chain")
    with g:
        x = gc.placeholder("x", ("B", 4))
        w = gc.parameter("w", np.arange(16, dtype=np.float32).reshape(4, 4) / 10)
        h = gc.tanh(x @ w) * 2.0
        y = gc.exp(h) - h
        new_w = w - 0.5 * gc.sum(y)
    return gc.function([x], [y, h], updates=[(w, new_w)], passes=passes), w


def test_results_are_not_overwritten_by_the_next_call():
    fn, _ = _chain()
    first = fn(np.ones((3, 4), np.float32))
    kept = [a.copy() for a in first]
    fn(np.full((3, 4), 5, np.float32))
    for a, b in zip(first, kept, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rebinding_dims_builds_a_new_plan_and_matches_the_reference():
    fn, _ = _chain()
    ref, _ = _chain(passes=[])
    for batch in (2, 7, 2):
        x = np.linspace(-1, 1, batch * 4, dtype=np.float32).reshape(batch, 4)
        for a, b in zip(fn(x), ref(x), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    assert len(fn.executable.executor.programs) == 2


def test_parameter_updated_in_place_when_the_plan_allows():
    fn, w = _chain()
    cell = w.value
    fn(np.ones((2, 4), np.float32))
    assert w.value is cell  # written into the same array
    assert "written into parameter %w in place" in str(fn.memory_plan())


def test_fused_nodes_write_into_planned_buffers():
    g = gc.parse(ir("""
    graph @g(%x: f32[B,4], %b: f32[4]) -> (f32[B], f32[B,4]) {
      %0 = fused %x, %b : f32[B,4], f32[B,4] {
        ^(%a0: f32, %a1: f32):
          %1 = add %a0, %a1 : f32
          %2 = exp %1 : f32
          %3 = greater %1, %a1 : bool
          %4 = where %3, %2, %a1 : f32
          yield %2, %4
      }
      %5 = fused_reduce %0#0, %b {reduce = "max", axis = [1]} : f32[B] {
        ^(%a0: f32, %a1: f32):
          %6 = mul %a0, %a1 : f32
          yield %6
      }
      return %5, %0#1
    }
    """.replace("%0 = fused", "%0, %7 = fused").replace("%0#0", "%0").replace("%0#1", "%7")))
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    b = np.array([0.5, -1, 2, 0], np.float32)
    from graphc.ops.shape import runtime_dims

    with runtime_dims({"B": 3}):
        want = run_graph(g, [x, b])
        got = Executor(g).run([x, b], {"B": 3})
    for a, c in zip(want, got, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-6)
