"""The public builder API and gc.function: the contract of issue 2, checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def test_interpreter_matches_hand_numpy():
    g = gc.Graph("api")
    with g:
        x = gc.placeholder("x", ("B", 3), "float32")
        b = gc.parameter("b", np.array([0.5, -1.0, 2.0], np.float32))
        h = gc.exp(x) * 2.0 - b
        s = gc.sum(gc.tanh(h), axis=1, keepdims=True)
        m = gc.max(h, axis=0)
    f = gc.function([x], [s, h, m])
    xv = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    hv = np.exp(xv) * np.float32(2) - b.value
    sv, hv_got, mv = f(xv)
    np.testing.assert_allclose(hv_got, hv, rtol=1e-6)
    np.testing.assert_allclose(sv, np.tanh(hv).sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(mv, hv.max(axis=0))
    assert sv.shape == (5, 1) and sv.dtype == np.float32


def test_single_output_returns_array_and_updates_apply_after_call():
    g = gc.Graph("upd")
    with g:
        x = gc.placeholder("x", (3,), "float32")
        w = gc.parameter("w", np.ones(3, np.float32))
        y = gc.sum(x * w)
    f = gc.function([x], y, updates=[(w, w * 2.0)])
    out = f(np.array([1, 2, 3], np.float32))
    assert isinstance(out, np.ndarray) and out.shape == ()
    assert out == pytest.approx(6.0)  # computed with the old w
    np.testing.assert_array_equal(w.value, [2, 2, 2])
    assert f(np.array([1, 2, 3], np.float32)) == pytest.approx(12.0)


def test_operators_match_numpy():
    g = gc.Graph("ops")
    with g:
        a = gc.placeholder("a", (2, 3), "float32")
        c = gc.placeholder("c", (3,), "float32")
        outs = [a + c, a - c, a * c, a / c, -a, a**2.0, 1.0 - a, 2.0 / c, abs(a)]
    f = gc.function([a, c], outs)
    rng = np.random.default_rng(1)
    av = rng.uniform(0.5, 2, (2, 3)).astype(np.float32)
    cv = rng.uniform(0.5, 2, 3).astype(np.float32)
    want = [av + cv, av - cv, av * cv, av / cv, -av, av**2, 1 - av, 2 / cv, np.abs(av)]
    for got, ref in zip(f(av, cv), want, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_input_checks_name_the_input():
    g = gc.Graph("chk")
    with g:
        x = gc.placeholder("x", ("B", 2), "float32")
        y = gc.placeholder("y", ("B",), "int64")
        out = gc.sum(x, axis=1) + gc.cast(y, "float32")
    f = gc.function([x, y], out)
    ok_x, ok_y = np.zeros((4, 2), np.float32), np.zeros(4, np.int64)
    assert f(ok_x, ok_y).shape == (4,)
    bad = {
        "expected 2 inputs": (ok_x,),
        "input 'x': expected dtype float32": (ok_x.astype(np.float64), ok_y),
        "input 'y': expected rank 1": (ok_x, ok_y[:, None]),
        "input 'x' axis 1: expected 2": (np.zeros((4, 3), np.float32), ok_y),
        "input 'y' axis 0: expected B (bound to 4 by input 'x' axis 0)": (ok_x, ok_y[:3]),
    }
    for message, args in bad.items():
        with pytest.raises(gc.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            f(*args)


def test_build_errors_name_op_types_and_user_line():
    g = gc.Graph("err")
    with g:
        a = gc.placeholder("a", (2, 3), "float32")
        b = gc.placeholder("b", (4,), "float32")
        d = gc.placeholder("d", (3,), "float64")
        where = r"add\(f32\[2,3\], f32\[4\]\) at .*test_api.py:\d+"
        with pytest.raises(gc.ShapeError, match=where):
            a + b
        with pytest.raises(gc.DTypeError, match=r"mul\(f32\[2,3\], f64\[3\]\).*cast one"):
            a * d
        with pytest.raises(gc.GraphcError, match="unknown attribute"):
            gc.exp(a, beta=1)


def test_missing_placeholder_and_foreign_graph_are_errors():
    g1, g2 = gc.Graph("one"), gc.Graph("two")
    with g1:
        x = gc.placeholder("x", (2,), "float32")
        y = gc.placeholder("y", (2,), "float32")
        s = x + y
    with g2:
        z = gc.placeholder("z", (2,), "float32")
    with pytest.raises(gc.GraphcError, match="placeholder 'y', which is not among the inputs"):
        gc.function([x], s)
    with pytest.raises(gc.GraphcError, match="different graphs"):
        x + z


def test_parameter_value_is_live_and_checked():
    g = gc.Graph("p")
    with g:
        w = gc.parameter("w", np.zeros(2, np.float32))
        x = gc.placeholder("x", (2,), "float32")
        out = x + w
    f = gc.function([x], out)
    w.value = np.array([1, 2], np.float32)
    np.testing.assert_array_equal(f(np.zeros(2, np.float32)), [1, 2])
    with pytest.raises(gc.ShapeError, match="parameter 'w'"):
        w.value = np.zeros(3, np.float32)


def test_node_locations_point_at_user_code():
    g = gc.Graph("loc")
    with g:
        x = gc.placeholder("x", (2,), "float32")
        y = gc.exp(x)
    node = y.ir.node
    assert node.loc.file.endswith("test_api.py")
    import inspect

    assert node.loc.line == inspect.currentframe().f_lineno - 5


def test_check_numerics_names_the_node_that_made_nan():
    g = gc.Graph("nan")
    with g:
        x = gc.placeholder("x", (2,), "float32")
        y = gc.log(x)  # log(-1) is NaN: this line is reported
        z = y * 2.0
    plain = gc.function([x], z)
    assert np.isnan(plain(np.array([1, -1], np.float32))[1])
    checked = gc.function([x], z, check_numerics=True)
    with pytest.raises(gc.GraphcError, match=r"log at .*test_api.py:\d+ produced NaN"):
        checked(np.array([1, -1], np.float32))
    np.testing.assert_allclose(checked(np.array([1, 2], np.float32)), 2 * np.log([1, 2]))
