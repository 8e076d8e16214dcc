"""Tiered optimization: kernels always at the full level; the entry function optimized while it
is small (an unoptimized entry cost the MLP b32 step ~15%), left unoptimized past the limit."""

from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.backends.llvm.codegen.emit import ENTRY_OPT_MAX_CALLS


def _entry_line(n_layers: int) -> str:
    g = gc.Graph("chain")
    with g:
        x = gc.placeholder("x", (4, 8))
        h = x
        for _ in range(n_layers):  # distinct constants: no CSE, one kernel call each
            h = gc.tanh(h @ gc.constant(np.eye(8, dtype=np.float32) * 0.5)) * 1.5 + 0.25
    f = gc.function([x], [h], backend="llvm", passes="canonicalize,cse,dce,memplan")
    f(np.ones((4, 8), np.float32))
    return next(ln for ln in f.ir("llvm").splitlines() if "graphc_entry" in ln and "define" in ln)


def test_a_small_entry_is_optimized_and_a_large_one_is_not() -> None:
    small = _entry_line(3)
    large = _entry_line(ENTRY_OPT_MAX_CALLS)  # several calls per layer: past the limit
    assert "optnone" not in small and "noinline" in small, small
    assert "optnone" in large, large
