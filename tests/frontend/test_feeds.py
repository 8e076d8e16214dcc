"""Calling a Function by placeholder name and with a feed dict."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

XB = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
YB = np.array([10.0, 20.0], np.float32)


@pytest.fixture
def f_xy():
    g = gc.Graph("feeds")
    with g:
        x = gc.placeholder("x", ("B", 2))
        y = gc.placeholder("y", ("B",))
        out = gc.sum(x, axis=1) - y
    return gc.function([x, y], out), x, y


WANT = XB.sum(axis=1) - YB


def test_keyword_feeds_by_placeholder_name(f_xy) -> None:
    f, _, _ = f_xy
    np.testing.assert_array_equal(f(x=XB, y=YB), WANT)
    np.testing.assert_array_equal(f(y=YB, x=XB), WANT)
    np.testing.assert_array_equal(f(XB, y=YB), WANT)


def test_dict_feeds_keyed_by_tensor_or_name(f_xy) -> None:
    f, x, y = f_xy
    np.testing.assert_array_equal(f({x: XB, y: YB}), WANT)
    np.testing.assert_array_equal(f({"y": YB, "x": XB}), WANT)
    np.testing.assert_array_equal(f({x: XB, "y": YB}), WANT)


@pytest.mark.parametrize("call, message", [
    (lambda f, x, y: f(x=XB), "missing input(s) 'y'; call it with the inputs in order"),
    (lambda f, x, y: f(x=XB, y=YB, z=YB), "no input named 'z'; the inputs are x, y"),
    (lambda f, x, y: f(XB, x=XB, y=YB), "input 'x' given twice"),
    (lambda f, x, y: f({x: XB}), "missing input(s) 'y'"),
    (lambda f, x, y: f({x: XB, y: YB}, y=YB), "a feed dict and keyword inputs together"),
    (lambda f, x, y: f({3: XB}), "feed dict keys are placeholder Tensors or names, got 3"),
])
def test_bad_feeds_say_how_to_call(f_xy, call, message: str) -> None:
    f, x, y = f_xy
    with pytest.raises(gc.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(f, x, y)


def test_a_tensor_that_is_not_an_input_is_named(f_xy) -> None:
    f, x, _ = f_xy
    with x.graph:
        other = gc.placeholder("other", (2,))
    with pytest.raises(gc.InputError, match="feed key <Tensor other: f32\\[2\\]> is not an input"):
        f({x: XB, other: YB})


def test_function_of_a_parsed_graph_takes_names() -> None:
    from graphc.frontend.function import function_of_graph

    g = gc.parse("graph @g(%a: f32[2], %b: f32[2]) -> (f32[2]) {\n"
                 "  %0 = sub %a, %b : f32[2]\n  return %0\n}\n")
    f = function_of_graph(g)
    np.testing.assert_array_equal(f(b=YB, a=YB * 2)[0], YB)


def test_profile_takes_a_feed_dict(f_xy) -> None:
    f, x, y = f_xy
    prof = f.profile({x: XB, "y": YB}, repeat=1, warmup=0)
    assert prof is f.last_profile
