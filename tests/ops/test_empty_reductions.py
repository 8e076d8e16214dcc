"""Reductions over an empty axis, one behaviour on every backend and pipeline:
softmax/log_softmax give an empty result; max/min/argmax/argmin (no identity) are a ShapeError,
at build time for a static 0 and at call time when a symbolic dim is bound to 0."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

CONFIGS = [("numpy", []), ("numpy", None), ("llvm", []), ("llvm", None)]
EMPTY = np.zeros((3, 0), np.float32)


def _fn(build, backend: str, passes):
    g = gc.Graph("e")
    with g:
        x = gc.placeholder("x", (3, "N"))
        y = build(x)
    return gc.function([x], y, backend=backend, passes=passes)


@pytest.mark.parametrize("backend, passes", CONFIGS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_an_axis_bound_to_zero_is_empty(backend: str, passes, name: str) -> None:
    f = _fn(lambda x: getattr(gc, name)(x, axis=1), backend, passes)
    out = f(EMPTY)
    assert out.shape == (3, 0) and out.dtype == np.float32
    full = np.array([[0.0, 1.0], [2.0, 2.0], [-1.0, 5.0]], np.float32)
    z = full - full.max(axis=1, keepdims=True)
    want = {"softmax": np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
            "log_softmax": z - np.log(np.exp(z).sum(axis=1, keepdims=True))}[name]
    np.testing.assert_allclose(f(full), want, rtol=1e-6, atol=1e-7)  # and N = 2 still works


@pytest.mark.parametrize("backend, passes", CONFIGS)
@pytest.mark.parametrize("build", [
    lambda x: gc.max(x, axis=1), lambda x: gc.min(x), lambda x: gc.argmax(x, axis=1),
    lambda x: gc.max(gc.exp(x) * 2.0, axis=1),  # fused into a fused_reduce by the pipeline
], ids=["max", "min", "argmax", "fused_max"])
def test_reduction_without_identity_over_an_axis_bound_to_zero(backend: str, passes,
                                                                build) -> None:
    f = _fn(build, backend, passes)
    with pytest.raises(gc.ShapeError, match=r"at .*test_empty_reductions.py:\d+ \(N=0\): axis "
                       r"\d has size 0 and this reduction has no identity"):
        f(EMPTY)
    assert f(np.ones((3, 2), np.float32)) is not None  # N = 2 runs


def test_reduction_with_identity_over_an_axis_bound_to_zero() -> None:
    f = _fn(lambda x: gc.sum(x, axis=1), "numpy", None)
    np.testing.assert_array_equal(f(EMPTY), [0, 0, 0])
