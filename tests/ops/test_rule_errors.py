"""Shape rules reject bad calls at build time with an error naming what is wrong.

The catalogue cases are all valid calls; these are the invalid ones each rule must refuse
(a dropped check would otherwise build a graph whose kernel fails or, worse, runs). Test ids
start with the op name, so `pytest -k conv2d` finds them.
"""

from __future__ import annotations

import pytest

import graphc as gc
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY

F32 = gc.float32
_COUNT = iter(range(10**9))


def _ph(shape, dtype=F32):
    return gc.placeholder(f"x{next(_COUNT)}", shape, dtype)


def _input_grad(gy, w, size):
    return apply(REGISTRY["conv2d_input_grad"], gy, w, input_size=size)


# label -> (build, error class, message pattern)
BAD = {
    "conv2d-channels": (lambda: gc.conv2d(_ph((1, 3, 8, 8)), _ph((4, 2, 3, 3))), gc.ShapeError,
                        r"input has 3 channels; the weight expects 2 \* 1 groups"),
    "conv2d-groups-split": (lambda: gc.conv2d(_ph((1, 4, 8, 8)), _ph((3, 2, 3, 3)), groups=2),
                            gc.ShapeError, r"3 output channels do not split into 2 groups"),
    "conv2d-window": (lambda: gc.conv2d(_ph((1, 1, 2, 2)), _ph((1, 1, 3, 3))), gc.ShapeError,
                      r"window \[3, 3\] does not fit input \[2, 2\]"),
    "conv2d-weight-rank": (lambda: gc.conv2d(_ph((1, 1, 4, 4)), _ph((1, 3, 3))), gc.ShapeError,
                           r"must have rank 4"),
    "conv2d_input_grad-channels": (
        lambda: _input_grad(_ph((1, 3, 4, 4)), _ph((2, 1, 3, 3)), (6, 6)), gc.ShapeError,
        r"does not fit conv2d of weight"),
    "conv2d_input_grad-size": (
        lambda: _input_grad(_ph((1, 2, 4, 4)), _ph((2, 1, 3, 3)), (7, 7)), gc.ShapeError,
        r"does not fit conv2d of weight"),
    "conv2d_input_grad-zero-size": (
        lambda: _input_grad(_ph((1, 2, 1, 1)), _ph((2, 1, 1, 1)), (0, 1)), gc.GraphcError,
        r"input_size must be >= 1"),
    "max_pool2d-padding": (lambda: gc.max_pool2d(_ph((1, 1, 6, 6)), 2, padding=2),
                           gc.ShapeError, r"padding \[2, 2\] must be at most half"),
    "max_pool2d-window": (lambda: gc.max_pool2d(_ph((1, 1, 2, 2)), 3), gc.ShapeError,
                          r"does not fit input \[2, 2\]"),
    "max_pool2d-int": (lambda: gc.max_pool2d(_ph((1, 1, 4, 4), gc.int32), 2), gc.DTypeError,
                       r"expected a float dtype"),
    "matmul-scalar": (lambda: gc.matmul(_ph(()), _ph((3,))), gc.ShapeError, r"rank >= 1"),
    "matmul-contracting": (lambda: gc.matmul(_ph((2, 3)), _ph((4, 5))), gc.ShapeError,
                           r"contracting dims differ: 3 \(last of \[2,3\]\) vs 4"),
    "matmul-vector-contracting": (lambda: gc.matmul(_ph((3,)), _ph((4, 5))), gc.ShapeError,
                                  r"contracting dims differ"),
    "matmul-batch": (lambda: gc.matmul(_ph((2, 3, 4)), _ph((5, 4, 2))), gc.ShapeError,
                     r"batch dims \[2\] and \[5\]"),
    "matmul-dtypes": (lambda: gc.matmul(_ph((2, 3)), _ph((3, 2), gc.float64)), gc.DTypeError,
                      r"operand dtypes differ"),
    "softmax_cross_entropy-labels": (
        lambda: gc.softmax_cross_entropy(_ph((4, 3)), _ph((4, 3), gc.int64)), gc.ShapeError,
        r"labels .* must have the shape of logits"),
    "max-empty": (lambda: gc.max(_ph((0, 3)), axis=0), gc.ShapeError, r"has no identity"),
    "sum-axis": (lambda: gc.sum(_ph((2, 3)), axis=2), gc.GraphcError, r"axis 2 out of range"),
    "sum-repeated-axis": (lambda: gc.sum(_ph((2, 3)), axis=(1, 1)), gc.GraphcError,
                          r"repeated axis"),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_bad_call_is_rejected(label: str) -> None:
    build, error, pattern = BAD[label]
    with gc.Graph("bad"), pytest.raises(error, match=pattern):
        build()


# valid calls next to each rejected one: the rules must not refuse these
GOOD = {
    "conv2d-groups": (lambda: gc.conv2d(_ph((1, 4, 8, 8)), _ph((6, 2, 3, 3)), groups=2),
                      (1, 6, 6, 6)),
    "conv2d-exact-window": (lambda: gc.conv2d(_ph((1, 1, 3, 3)), _ph((1, 1, 3, 3))),
                            (1, 1, 1, 1)),
    "max_pool2d-kernel-1": (lambda: gc.max_pool2d(_ph((1, 1, 3, 3)), 1), (1, 1, 3, 3)),
    "max_pool2d-half-padding": (lambda: gc.max_pool2d(_ph((1, 1, 6, 6)), 2, padding=1),
                                (1, 1, 4, 4)),
    "conv2d_input_grad-1x1": (lambda: _input_grad(_ph((1, 2, 1, 1)), _ph((2, 1, 1, 1)), (1, 1)),
                              (1, 1, 1, 1)),
    "conv2d_input_grad-6x6": (lambda: _input_grad(_ph((1, 2, 4, 4)), _ph((2, 1, 3, 3)), (6, 6)),
                              (1, 1, 6, 6)),
    "matmul-vector-left": (lambda: gc.matmul(_ph((4,)), _ph((4, 5))), (5,)),
    "matmul-vector-right": (lambda: gc.matmul(_ph((2, 4)), _ph((4,))), (2,)),
    "matmul-broadcast-batch": (lambda: gc.matmul(_ph((2, 3, 4)), _ph((1, 4, 2))), (2, 3, 2)),
    "sum-empty": (lambda: gc.sum(_ph((0, 3)), axis=0), (3,)),
}


@pytest.mark.parametrize("label", sorted(GOOD))
def test_valid_call_gets_its_shape(label: str) -> None:
    build, shape = GOOD[label]
    with gc.Graph("good"):
        assert build().shape == shape
