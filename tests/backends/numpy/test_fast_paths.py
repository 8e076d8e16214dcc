"""The executor's fast paths give exactly the reference's numbers: out= kernels that replace
a reference kernel, nodes evaluated once per dims binding, matmul epilogues."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphc as gc
from graphc import ops
from graphc.backends.numpy.executor import Executor
from graphc.backends.numpy.interpreter import run_graph
from graphc.backends.numpy.outkernels import OUT
from graphc.ir.errors import BackendError
from graphc.ops.shape import runtime_dims
from tests.passes.irtext import ir

FLOATS = st.sampled_from([np.float16, np.float32, np.float64])
SPECIAL = st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.25])


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=FLOATS, zero=st.sampled_from([0.0, -0.0, 3.0]))
def test_where_into_out_matches_np_where_bit_for_bit(data, dtype, zero):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=6))
    x = data.draw(hnp.arrays(dtype, shape, elements=SPECIAL.map(float)))
    cond = data.draw(hnp.arrays(np.bool_, shape[-1:]))  # broadcast along the leading axes
    y = np.asarray(zero, dtype)
    want = np.where(cond, x, y)
    out = np.empty(shape, dtype)
    OUT[ops.where](out, cond, x, y)
    _same_bits(out, want)
    inplace = x.copy()  # the epilogue case: x already sits in the result buffer
    OUT[ops.where](inplace, cond, inplace, y)
    _same_bits(inplace, want)


@pytest.mark.parametrize("shape", [(128, 10), (3, 4, 5), (6, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_into_out_matches_the_reference(shape, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal(shape) * 30).astype(dtype)
    labels = rng.integers(0, shape[-1], shape[:-1])
    out = np.empty(shape[:-1], dtype)
    OUT[ops.softmax_cross_entropy](out, logits, labels)
    _same_bits(out, ops.softmax_cross_entropy.kernel(logits, labels))


MEANS = [((128,), (0,), False), ((5, 7, 3), (0, 2), True), ((4, 9), (1,), False)]


@pytest.mark.parametrize(("shape", "axis", "keep"), MEANS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_mean_into_out_matches_np_mean(shape, axis, keep, dtype):
    x = (np.random.default_rng(4).standard_normal(shape) * 7 + 3).astype(dtype)
    want = np.asarray(ops.mean.kernel(x, axis=axis, keepdims=keep))
    out = np.empty(want.shape, dtype)
    OUT[ops.mean](out, x, axis=axis, keepdims=keep)
    _same_bits(out, want)


def _mlp_step(batch_dim: str = "B"):
    rng = np.random.default_rng(0)
    g = gc.Graph("mlp")
    with g:
        x = gc.placeholder("x", (batch_dim, 12))
        y = gc.placeholder("y", (batch_dim,), "int64")
        ps, h = [], x
        for i, (a, b) in enumerate([(12, 16), (16, 7)]):
            w = gc.parameter(f"w{i}", rng.normal(0, 0.5, (a, b)).astype(np.float32))
            bias = gc.parameter(f"b{i}", rng.normal(0, 0.1, b).astype(np.float32))
            ps += [w, bias]
            h = h @ w + bias
            h = gc.relu(h) if i == 0 else h
        loss = gc.mean(gc.softmax_cross_entropy(h, y))
        grads = gc.grad(loss, ps)
    return gc.function([x, y], [loss, *grads], updates=[(p, p - 0.1 * d) for p, d in
                                                      zip(ps, grads, strict=True)])


def test_planned_training_step_is_bit_identical_to_the_reference_interpreter():
    fn = _mlp_step()  # full pipeline: matmul epilogues with relu masks, static 1/B nodes
    rng = np.random.default_rng(5)
    ex = Executor(fn.graph)
    for batch in (9, 4, 9):  # rebinding B re-evaluates the nodes that depend on it alone
        x = rng.standard_normal((batch, 12)).astype(np.float32)
        y = rng.integers(0, 7, batch)
        params = [p.param.value.copy() for p in fn.graph.params]
        with runtime_dims({"B": batch}), np.errstate(all="ignore"):
            for p, v in zip(fn.graph.params, params, strict=True):
                p.param.value = v.copy()
            want = run_graph(fn.graph, [x, y])
            for p, v in zip(fn.graph.params, params, strict=True):
                p.param.value = v.copy()
            got = ex.run([x, y], {"B": batch})
        for a, b in zip(got, want, strict=True):
            _same_bits(np.asarray(a), np.asarray(b))


def test_nodes_of_constants_alone_run_once_per_binding():
    fn = _mlp_step()
    fn(np.zeros((3, 12), np.float32), np.zeros(3, np.int64))
    prog = next(iter(fn.executable.executor.programs.values()))
    assert any(n.op is ops.broadcast_to for n in prog.static)  # the mean's 1/B gradient
    assert len(prog.steps) < len(fn.graph.nodes)


def test_a_returned_constant_is_fresh_on_every_call():
    g = gc.parse(ir("""
    graph @g(%x: f32[B]) -> (f32[B], f32[2]) {
      %0 = constant {value = dense<f32[2]: [1.0, 2.0]>} : f32[2]
      %1 = exp %0 : f32[2]
      %2 = transpose %1 : f32[2]
      %3 = add %x, %x : f32[B]
      return %3, %2
    }
    """))
    ex = Executor(g)
    x = np.ones(3, np.float32)
    with runtime_dims({"B": 3}):
        first = ex.run([x], {"B": 3})[1]
        first[:] = 0  # the caller owns what it gets
        again = ex.run([x], {"B": 3})[1]
    np.testing.assert_allclose(again, np.exp([1.0, 2.0]).astype(np.float32))


def test_kernel_errors_in_planned_nodes_name_the_node():
    fn = _mlp_step()
    with pytest.raises(BackendError, match=r"softmax_cross_entropy.*label 9 out of range"):
        fn(np.zeros((2, 12), np.float32), np.array([0, 9]))
