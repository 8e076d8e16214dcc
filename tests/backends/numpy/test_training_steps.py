"""Training steps (with gradients and updates) give the same losses with and without passes,
and the planned executor matches the reference interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

LR = 0.1


def _mlp(passes):
    rng = np.random.default_rng(0)
    g = gc.Graph("mlp")
    with g:
        x = gc.placeholder("x", ("B", 12))
        y = gc.placeholder("y", ("B",), "int64")
        ps, h = [], x
        for i, (a, b) in enumerate([(12, 16), (16, 16), (16, 5)]):
            w = gc.parameter(f"w{i}", rng.normal(0, 0.5, (a, b)).astype(np.float32))
            bias = gc.parameter(f"b{i}", np.zeros(b, np.float32))
            ps += [w, bias]
            h = h @ w + bias
            h = gc.relu(h) if i < 2 else h
        loss = gc.mean(gc.softmax_cross_entropy(h, y))
        grads = gc.grad(loss, ps)
    updates = [(p, p - LR * d) for p, d in zip(ps, grads, strict=True)]
    return gc.function([x, y], loss, updates=updates, passes=passes)


def _cnn(passes):
    rng = np.random.default_rng(1)
    g = gc.Graph("cnn")
    with g:
        x = gc.placeholder("x", ("B", 1, 8, 8))
        y = gc.placeholder("y", ("B",), "int64")
        k = gc.parameter("k", rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32))
        kb = gc.parameter("kb", np.zeros((4, 1, 1), np.float32))
        w = gc.parameter("w", rng.normal(0, 0.2, (4 * 3 * 3, 5)).astype(np.float32))
        h = gc.relu(gc.conv2d(x, k) + kb)
        h = gc.max_pool2d(h, 2)
        logits = gc.flatten(h, 1) @ w
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
        ps = [k, kb, w]
        grads = gc.grad(loss, ps)
    updates = [(p, p - LR * d) for p, d in zip(ps, grads, strict=True)]
    return gc.function([x, y], loss, updates=updates, passes=passes)


def _data(shape, classes, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(np.float32), rng.integers(0, classes, shape[0])


@pytest.mark.parametrize(("build", "shape"), [(_mlp, (16, 12)), (_cnn, (6, 1, 8, 8))])
def test_losses_match_with_and_without_passes(build, shape):
    plain, full = build([]), build(None)
    assert "fused" in full.ir() and "fused" not in plain.ir()
    losses = {"plain": [], "full": []}
    for step in range(6):
        x, y = _data(shape, 5, step)
        losses["plain"].append(float(plain(x, y)))
        losses["full"].append(float(full(x, y)))
    np.testing.assert_allclose(losses["full"], losses["plain"], rtol=1e-5)
    assert losses["full"][-1] < losses["full"][0]  # it trains
    for a, b in zip(plain.graph.params, full.graph.params, strict=True):
        np.testing.assert_allclose(a.param.value, b.param.value, rtol=1e-4, atol=1e-6)


def test_cnn_uses_a_conv_epilogue():
    assert "fused_conv2d" in _cnn(None).ir()


def test_planned_step_matches_the_reference_interpreter():
    planned = _mlp(None)
    reference = _mlp(None)
    reference.executable.executor = None  # the node-by-node path
    for step in range(4):
        x, y = _data((9, 12), 5, step)
        np.testing.assert_allclose(planned(x, y), reference(x, y), rtol=1e-6)
    for a, b in zip(planned.graph.params, reference.graph.params, strict=True):
        np.testing.assert_allclose(a.param.value, b.param.value, rtol=1e-5, atol=1e-7)
