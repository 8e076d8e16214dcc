"""A parameter update that reads its parameter twice, once through a view, is not written into the
parameter in place: the kernel would overwrite elements the view still has to read."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_update_reading_its_parameter_through_a_view_gets_its_own_buffer(backend: str) -> None:
    w0 = np.arange(16, dtype=np.float32).reshape(4, 4)
    g = gc.Graph("t")
    with g:
        x = gc.placeholder("x", (4, 4))
        w = gc.parameter("w", w0.copy())
        new = w * 0.5 + gc.transpose(w, (1, 0))  # every operand is w's memory
    f = gc.function([x], [gc.sum(x)], updates=[(w, new)], backend=backend)
    xs = np.full((4, 4), 0.25, np.float32)
    expected = w0.copy()
    for _ in range(2):
        f(xs)
        expected = expected * np.float32(0.5) + expected.T  # NumPy written out
        np.testing.assert_array_equal(w.value, expected)
