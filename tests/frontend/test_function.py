"""gc.function's argument checks, and updates that must not alias memory others can change."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def _graph() -> tuple[gc.Tensor, gc.Tensor, gc.Tensor]:
    with gc.Graph("f"):
        x = gc.placeholder("x", (3,), "float32")
        a = gc.parameter("a", np.zeros(3, np.float32))
        b = gc.parameter("b", np.ones(3, np.float32))
    return x, a, b


def test_malformed_arguments_are_graphc_errors():
    x, a, _ = _graph()
    bad = {
        "inputs must be a list of placeholders": lambda: gc.function(x, gc.sum(x)),
        "input 'x' is listed twice": lambda: gc.function([x, x], gc.sum(x)),
        "outputs must be Tensors, got 3.0": lambda: gc.function([x], [gc.sum(x), 3.0]),
        r"update must be a \(parameter, new value\) pair": lambda: gc.function(
            [x], gc.sum(x), updates=[a]),
        "update target 'a' is listed twice": lambda: gc.function(
            [x], gc.sum(x), updates=[(a, a + x), (a, a * 3.0)]),
    }
    for message, make in bad.items():
        with pytest.raises(gc.GraphcError, match=message):
            make()


def test_a_parameter_set_to_an_input_does_not_alias_the_callers_array():
    x, a, _ = _graph()
    f = gc.function([x], gc.sum(x), updates=[(a, x)])
    given = np.ones(3, np.float32)
    f(given)
    given[:] = 7.0  # the caller reuses its buffer
    np.testing.assert_array_equal(a.value, [1, 1, 1])


def test_a_parameter_set_to_another_does_not_follow_its_later_in_place_updates():
    x, a, b = _graph()
    copy_b = gc.function([x], gc.sum(x), updates=[(a, b)])
    bump_b = gc.function([x], gc.sum(x), updates=[(b, b + x)])
    copy_b(np.ones(3, np.float32))
    bump_b(np.ones(3, np.float32))
    np.testing.assert_array_equal(a.value, [1, 1, 1])
    np.testing.assert_array_equal(b.value, [2, 2, 2])


def test_an_output_that_is_a_parameter_keeps_its_value_after_later_updates():
    x, a, _ = _graph()
    read = gc.function([x], [a])
    bump = gc.function([x], gc.sum(x), updates=[(a, a + x)])
    (before,) = read(np.ones(3, np.float32))
    bump(np.ones(3, np.float32))
    np.testing.assert_array_equal(before, [0, 0, 0])
    np.testing.assert_array_equal(a.value, [1, 1, 1])


def test_in_place_updates_keep_running_totals():
    x, a, b = _graph()
    f = gc.function([x], gc.sum(a), updates=[(a, a + x), (b, b * 2.0)])
    totals = [float(f(np.ones(3, np.float32))) for _ in range(3)]
    assert totals == [0.0, 3.0, 6.0]
    np.testing.assert_array_equal(b.value, [8, 8, 8])
