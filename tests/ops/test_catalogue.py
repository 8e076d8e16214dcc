"""The catalogue, table-driven: every op has cases; each case's kernel agrees with its rule.

For every Case of tests.op_cases: build the op on placeholders, run the NumPy kernel through
gc.function, and check result shapes and dtypes against the inferred types and values against
the case's independent NumPy reference; then again with the leading axis symbolic ("B").
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY, OpDef
from tests.op_cases import Case, all_cases
from tests.op_cases.symbolic import NO_LEADING_AXIS, REJECTION_ERRORS, SYMBOLIC_REJECTIONS

CASES = all_cases()

# Registered ops that need no case of their own, each with the reason.
NO_CASE: dict[str, str] = {}


def _exempt(op: OpDef) -> bool:
    # fused ops carry a body built by the fusion pass; their tests live with the passes
    return op.has_body or op.family == "fused" or op.name in NO_CASE


def test_every_op_has_a_case() -> None:
    covered = {c.op for c in CASES}
    missing = sorted(n for n, op in REGISTRY.items() if not _exempt(op) and n not in covered)
    assert not missing, f"ops without a case in tests/op_cases: {missing}"


def test_cases_name_registered_ops() -> None:
    unknown = sorted({c.op for c in CASES} - set(REGISTRY))
    assert not unknown, f"cases for ops that are not registered: {unknown}"


def _build(case: Case, arrays: list[np.ndarray], shapes: list[tuple]) -> tuple[list, list]:
    with gc.Graph(f"case_{case.op}"):
        pairs = enumerate(zip(arrays, shapes, strict=True))
        xs = [gc.placeholder(f"x{i}", s, a.dtype) for i, (a, s) in pairs]
        out = apply(REGISTRY[case.op], *xs, **case.attrs)
    return xs, list(out) if isinstance(out, tuple) else [out]


def _run(case: Case, shapes_of=lambda arrays: [a.shape for a in arrays]):
    arrays = case.make(np.random.default_rng(0))
    xs, outs = _build(case, arrays, shapes_of(arrays))
    return arrays, outs, gc.function(xs, outs)(*arrays)


def _same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    if actual.dtype.kind == "f":
        tol = 1e-5 if actual.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_kernel_agrees_with_rule(case: Case) -> None:
    arrays, outs, results = _run(case)
    assert len(results) == len(outs)
    for t, r in zip(outs, results, strict=True):
        assert r.shape == t.type.shape, f"kernel gave {r.shape}, rule says {t.type}"
        assert r.dtype == t.dtype.np, f"kernel gave {r.dtype}, rule says {t.type}"
    if case.ref is not None:
        expected = case.ref(*arrays)
        expected = list(expected) if isinstance(expected, tuple) else [expected]
        assert len(expected) == len(results)
        for r, want in zip(results, expected, strict=True):
            _same(r, np.asarray(want))


def _symbolic_shapes(arrays: list[np.ndarray]) -> list[tuple]:
    """Axis 0 named "B" in every input whose axis 0 has the first input's leading size."""
    n = arrays[0].shape[0]
    return [("B", *a.shape[1:]) if a.ndim and a.shape[0] == n else a.shape for a in arrays]


def _symbolic_param(case: Case):
    arrays = case.make(np.random.default_rng(0))
    if arrays and arrays[0].ndim:
        return pytest.param(case, id=case.id)
    return pytest.param(case, id=case.id, marks=pytest.mark.skip(reason=NO_LEADING_AXIS))


def test_pinned_rejections_name_cases() -> None:
    stale = sorted(set(SYMBOLIC_REJECTIONS) - {c.id for c in CASES})
    assert not stale, f"tests/op_cases/symbolic.py pins cases that do not exist: {stale}"


@pytest.mark.parametrize("case", [_symbolic_param(c) for c in CASES])
def test_rule_with_symbolic_batch(case: Case) -> None:
    arrays = case.make(np.random.default_rng(0))
    shapes = _symbolic_shapes(arrays)
    if case.id in SYMBOLIC_REJECTIONS:  # pinned: must still be rejected, cleanly, at build
        with pytest.raises(REJECTION_ERRORS, match=SYMBOLIC_REJECTIONS[case.id]):
            _build(case, arrays, shapes)
    else:
        _check_symbolic(case, arrays, shapes)


def _check_symbolic(case: Case, arrays: list[np.ndarray], shapes: list[tuple]) -> None:
    xs, outs = _build(case, arrays, shapes)
    assert "B" in {s for x in xs for s in x.type.symbols()}
    env = {"B": arrays[0].shape[0]}
    results = gc.function(xs, outs)(*arrays)
    _, _, static_results = _run(case)
    for t, r, s in zip(outs, results, static_results, strict=True):
        assert t.type.concrete(env) == r.shape, f"rule says {t.type} with B={env['B']}"
        assert r.dtype == t.dtype.np
        _same(r, s)
