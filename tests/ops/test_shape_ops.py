"""Targeted tests of the shape, indexing and linalg ops beyond the catalogue table."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ir.errors import AttributeError_

RNG = np.random.default_rng(7)
HERE = "test_shape_ops.py"


def _run(inputs, outputs, *arrays):
    return gc.function(inputs, outputs)(*arrays)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# --- reshape and symbolic dims -----------------------------------------------------------


def test_reshape_infers_symbolic_batch() -> None:
    with gc.Graph("r"):
        x = gc.placeholder("x", ("B", 784))
        y = gc.reshape(x, (-1, 1, 28, 28))
        z = gc.flatten(y, 1)
    assert str(y.type) == "f32[B,1,28,28]"
    assert str(z.type) == "f32[B,784]"
    xv = _rand(3, 784)
    yv, zv = _run([x], [y, z], xv)
    np.testing.assert_array_equal(yv, xv.reshape(3, 1, 28, 28))
    np.testing.assert_array_equal(zv, xv)


def test_reshape_products_of_symbols_round_trip() -> None:
    with gc.Graph("r"):
        x = gc.placeholder("x", ("B", "T", 4))
        flat = x.reshape(-1, 4)
        back = gc.reshape(flat, ("B", "T", 4))  # two symbolic dims: read from the call's dims
        per_row = gc.reshape(gc.flatten(x), (-1, 4))
    assert str(flat.type) == "f32[B*T,4]"
    assert str(per_row.type) == "f32[B*T,4]"
    xv = _rand(2, 3, 4)
    fv, bv = _run([x], [flat, back], xv)
    np.testing.assert_array_equal(fv, xv.reshape(6, 4))
    np.testing.assert_array_equal(bv, xv)


def test_reshape_minus_one_divides_symbolic_product() -> None:
    with gc.Graph("r"):
        x = gc.placeholder("x", ("B", 4, 4))
        y = gc.reshape(gc.flatten(x), (-1, 16))
    assert str(y.type) == "f32[B,16]"


def test_broadcast_to_symbolic_shape_runs() -> None:
    with gc.Graph("b"):
        x = gc.placeholder("x", ("B", 1))
        y = gc.broadcast_to(x, ("B", 5))
    xv = _rand(3, 1)
    np.testing.assert_array_equal(_run([x], y, xv), np.broadcast_to(xv, (3, 5)))


# --- getitem -----------------------------------------------------------------------------

INDICES = [
    0, -1, np.int64(2), slice(1, 3), slice(None, None, -1), slice(-2, None), slice(10, 20),
    slice(-100, 100), slice(None, None, -2), slice(1, 1), Ellipsis, (), None,
    (Ellipsis, 0), (None, 1), (1, None, Ellipsis, slice(None, None, -1)),
    (slice(None), 2, slice(1, None, 2)), (slice(None), slice(-3, -1)), (Ellipsis, None),
    (0, -1, 4), (slice(3, 0, -1), Ellipsis, slice(4, None, -3)), (None, Ellipsis, None),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_matches_numpy(index) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (3, 4, 5))
        y = x[index]
    xv = _rand(3, 4, 5)
    want = xv[index]
    assert y.shape == want.shape
    np.testing.assert_array_equal(_run([x], y, xv), want)


SYMBOLIC_INDICES = [
    (0, ("f32[4,5]")), (-1, "f32[4,5]"), ((slice(None), 1), "f32[B,5]"),
    (slice(None, None, -1), "f32[B,4,5]"), ((Ellipsis, slice(1, 3)), "f32[B,4,2]"),
    ((None, slice(None), -2), "f32[1,B,5]"), (slice(0, 2), "f32[2,4,5]"),
    (slice(-2, None), "f32[2,4,5]"),
]


@pytest.mark.parametrize(("index", "typ"), SYMBOLIC_INDICES, ids=repr)
def test_getitem_on_symbolic_batch(index, typ: str) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ("B", 4, 5))
        y = x[index]
    assert str(y.type) == typ
    xv = _rand(3, 4, 5)
    np.testing.assert_array_equal(_run([x], y, xv), xv[index])


def test_getitem_whole_slices_add_no_node() -> None:
    with gc.Graph("g") as g:
        x = gc.placeholder("x", ("B", 4))
        same = x[:, 0:4]
        also = x[...]
    assert same is x and also is x and not g.nodes


def test_symbolic_slice_out_of_range_at_run_time() -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ("B", 2))
        y = x[3]
    with pytest.raises(gc.BackendError, match=r"slice at .*test_shape_ops\.py:\d+.*out of range"):
        _run([x], y, _rand(2, 2))


# --- errors name the op and the user's line ----------------------------------------------


def _x(*shape, dtype="float32"):
    return gc.placeholder("x", shape, dtype)


BAD = [
    (lambda: gc.reshape(_x(2, 3), (4, -1)), gc.ShapeError, "reshape", "not a multiple of 4"),
    (lambda: gc.reshape(_x(2, 3), (-1, -1)), AttributeError_, "reshape", "at most one -1"),
    (lambda: gc.reshape(_x("B", 3), (5, 3)), gc.ShapeError, "reshape", "3*B elements"),
    (lambda: gc.transpose(_x(2, 3), (0, 0)), AttributeError_, "transpose", "permutation"),
    (lambda: gc.transpose(_x(2, 3), (0,)), AttributeError_, "transpose", "rank 2"),
    (lambda: gc.broadcast_to(_x(2, 3), (4, 3)), gc.ShapeError, "broadcast_to", "[2,3] to [4,3]"),
    (lambda: gc.expand_dims(_x(2), 3), AttributeError_, "expand_dims", "out of range"),
    (lambda: gc.squeeze(_x(2, 3), 1), gc.ShapeError, "squeeze", "axis 1 of size 3"),
    (lambda: gc.squeeze(_x("B", 3), 0), gc.ShapeError, "squeeze", "axis 0 of size B"),
    (lambda: gc.flatten(_x(2, 3, 4), 2, 1), AttributeError_, "flatten", "comes after"),
    (lambda: gc.concat([_x(2, 3), gc.placeholder("y", (3, 3))], 1), gc.ShapeError, "concat",
     "outside axis 1"),
    (lambda: gc.concat([_x(2), gc.placeholder("y", (2,), "int64")]), gc.DTypeError, "concat",
     "cast one"),
    (lambda: gc.concat([_x("B", 3), gc.placeholder("y", (4, 3))]), gc.ShapeError, "concat",
     "B + 4"),
    (lambda: gc.split(_x(2, 5), 2, axis=1), gc.ShapeError, "split", "2 equal parts"),
    (lambda: gc.split(_x(6), [4, 2]), AttributeError_, "split", "increasing"),
    (lambda: gc.slice(_x(4), (0,), (4,), (0,)), AttributeError_, "slice", "step cannot be zero"),
    (lambda: gc.slice(_x(4, 4), (0,), (4,)), AttributeError_, "slice", "one entry per axis"),
    (lambda: _x("B", 3)[1:], gc.ShapeError, "slice", "symbolic axis B"),
    (lambda: _x(3, 4)[3], gc.ShapeError, "getitem", "out of bounds for axis 0 with size 3"),
    (lambda: _x(3, 4)[0, 0, 0], gc.ShapeError, "getitem", "too many indices"),
    (lambda: _x(3)[..., ...], gc.GraphcError, "getitem", "single ellipsis"),
    (lambda: _x(3)[[0, 1]], gc.GraphcError, "getitem", "gc.take"),
    (lambda: _x(3)[gc.placeholder("i", (), "int64")], gc.GraphcError, "getitem", "gc.take"),
    (lambda: _x(3)[: gc.placeholder("n", (), "int64")], gc.GraphcError, "getitem",
     "static bounds"),
    (lambda: gc.pad(_x(2, 3), ((1, 2, 3),)), AttributeError_, "pad", "does not fit rank 2"),
    (lambda: gc.pad(_x(2, 3), -1), AttributeError_, "pad", ">= 0"),
    (lambda: gc.pad(_x("B", 3), 1), gc.ShapeError, "pad", "B+2"),
    (lambda: gc.pad(_x(3, dtype="int32"), 1, value=0.5), AttributeError_, "pad", "fit dtype"),
    (lambda: gc.take(_x(3), gc.placeholder("i", (2,))), gc.DTypeError, "take", "integer dtype"),
    (lambda: gc.take(_x(3, 2), [0], axis=2), AttributeError_, "take", "out of range"),
    (lambda: gc.one_hot(_x(3), 4), gc.DTypeError, "one_hot", "integer dtype"),
    (lambda: gc.one_hot(_x(3, dtype="int64"), -2), AttributeError_, "one_hot", "depth"),
    (lambda: _x(3, 4) @ gc.placeholder("y", (5, 6)), gc.ShapeError, "matmul",
     "contracting dims differ"),
    (lambda: _x(2, 3, 4) @ gc.placeholder("y", (3, 4, 5)), gc.ShapeError, "matmul",
     "batch dims [2] and [3]"),
    (lambda: _x() @ gc.placeholder("y", (3,)), gc.ShapeError, "matmul", "rank >= 1"),
    (lambda: _x(2, 3) @ gc.placeholder("y", (3, 2), "float64"), gc.DTypeError, "matmul",
     "cast one"),
]


@pytest.mark.parametrize(("build", "error", "op", "text"), BAD, ids=lambda v: "")
def test_bad_use_names_op_and_line(build, error, op: str, text: str) -> None:
    with gc.Graph("bad"), pytest.raises(error) as info:
        build()
    message = str(info.value)
    assert message.startswith(op), message
    assert HERE in message and text in message, message


# --- multi-result split, take, one_hot -------------------------------------------------


def test_split_returns_every_part() -> None:
    with gc.Graph("s"):
        x = gc.placeholder("x", ("B", 6))
        thirds = gc.split(x, 3, axis=1)
        cuts = gc.split(x, [1, 4], axis=-1)
    assert [str(t.type) for t in thirds] == ["f32[B,2]"] * 3
    assert [str(t.type) for t in cuts] == ["f32[B,1]", "f32[B,3]", "f32[B,2]"]
    xv = _rand(4, 6)
    got = _run([x], thirds + cuts, xv)
    for a, b in zip(got, np.split(xv, 3, axis=1) + np.split(xv, [1, 4], axis=1), strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_and_concat_of_symbolic_parts() -> None:
    with gc.Graph("s"):
        x = gc.placeholder("x", ("B", 3))
        doubled = gc.concat([x, x], axis=0)
        halves = gc.split(doubled, 2)
    assert str(doubled.type) == "f32[2*B,3]"
    assert [str(h.type) for h in halves] == ["f32[B,3]", "f32[B,3]"]
    xv = _rand(5, 3)
    d, h0, h1 = _run([x], [doubled, *halves], xv)
    np.testing.assert_array_equal(d, np.concatenate([xv, xv]))
    np.testing.assert_array_equal(h0, xv)
    np.testing.assert_array_equal(h1, xv)


def test_take_matches_numpy() -> None:
    with gc.Graph("t"):
        table = gc.placeholder("table", (10, 4))
        ids = gc.placeholder("ids", ("B", 3), "int32")
        rows = gc.take(table, ids, axis=0)
        flat = gc.take(table, ids)
    assert str(rows.type) == "f32[B,3,4]" and str(flat.type) == "f32[B,3]"
    tv = _rand(10, 4)
    iv = RNG.integers(-10, 10, (2, 3)).astype(np.int32)
    r, f = _run([table, ids], [rows, flat], tv, iv)
    np.testing.assert_array_equal(r, tv[iv])
    np.testing.assert_array_equal(f, tv.reshape(-1)[iv])


def test_take_out_of_range_index_is_a_located_error() -> None:
    with gc.Graph("t"):
        table = gc.placeholder("table", (3, 2))
        rows = gc.take(table, [0, 3], axis=0)
    with pytest.raises(gc.BackendError, match=r"take at .*test_shape_ops\.py"):
        _run([table], rows, _rand(3, 2))


def test_one_hot_matches_definition() -> None:
    with gc.Graph("o"):
        labels = gc.placeholder("labels", ("B",), "int64")
        hot = gc.one_hot(labels, 4)
        hot64 = gc.one_hot(labels, 4, dtype="float64")
    lv = np.array([0, 3, 4, -1, 2])
    want = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]])
    h, h64 = _run([labels], [hot, hot64], lv)
    assert h.dtype == np.float32 and h64.dtype == np.float64
    np.testing.assert_array_equal(h, want)
    np.testing.assert_array_equal(h64, want)


# --- matmul ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sa", "sb", "typ"), [
    (("B", 1, 3, 4), (5, 4, 2), "f32[B,5,3,2]"),
    (("B", 3, 4), (4,), "f32[B,3]"),
    ((4,), ("B", 4, 2), "f32[B,2]"),
    ((1, 3, 4), ("B", 4, 2), "f32[B,3,2]"),
])
def test_matmul_broadcasts_batch_dims(sa, sb, typ: str) -> None:
    with gc.Graph("m"):
        a = gc.placeholder("a", sa)
        b = gc.placeholder("b", sb)
        c = a @ b
    assert str(c.type) == typ
    env = 2
    av = _rand(*(env if d == "B" else d for d in sa))
    bv = _rand(*(env if d == "B" else d for d in sb))
    np.testing.assert_allclose(_run([a, b], c, av, bv), np.matmul(av, bv), rtol=1e-5, atol=1e-6)


# --- NumPy-style front ends ----------------------------------------------------------------


@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0)), [[1, 1]], (3,)], ids=repr)
def test_pad_accepts_numpy_pad_width_forms(width) -> None:
    with gc.Graph("p"):
        x = gc.placeholder("x", (2, 3))
        y = gc.pad(x, width, value=-2.0)
    xv = _rand(2, 3)
    np.testing.assert_array_equal(_run([x], y, xv), np.pad(xv, width, constant_values=-2.0))


def test_stack_concatenate_transpose_and_methods() -> None:
    with gc.Graph("f"):
        a = gc.placeholder("a", (2, 3))
        b = gc.placeholder("b", (2, 3))
        outs = [gc.stack([a, b], axis=1), gc.concatenate([a, b], axis=-1), a.T,
                a.reshape(3, 2), gc.transpose(gc.expand_dims(a, 0), (2, 0, 1))]
    av, bv = _rand(2, 3), _rand(2, 3)
    want = [np.stack([av, bv], axis=1), np.concatenate([av, bv], -1), av.T, av.reshape(3, 2),
            np.transpose(av[None], (2, 0, 1))]
    for got, w in zip(_run([a, b], outs, av, bv), want, strict=True):
        np.testing.assert_array_equal(got, w)


# --- gradients (gc.grad walks every case; these check rules against hand-made NumPy) -------


def test_matmul_gradient_sums_broadcast_batch_dims() -> None:
    with gc.Graph("mg"):
        a = gc.placeholder("a", ("B", 1, 3, 4), "float64")
        b = gc.placeholder("b", (5, 4, 2), "float64")
        w = gc.placeholder("w", ("B", 5, 3, 2), "float64")
        ga, gb = gc.grad(gc.sum((a @ b) * w), [a, b])
    av, bv, wv = (RNG.standard_normal(s) for s in [(2, 1, 3, 4), (5, 4, 2), (2, 5, 3, 2)])
    ga_v, gb_v = _run([a, b, w], [ga, gb], av, bv, wv)
    np.testing.assert_allclose(ga_v, np.einsum("zpij,pkj->zik", wv, bv)[:, None], rtol=1e-12)
    np.testing.assert_allclose(gb_v, np.einsum("zik,zpij->pkj", av[:, 0], wv), rtol=1e-12)


def test_getitem_gradient_scatters_into_zeros() -> None:
    with gc.Graph("sg"):
        x = gc.placeholder("x", ("B", 6), "float64")
        y = x[::-1, 1::2]
        w = gc.placeholder("w", y.shape, "float64")
        gx = gc.grad(gc.sum(y * w), x)
    xv, wv = RNG.standard_normal((4, 6)), RNG.standard_normal((4, 3))
    want = np.zeros((4, 6))
    want[::-1, 1::2] = wv
    np.testing.assert_array_equal(_run([x, w], gx, xv, wv), want)


def test_take_gradient_adds_repeated_indices() -> None:
    with gc.Graph("tg"):
        table = gc.placeholder("table", (4, 2), "float64")
        rows = gc.take(table, [3, 0, 3, 3], axis=0)
        g = gc.grad(gc.sum(rows), table)
    want = np.array([[1.0, 1.0], [0, 0], [0, 0], [3.0, 3.0]])
    np.testing.assert_array_equal(_run([table], g, np.zeros((4, 2))), want)


def test_split_gradient_of_one_part_is_zero_elsewhere() -> None:
    with gc.Graph("spg"):
        x = gc.placeholder("x", ("B", 5), "float64")
        _, middle, _ = gc.split(x, [1, 3], axis=1)
        g = gc.grad(gc.sum(middle * 2.0), x)
    want = np.zeros((3, 5))
    want[:, 1:3] = 2.0
    np.testing.assert_array_equal(_run([x], g, RNG.standard_normal((3, 5))), want)


def test_kernels_called_without_bound_dims() -> None:
    from graphc.ops import shape as ops_shape

    x = np.arange(24.0).reshape(6, 4)
    assert ops_shape.reshape.kernel(x, shape=("B", 2, 2)).shape == (6, 2, 2)  # one unknown
    parts = ops_shape.split.kernel(x, axis=0, sections=None, indices=None, sizes=(2, "B"))
    assert [p.shape for p in parts] == [(2, 4), (4, 4)]
    with pytest.raises(ValueError, match="symbolic dim B is not bound"):
        ops_shape.broadcast_to.kernel(np.ones(3), shape=("B", 3))
    with ops_shape.runtime_dims({"B": 3, "T": 2}):
        assert ops_shape.reshape.kernel(x, shape=("B", "T", 4)).shape == (3, 2, 4)
