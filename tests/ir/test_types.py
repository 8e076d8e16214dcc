"""dtypes, dims (ints, symbols, symbolic products), broadcasting, and their text forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc
from graphc.ir.types import (
    TensorType,
    as_dtype,
    broadcast_shapes,
    check_dim,
    dim_div,
    dim_mul,
    dim_prod,
    eval_dim,
)


@pytest.mark.parametrize("spec, short", [
    ("float32", "f32"), ("f64", "f64"), (np.int32, "i32"), (np.dtype("int64"), "i64"),
    (bool, "bool"), (gc.float32, "f32"),
])
def test_as_dtype(spec: object, short: str) -> None:
    assert as_dtype(spec).short == short


@pytest.mark.parametrize("spec", ["float16", np.complex64, "str", object])
def test_unsupported_dtypes(spec: object) -> None:
    with pytest.raises(gc.DTypeError, match="unsupported dtype"):
        as_dtype(spec)


@pytest.mark.parametrize("dim, canonical", [
    (3, 3), ("B", "B"), ("B*2", "2*B"), ("T*B", "B*T"), ("2*3", 6), ("1*B", "B"), ("0*B", 0),
    ("2*B*2", "4*B"), (np.int64(5), 5),
])
def test_check_dim_canonical_forms(dim: object, canonical: object) -> None:
    assert check_dim(dim) == canonical


@pytest.mark.parametrize("dim", [-1, "2B", "B+1", "", "B**2", 1.5, True, None])
def test_invalid_dims(dim: object) -> None:
    with pytest.raises(gc.ShapeError):
        check_dim(dim)


def test_dim_arithmetic() -> None:
    assert dim_mul("B", 16) == "16*B"
    assert dim_mul(4, 4) == 16
    assert dim_prod(("B", 4, "T", 2)) == "8*B*T"
    assert dim_prod(()) == 1
    assert dim_div("16*B", 16) == "B"
    assert dim_div("8*B*T", "2*T") == "4*B"
    assert dim_div("B", "T") is None
    assert dim_div(10, 4) is None
    assert eval_dim("2*B*T", {"B": 3, "T": 5}) == 30


def test_broadcasting_with_symbols() -> None:
    assert broadcast_shapes(("B", 1), (3,)) == ("B", 3)
    assert broadcast_shapes((), ("B",), (1, 1)) == (1, "B")
    assert broadcast_shapes(("B", 4), ("B", 1)) == ("B", 4)
    with pytest.raises(gc.ShapeError, match="at axis 0 do not broadcast"):
        broadcast_shapes(("B",), ("T",))
    with pytest.raises(gc.ShapeError):
        broadcast_shapes((3,), (4,))


@given(st.lists(st.lists(st.integers(1, 4), max_size=3), min_size=1, max_size=3))
def test_static_broadcasting_agrees_with_numpy(shapes: list[list[int]]) -> None:
    try:
        want = np.broadcast_shapes(*map(tuple, shapes))
    except ValueError:
        with pytest.raises(gc.ShapeError):
            broadcast_shapes(*map(tuple, shapes))
        return
    assert broadcast_shapes(*map(tuple, shapes)) == want


def test_tensor_type_text() -> None:
    assert str(TensorType.of("f32")) == "f32"
    assert str(TensorType.of("i64", ("B", "T*B", 3))) == "i64[B,B*T,3]"
    assert TensorType.of("f32", ("B",)).with_dtype(gc.int32) == TensorType.of("i32", ("B",))
    assert TensorType.of("f32", ("2*B", "T")).symbols() == {"B", "T"}
    assert TensorType.of("f32", ("2*B", 3)).concrete({"B": 5}) == (10, 3)


def test_symbolic_products_parse_canonically() -> None:
    text = ("graph @g(%x: f32[B*2,T*B,2*3]) -> (f32[2*B,B*T,6]) {\n"
            "  return %x\n}\n")
    g = gc.parse(text)
    assert g.inputs[0].type == TensorType.of("f32", ("2*B", "B*T", 6))
    assert str(g) == "graph @g(%x: f32[2*B,B*T,6]) -> (f32[2*B,B*T,6]) {\n  return %x\n}\n"


def test_symbolic_dims_flow_through_ops() -> None:
    g = gc.Graph("sym")
    with g:
        x = gc.placeholder("x", ("B", "T", 4))
        y = gc.reshape(x, (-1, 4))
        z = gc.sum(y * gc.placeholder("s", (1, 4)), axis=1)
    assert str(y.type) == "f32[B*T,4]" and str(z.type) == "f32[B*T]"
    g.outputs = [z.ir]
    assert str(gc.parse(str(g))) == str(g)
