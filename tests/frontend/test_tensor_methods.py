"""Tensor operators and NumPy-style methods: == is elementwise, methods map to the catalogue."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def _run(build, *feeds: np.ndarray, backend: str = "numpy"):
    """Build outputs from placeholders shaped like ``feeds`` and run them."""
    g = gc.Graph("t")
    with g:
        xs = [gc.placeholder(f"x{i}", f.shape, f.dtype) for i, f in enumerate(feeds)]
        outs = build(*xs)
    single = isinstance(outs, gc.Tensor)
    f = gc.function(xs, outs, backend=backend)
    return f(*feeds) if single else list(f(*feeds))


X = np.array([1.0, 2.0, 3.0, 0.0], np.float32)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_eq_is_elementwise(backend: str) -> None:
    got = _run(lambda x: x * (x == 3.0).astype("float32"), X, backend=backend)
    np.testing.assert_array_equal(got, [0, 0, 3, 0])  # not a constant 0
    got = _run(lambda x: x * (x != 2.0).astype("float32"), X, backend=backend)
    np.testing.assert_array_equal(got, [1, 0, 3, 0])


def test_eq_result_is_bool() -> None:
    g = gc.Graph("b")
    with g:
        x = gc.placeholder("x", (4,))
        assert (x == 3.0).dtype == gc.bool_


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_bool_masks_take_the_other_operands_dtype_in_arithmetic(backend: str) -> None:
    # the case: x * (y == 3) is a mask, as in NumPy, PyTorch and JAX
    y = np.array([3, 1, 3, 0], np.int64)
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    masked, shifted = _run(lambda a, b: [a * (b == 3), (b == 3) + b], x, y, backend=backend)
    np.testing.assert_array_equal(masked, np.array([1.0, 0.0, 3.0, 0.0], np.float32))
    assert masked.dtype == np.float32
    np.testing.assert_array_equal(shifted, np.array([4, 1, 4, 0]))


def test_bool_with_bool_and_mixed_numeric_dtypes_are_not_promoted() -> None:
    g = gc.Graph("b")
    with g:
        x = gc.placeholder("x", (4,))
        i = gc.placeholder("i", (4,), "int64")
        with pytest.raises(gc.DTypeError):
            _ = (x == 1.0) + (x == 2.0)  # bool + bool stays an error: say logical_or
        with pytest.raises(gc.DTypeError):
            _ = x * i  # only bool is promoted


def test_where_on_eq_condition() -> None:
    got = _run(lambda x: gc.where(x == 0.0, 1.0, x), X)
    np.testing.assert_array_equal(got, [1, 2, 3, 1])


def test_eq_of_two_tensors_and_reflected() -> None:
    y = np.array([1.0, 0.0, 3.0, 5.0], np.float32)
    a, b = _run(lambda x, z: [x == z, 3.0 == x], X, y)  # noqa: SIM300  (the reflected form)
    np.testing.assert_array_equal(a, np.equal(X, y))
    np.testing.assert_array_equal(b, X == 3.0)


def test_tensors_stay_usable_as_keys_and_in_lists() -> None:
    g = gc.Graph("k")
    with g:
        x = gc.placeholder("x", (2,))
        y = gc.placeholder("y", (2,))
    table = {x: 1, y: 2}
    assert table[y] == 2 and len({x, y, x}) == 2
    assert (x == None) is False and (x != "x") is True  # noqa: E711
    # lists compare with ==: `u in [..]` on Tensors would need a truth value
    with pytest.raises(gc.GraphcError, match="no truth value"):
        _ = y in [x, y]


def test_function_accepts_inputs_that_compare_elementwise() -> None:
    g = gc.Graph("f")
    with g:
        x = gc.placeholder("x", (2,))
        w = gc.parameter("w", np.ones(2, np.float32))
        y = gc.sum(x * w)
    f = gc.function([x], [y, x * 2.0], updates=[(w, w * 2.0)])
    out = f(np.ones(2, np.float32))
    assert out[0] == 2.0
    report = gc.check_grad(y, [w, x], {x: np.ones(2)})
    assert report.ok


def test_numpy_style_methods_match_numpy() -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 + 0.5
    outs = _run(lambda x: [
        x.max(), x.min(axis=1), x.sum(axis=(0, 2)), x.mean(keepdims=True), x.prod(axis=0),
        x.argmax(axis=2), x.exp(), x.log(), x.sqrt(), x.abs(), x.tanh(), x.square(),
        x.transpose(1, 2, 0), x.transpose((2, 0, 1)), x.transpose(), x.T,
        x.reshape(4, 6), x.reshape((6, -1)), x.flatten(), x % 0.75, x // 0.75, 2.0 % x,
        7.0 // x, x.clip(1.0, 2.0), x.floor(), x.var(axis=1), x.std(),
    ], a)
    want = [
        a.max(), a.min(axis=1), a.sum(axis=(0, 2)), a.mean(keepdims=True), a.prod(axis=0),
        a.argmax(axis=2), np.exp(a), np.log(a), np.sqrt(a), np.abs(a), np.tanh(a), a * a,
        a.transpose(1, 2, 0), a.transpose((2, 0, 1)), a.transpose(), a.T,
        a.reshape(4, 6), a.reshape((6, -1)), a.flatten(), a % np.float32(0.75),
        a // np.float32(0.75), np.float32(2.0) % a, np.float32(7.0) // a, a.clip(1, 2),
        np.floor(a), a.var(axis=1), a.std(),
    ]
    for got, ref in zip(outs, want, strict=True):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-6)


def test_remainder_sign_follows_the_divisor() -> None:
    a = np.array([5.0, -5.0, 5.0, -5.0], np.float64)
    b = np.array([3.0, 3.0, -3.0, -3.0], np.float64)
    got, floored = _run(lambda x, y: [x % y, x // y], a, b)
    np.testing.assert_array_equal(got, np.mod(a, b))
    np.testing.assert_array_equal(floored, np.floor_divide(a, b))


def test_description_properties() -> None:
    g = gc.Graph("d")
    with g:
        x = gc.placeholder("x", ("B", 3), "float64")
    assert x.shape == ("B", 3) and x.ndim == 2 and x.dtype == gc.float64


def test_value_with_the_wrong_dtype_is_a_dtype_error() -> None:
    g = gc.Graph("v")
    with g:
        w = gc.parameter("w", np.zeros(3, np.float32))
    with pytest.raises(gc.DTypeError, match="'w' is f32\\[3\\], got float64"):
        w.value = np.zeros(3, np.float64)
    with pytest.raises(gc.ShapeError):
        w.value = np.zeros(4, np.float32)
    np.testing.assert_array_equal(w.value, np.zeros(3))


@pytest.mark.parametrize("module", ["nn", "optim"])
def test_dir_lists_only_the_public_names(module: str) -> None:
    mod = getattr(gc, module)
    assert dir(mod) == sorted(mod.__all__)
    assert not {"np", "fn", "Callable", "Tensor"} & set(dir(mod))
    for name in mod.__all__:
        assert getattr(mod, name) is not None


@pytest.mark.parametrize("method", ["asm", "llvm_ir"])
def test_inspection_before_the_first_call_names_the_method(method: str) -> None:
    g = gc.Graph("a")
    with g:
        x = gc.placeholder("x", ("B", 3))
    f = gc.function([x], x * 2.0, backend="llvm")
    with pytest.raises(gc.BackendError, match=rf"call the function once, or pass them, e.g\. "
                       rf"{method}\(B=32\)"):
        getattr(f, method)()
    assert "define" in f.llvm_ir(B=4) and getattr(f, method)(B=4)
