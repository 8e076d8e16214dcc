"""Build errors that say what, where and how to fix: mixed graphs, None dims."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

HERE = "test_build_errors.py"


def _two_graphs():
    a, b = gc.Graph("a"), gc.Graph("b")
    with a:
        x = gc.placeholder("x", (3,))
    with b:
        y = gc.placeholder("y", (3,))
        z = gc.exp(y)
    return x, y, z


def test_operands_from_different_graphs_name_op_types_and_line() -> None:
    x, y, _ = _two_graphs()
    with pytest.raises(gc.GraphcError, match=rf"add\(f32\[3\], f32\[3\]\) at .*{HERE}:\d+: "
                       r"operands come from different graphs: operand 0 \(f32\[3\]\) is in @a, "
                       r"operand 1 \(f32\[3\]\) is in @b"):
        _ = x + y


def test_function_names_the_tensor_of_another_graph() -> None:
    x, _, z = _two_graphs()
    with pytest.raises(gc.GraphcError, match=r"output 1 <Tensor exp: f32\[3\]> \(made at "
                       rf".*{HERE}:\d+\) is in graph @b, the others in @a"):
        gc.function([x], [x * 2.0, z])
    with pytest.raises(gc.GraphcError, match=r"input 'x' <Tensor x: f32\[3\]> is in graph @a, "
                       "the others in @b"):
        gc.function([x], z)


def _classifier(x_shape: tuple, y_shape: tuple):
    g = gc.Graph("clf")
    with g:
        x = gc.placeholder("x", x_shape)
        y = gc.placeholder("y", y_shape, "int64")
        loss = gc.mean(gc.softmax_cross_entropy(gc.nn.dense(x, 10, seed=0), y))
    return x, y, loss


def test_none_dims_that_must_agree_give_the_fix() -> None:
    with pytest.raises(gc.ShapeError, match=r"x_0 \(axis 0 of 'x'\), y_0 \(axis 0 of 'y'\) "
                       r"came from None.*gc.placeholder\('x', \('B', 64\)\) and "
                       r"gc.placeholder\('y', \('B',\)\)"):
        _classifier((None, 64), (None,))


def test_the_fix_works() -> None:
    x, y, loss = _classifier(("B", 64), ("B",))
    f = gc.function([x, y], loss)
    out = f(np.zeros((5, 64), np.float32), np.arange(5))
    np.testing.assert_allclose(out, np.log(10), rtol=1e-6)  # zero inputs: uniform logits


def test_shape_errors_without_none_dims_have_no_hint() -> None:
    g = gc.Graph("plain")
    with g:
        x = gc.placeholder("x", ("B", 3))
        with pytest.raises(gc.ShapeError) as info:
            _ = x + gc.placeholder("y", ("C", 3))
    assert "None" not in str(info.value)
