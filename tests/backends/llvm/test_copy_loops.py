"""Copies keep their outer loops rolled: a concat or split along axis 1 of [32, 128] arrays
must not become 64 unrolled row memcpys (whose codegen took seconds)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def _optimized(build) -> tuple[str, list[np.ndarray], list[np.ndarray]]:
    a = np.arange(32 * 128, dtype=np.float32).reshape(32, 128)
    b = -a
    with gc.Graph("copies"):
        xa, xb = gc.placeholder("a", (32, 128)), gc.placeholder("b", (32, 128))
        outs, want = build(xa, xb, a, b)
        fn = gc.function([xa, xb], outs, backend="llvm", passes=[])
        got = fn(a, b)
    return fn.executable.llvm_ir({}, optimized=True), list(got), want


CASES = {
    "concat": lambda xa, xb, a, b: ([gc.concat([xa, xb], axis=1)], [np.concatenate([a, b], 1)]),
    "split": lambda xa, xb, a, b: (list(gc.split(xa, 2, axis=1)), np.split(a, 2, axis=1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_row_copies_stay_in_a_loop(name):
    text, got, want = _optimized(CASES[name])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert text.count("call void @llvm.memcpy") <= 4, "the row loop was unrolled"
