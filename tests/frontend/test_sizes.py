"""Shapes beyond int64 bytes or beyond what can be allocated: a ShapeError, never a wrap."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

BACKENDS = ["numpy", "llvm"]
BEYOND = "beyond int64"


def _build(build, shape=("B",)):
    g = gc.Graph("big")
    with g:
        x = gc.placeholder("x", shape)
        return x, build(x)


@pytest.mark.parametrize("build", [
    lambda x: gc.sum(gc.broadcast_to(x[:1], (2**32, 2**32)) + 1.0),
    lambda x: gc.sum(gc.broadcast_to(x[:1], (2**31, 2**31)) + 1.0),
    lambda x: gc.transpose(gc.broadcast_to(x[:1], (2**31, 2**31))),
    lambda x: gc.one_hot(gc.cast(x, "int64"), 2**62),
    lambda x: gc.pad(x[:1], (2**62, 0)),
    lambda x: gc.pad(x[:1], (2**63, 0)),
    lambda x: gc.placeholder("y", (2**62, 2**62)),
    lambda x: gc.broadcast_to(x, (2**40, 2**30, "B")),
], ids=["broadcast_2^32", "broadcast_2^31", "transpose", "one_hot", "pad", "pad_2^63",
        "placeholder", "symbolic"])
def test_build_time_shape_error(build) -> None:
    with pytest.raises(gc.ShapeError, match=BEYOND):
        _build(build)


def test_dims_beyond_int64_are_refused() -> None:
    with pytest.raises(gc.ShapeError, match=BEYOND):
        gc.TensorType.of("f32", (10**20,))
    with pytest.raises(gc.ParseError, match=f"1:20: dimension {10**20} is {BEYOND}"):
        gc.parse(f"graph @g(%x: f32[3,{10**20}]) -> (f32[3,{10**20}]) {{\n  return %x\n}}\n")
    with pytest.raises(gc.ParseError, match=f"1:14: f32\\[{2**40},{2**40}\\] needs .* {BEYOND}"):
        gc.parse(f"graph @g(%x: f32[{2**40},{2**40}]) -> () {{\n  return\n}}\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_call_time_shape_error_when_dims_bind(backend: str) -> None:
    x, y = _build(lambda x: gc.sum(gc.broadcast_to(x, (2**30, 2**30, "B")) + 1.0))
    f = gc.function([x], y, backend=backend)
    assert f(np.ones(0, np.float32)) == 0.0
    with pytest.raises(gc.ShapeError, match=f"broadcast_to at .*B=2 needs .* {BEYOND}"):
        f(np.ones(2, np.float32))


@pytest.mark.parametrize("passes", [[], None])
@pytest.mark.parametrize("backend", BACKENDS)
def test_allocation_too_large_for_the_machine(backend: str, passes: list | None) -> None:
    # 2**48 floats are 2**50 bytes: within int64, beyond any x86-64 address space
    x, y = _build(lambda x: gc.broadcast_to(x[:1], (2**48,)) + 1.0)
    f = gc.function([x], y, backend=backend, passes=passes)
    with pytest.raises(gc.ShapeError, match="more memory than this machine can allocate"):
        f(np.ones(2, np.float32))
