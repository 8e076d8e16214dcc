"""Values computed from constants alone that are results and inputs of other such nodes."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


@pytest.mark.parametrize("passes", [[], None])
def test_constant_only_result_feeding_a_constant_only_node(passes: list | None) -> None:
    g = gc.Graph("k")
    with g:
        x = gc.placeholder("x", (3,))
        k = gc.constant(np.ones(3, np.float32)) * 2.0
        total = gc.sum(k) + gc.sum(x)
    f = gc.function([x], [k, total], passes=passes)
    for _ in range(2):  # the second call reuses the compiled program
        got_k, got_total = f(np.ones(3, np.float32))
        np.testing.assert_array_equal(got_k, [2, 2, 2])
        assert got_total == 9.0
    got_k[0] = 7.0  # a result is the caller's own array: the next call is unchanged
    np.testing.assert_array_equal(f(np.ones(3, np.float32))[0], [2, 2, 2])


def test_check_grad_with_a_constant_factor() -> None:
    c = np.array([1.0, 2.0, 3.0])
    report = gc.check_grad(lambda x, s: gc.sum((x + s) * gc.constant(c)), [np.ones(3), np.ones(1)])
    assert report.ok and report.checked == 4
