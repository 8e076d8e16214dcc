"""Gradients through gc.scan vs central differences (gc.check_grad), to init, sequences and
captured weights; saved residuals vs checkpoint=True; a second-order case."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def _model(reverse: bool, checkpoint: bool, steps="T"):
    """Two carries (one a running sum), two sequences, two captured weights."""
    rng = np.random.default_rng(3)
    g = gc.Graph("grad")
    with g:
        x = gc.placeholder("x", (steps, 2, 3), "float64")
        m = gc.placeholder("m", (steps, 2, 4), "float64")
        h0 = gc.placeholder("h0", (2, 4), "float64")
        w = gc.parameter("w", rng.standard_normal((3, 4)))
        u = gc.parameter("u", rng.standard_normal((4, 4)) * 0.5)

        def cell(carry, xs):
            h, acc = carry
            xt, mt = xs
            hn = gc.tanh(xt @ w + h @ u) * gc.sigmoid(mt)
            return (hn, acc + gc.sum(hn * hn, axis=1)), gc.exp(hn) * mt

        (h, acc), ys = gc.scan(cell, (h0, gc.sum(h0, axis=1)), (x, m), reverse=reverse,
                               checkpoint=checkpoint)
        cost = gc.sum(h * h) + gc.sum(acc) + gc.mean(ys * ys)
    return g, cost, (x, m, h0, w, u)


def _feeds(args, steps: int = 4) -> dict:
    rng = np.random.default_rng(4)
    x, m, h0 = args[:3]
    return {x: rng.standard_normal((steps, 2, 3)), m: rng.standard_normal((steps, 2, 4)),
            h0: rng.standard_normal((2, 4))}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("checkpoint", [False, True])
def test_grad_to_init_sequences_and_captures(reverse: bool, checkpoint: bool) -> None:
    _, cost, args = _model(reverse, checkpoint)
    report = gc.check_grad(cost, list(args), _feeds(args), raise_on_failure=False)
    assert report.ok, str(report)


def test_one_step() -> None:
    _, cost, args = _model(False, False, steps=1)
    report = gc.check_grad(cost, list(args), _feeds(args, 1), raise_on_failure=False)
    assert report.ok, str(report)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_checkpoint_saves_only_the_carries_and_agrees(backend: str) -> None:
    results, saved = [], []
    for checkpoint in (False, True):
        g, cost, args = _model(False, checkpoint)
        with g:
            grads = gc.grad(cost, list(args))
            f = gc.function(list(args[:3]), grads, backend=backend)
        fwd = next(n for n in g.nodes if n.op.name == "scan")
        saved.append(len(fwd.outputs) - 3)  # beyond the 2 carries and 1 y
        feeds = _feeds(args)
        results.append(f(*(feeds[a] for a in args[:3])))
    assert saved[1] == 2  # checkpoint: the two carries at the start of each step
    assert saved[0] > 2  # default: the body values the backward reads as well
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # and the same numbers as central differences (gc.check_grad runs on numpy)
    report = gc.check_grad(cost, list(args), _feeds(args), raise_on_failure=False)
    assert report.ok, str(report)
    for a, b in zip(results[0], report_values(g, args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    backward = [n for n in g.nodes if n.op.name == "scan"][-1]
    assert backward.attrs["reverse"] is True


def report_values(g, args) -> list[np.ndarray]:
    """The gradients of _model by the numpy backend (the reference for the llvm run)."""
    _, cost, fresh = _model(False, False)
    with cost.graph:
        f = gc.function(list(fresh[:3]), gc.grad(cost, list(fresh)))
    feeds = _feeds(fresh)
    return f(*(feeds[a] for a in fresh[:3]))


def test_second_order() -> None:
    g, cost, args = _model(False, False)
    x, m, h0, w, u = args
    with g:
        (gw,) = gc.grad(cost, [w])
        cost2 = gc.sum(gw * gw)
    report = gc.check_grad(cost2, [x, h0, u], _feeds(args), raise_on_failure=False)
    assert report.ok, str(report)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_training_step_float32_decreases_the_loss(backend: str) -> None:
    rng = np.random.default_rng(5)
    with gc.Graph("train"):
        x = gc.placeholder("x", ("T", 8, 2))
        target = gc.placeholder("y", (8, 1))
        w = gc.parameter("w", rng.standard_normal((2, 8)).astype(np.float32) * 0.5)
        u = gc.parameter("u", rng.standard_normal((8, 8)).astype(np.float32) * 0.3)
        v = gc.parameter("v", rng.standard_normal((8, 1)).astype(np.float32) * 0.3)
        h, _ = gc.scan(lambda h, xt: (gc.tanh(xt @ w + h @ u), None),
                       gc.constant(np.zeros((8, 8), np.float32)), x)
        loss = gc.mean((h @ v - target) ** 2)
        grads = gc.grad(loss, [w, u, v])
        sgd = [(p, p - 0.1 * gp) for p, gp in zip((w, u, v), grads, strict=True)]
        step = gc.function([x, target], [loss], updates=sgd, backend=backend)
    xs = rng.standard_normal((6, 8, 2)).astype(np.float32)
    ys = xs.sum(axis=(0, 2))[:, None].astype(np.float32) * 0.1
    losses = [float(step(xs, ys)[0]) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
