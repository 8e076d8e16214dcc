"""The llvm backend agrees with the NumPy interpreter on every case of the op catalogue.

Variants: as given (mostly float32) and float64 (float32 inputs widened), both without passes
so that every op's own lowering runs; then non-contiguous inputs with a symbolic leading axis
through the default pipeline (so fused forms run too). To keep the suite fast, every case of a
variant goes into one graph compiled once; each case is still its own test. A variant rejects
exactly the cases it pins (with the expected message); any other rejection fails.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm.kernels import missing_lowerings
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY
from tests.op_cases import Case, all_cases
from tests.op_cases.symbolic import SYMBOLIC_REJECTIONS

CASES = all_cases()
Arrays = list[np.ndarray]


def test_every_op_has_a_lowering() -> None:
    assert missing_lowerings() == []


def _widen(arrays: Arrays) -> Arrays:
    return [a.astype(np.float64) if a.dtype == np.float32 else a for a in arrays]


def _strided(arrays: Arrays) -> Arrays:
    """The same values, in arrays whose last axis has stride 2 (not C-contiguous)."""
    out = []
    for a in arrays:
        if a.ndim == 0 or a.size == 0:
            out.append(a)
            continue
        buf = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)
        buf[..., ::2] = a
        out.append(buf[..., ::2])
    return out


def _symbolic(arrays: Arrays, tag: str) -> list[tuple]:
    n = arrays[0].shape[0] if arrays and arrays[0].ndim else None
    return [(f"B{tag}", *a.shape[1:]) if a.ndim and a.shape[0] == n else a.shape for a in arrays]


def _given_shapes(arrays: Arrays, tag: str) -> list[tuple]:
    return [a.shape for a in arrays]


@dataclass
class Variant:
    arrays: Callable[[Case], Arrays]
    shapes: Callable[[Arrays, str], list[tuple]] = _given_shapes
    passes: list[str] | None = field(default_factory=list)  # None: the default pipeline
    rejected: dict[str, str] = field(default_factory=dict)  # case id -> expected message


VARIANTS = {
    "given": Variant(lambda c: c.make(np.random.default_rng(0))),
    "f64": Variant(lambda c: _widen(c.make(np.random.default_rng(0)))),
    "strided-symbolic-fused": Variant(
        lambda c: _strided(c.make(np.random.default_rng(0))), _symbolic, None,
        SYMBOLIC_REJECTIONS,
    ),
}


def _build(case: Case, arrays: Arrays, shapes: list[tuple], tag: str) -> tuple[list, list]:
    xs = [
        gc.placeholder(f"c{tag}_x{i}", s, a.dtype)
        for i, (a, s) in enumerate(zip(arrays, shapes, strict=True))
    ]
    out = apply(REGISTRY[case.op], *xs, **case.attrs)
    return xs, list(out) if isinstance(out, tuple) else [out]


@functools.cache
def _compiled(variant: str) -> tuple[dict[str, tuple[list, list]], dict[str, str]]:
    """Every case of ``variant`` that the op accepts, compiled as one graph: id -> (got, want);
    and the rejected ones: id -> message."""
    v = VARIANTS[variant]
    graph, spans, inputs, arrays_all = gc.Graph(f"parity_{variant}"), {}, [], []
    rejected: dict[str, str] = {}
    with graph:
        for k, case in enumerate(CASES):
            arrays = v.arrays(case)
            try:
                xs, outs = _build(case, arrays, v.shapes(arrays, str(k)), str(k))
            except gc.GraphcError as e:
                rejected[case.id] = str(e)
                continue
            spans[case.id] = (len(inputs), len(xs), outs)
            inputs += xs
            arrays_all += arrays
    outs_all = [o for _, _, outs in spans.values() for o in outs]
    got = gc.function(inputs, outs_all, backend="llvm", passes=v.passes)(*arrays_all)
    want = gc.function(inputs, outs_all, backend="numpy", passes=[])(*arrays_all)
    table, pos = {}, 0
    for cid, (_, _, outs) in spans.items():
        table[cid] = (got[pos : pos + len(outs)], want[pos : pos + len(outs)])
        pos += len(outs)
    return table, rejected


def _same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if actual.dtype.kind == "f":
        tol = 2e-5 if actual.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_numpy(case: Case, variant: str) -> None:
    table, rejected = _compiled(variant)
    pinned = VARIANTS[variant].rejected
    assert (case.id in rejected) == (case.id in pinned), \
        rejected.get(case.id, "accepted, but pinned as rejected in tests/op_cases/symbolic.py")
    if case.id in pinned:
        assert re.search(pinned[case.id], rejected[case.id]), rejected[case.id]
    else:
        got, want = table[case.id]
        for g, w in zip(got, want, strict=True):
            _same(g, w)
