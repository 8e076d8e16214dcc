"""Shape rules and kernels agree on edge cases: rank 0, zero-size dims, negative axes."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ir.errors import AttributeError_

HERE = "test_edge_cases.py"
REDUCTIONS = ["sum", "mean", "max", "min", "prod", "logsumexp", "argmax", "argmin"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, -1, 1])
def test_reduction_of_a_scalar_has_no_axis(name: str, axis: int) -> None:
    # NumPy: np.sum(np.float32(2), axis=0) is an AxisError; graphc says so at build time
    with gc.Graph("g"):
        x = gc.placeholder("x", ())
        with pytest.raises(AttributeError_, match=rf"{name} at .*{HERE}.*out of range for rank 0"):
            getattr(gc, name)(x, axis=axis)


@pytest.mark.parametrize("name", ["sum", "max", "argmax"])
def test_reduction_of_a_scalar_over_every_axis_is_the_scalar(name: str) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ())
        y = getattr(gc, name)(x)
    want = {"sum": 2.5, "max": 2.5, "argmax": 0}[name]
    assert gc.function([x], y)(np.float32(2.5)) == want


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
@pytest.mark.parametrize("axis", [0, None])
def test_reduction_without_identity_rejects_an_empty_axis(name: str, axis: int | None) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (0, 3))
        with pytest.raises(gc.ShapeError, match=rf"{name}\(f32\[0,3\]\) at .*{HERE}.*size 0"):
            getattr(gc, name)(x, axis=axis)


@pytest.mark.parametrize("name", ["max", "argmin"])
def test_reduction_without_identity_keeps_other_empty_axes(name: str) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (0, 3))
        y = getattr(gc, name)(x, axis=1)
    assert y.shape == (0,)
    assert gc.function([x], y)(np.zeros((0, 3), np.float32)).shape == (0,)


@pytest.mark.parametrize("name,want", [("sum", 0.0), ("prod", 1.0)])
def test_reduction_with_identity_over_an_empty_axis(name: str, want: float) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (0, 3))
        y = getattr(gc, name)(x, axis=0)
    np.testing.assert_array_equal(gc.function([x], y)(np.zeros((0, 3), np.float32)), [want] * 3)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -2])
def test_softmax_over_an_empty_axis_is_empty(name: str, axis: int) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (0, 3))
        y = getattr(gc, name)(x, axis=axis)
    out = gc.function([x], y)(np.zeros((0, 3), np.float32))
    assert out.shape == (0, 3)
    assert out.dtype == np.float32


def test_pad_of_a_scalar_is_the_scalar() -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ())
        y = gc.pad(x, 0)  # np.pad(np.float32(4), 0) is 4
    assert y.shape == ()
    assert gc.function([x], y)(np.float32(4.0)) == 4.0


def test_cross_entropy_with_float_labels_is_a_dtype_error() -> None:
    with gc.Graph("g"):
        logits = gc.placeholder("logits", (2, 3))
        labels = gc.placeholder("labels", (2,), "float32")
        with pytest.raises(gc.DTypeError, match=rf"softmax_cross_entropy.* at .*{HERE}.*integer"):
            gc.softmax_cross_entropy(logits, labels)
