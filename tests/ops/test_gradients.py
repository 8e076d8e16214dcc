"""Every differentiable op's gradient rule against central finite differences, table-driven.

For each Case of tests.op_cases whose op is differentiable and that has float inputs and a
float result: cost = sum(out * r) for a fixed random projection r, differentiated w.r.t. the
case's float inputs with gc.grad and checked by gc.check_grad in float64. No op is left out
silently: every registered op is differentiable with such a case, or listed below with why.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY, OpDef
from tests.op_cases import Case, all_cases
from tests.op_cases.symbolic import NO_LEADING_AXIS, REJECTION_ERRORS, SYMBOLIC_REJECTIONS

NON_DIFFERENTIABLE: dict[str, str] = {
    "constant": "no operands",
    "equal": "bool result",
    "not_equal": "bool result",
    "less": "bool result",
    "less_equal": "bool result",
    "greater": "bool result",
    "greater_equal": "bool result",
    "logical_and": "bool operands and result",
    "logical_or": "bool operands and result",
    "logical_not": "bool operand and result",
    "argmax": "integer result",
    "argmin": "integer result",
    "one_hot": "integer operand",
    "random_bits": "integer key operand and result",
    "random_uniform": "integer key operand",
    "argsort": "integer result",
    "iota": "no operands",
    "layer_norm_grad": "no second derivative of layer_norm yet (a clear GradError)",
    "broadcast": "the gradient belongs to the root rank alone (autodiff raises)",
}

# Differentiable ops whose gradient is zero by definition (finite differences see the identity).
ZERO_GRADIENT: dict[str, str] = {"stop_gradient": "blocks the gradient of its identity"}


def _exempt(op: OpDef) -> bool:
    return op.has_body or op.family == "fused"  # fusion output; differentiate before fusing


def _static(arrays: list[np.ndarray]) -> list[tuple]:
    return [a.shape for a in arrays]


def _batch(arrays: list[np.ndarray]) -> list[tuple]:
    """Axis 0 named "B" in every input whose axis 0 has the first input's size."""
    n = arrays[0].shape[0]
    return [("B", *a.shape[1:]) if a.ndim and a.shape[0] == n else a.shape for a in arrays]


def _build(case: Case, shapes_of=_static) -> tuple[gc.Tensor, list[gc.Tensor], dict]:
    """(cost, wrt, feeds) for one case; cost = sum(out * r) over every float result.

    The projections r are placeholders of the results' types, so symbolic dims work too.
    """
    arrays = case.make(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    with gc.Graph(f"grad_{case.op}"):
        xs = [gc.placeholder(f"x{i}", s, a.dtype)
              for i, (a, s) in enumerate(zip(arrays, shapes_of(arrays), strict=True))]
        out = apply(REGISTRY[case.op], *xs, **case.attrs)
        outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.dtype.is_float]
        rs = [gc.placeholder(f"r{k}", o.shape, o.dtype) for k, o in enumerate(outs)]
        cost = gc.sum(outs[0] * rs[0])
        for o, r in zip(outs[1:], rs[1:], strict=True):
            cost = cost + gc.sum(o * r)
    env = {"B": arrays[0].shape[0]} if arrays and arrays[0].ndim else {}
    feeds = dict(zip(xs, arrays, strict=True))
    feeds.update((r, rng.normal(size=r.type.concrete(env)).astype(r.dtype.np)) for r in rs)
    picks = case.grad_inputs
    if picks is None:
        picks = tuple(i for i, x in enumerate(xs) if x.dtype.is_float)
    return cost, [xs[i] for i in picks], feeds


def _gradable(case: Case) -> bool:
    op = REGISTRY[case.op]
    if not op.differentiable or _exempt(op) or case.op in ZERO_GRADIENT:
        return False
    arrays = case.make(np.random.default_rng(0))
    floats_in = any(a.dtype.kind == "f" for a in arrays)
    return floats_in and any(
        t.dtype.is_float for t in _out_types(case, arrays)
    )


def _out_types(case: Case, arrays: list[np.ndarray]) -> list:
    with gc.Graph("probe"):
        xs = [gc.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
        out = apply(REGISTRY[case.op], *xs, **case.attrs)
    return [o.type for o in (out if isinstance(out, tuple) else (out,))]


GRAD_CASES = [c for c in all_cases() if _gradable(c)]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_vjp_matches_finite_differences(case: Case) -> None:
    cost, wrt, feeds = _build(case)
    report = gc.check_grad(cost, wrt, feeds, raise_on_failure=False)
    assert report.ok, str(report)
    assert report.checked == sum(feeds[w].size for w in wrt)


def _symbolic_param(case: Case):
    if case.make(np.random.default_rng(0))[0].ndim:
        return pytest.param(case, id=case.id)
    return pytest.param(case, id=case.id, marks=pytest.mark.skip(reason=NO_LEADING_AXIS))


@pytest.mark.parametrize("case", [_symbolic_param(c) for c in GRAD_CASES])
def test_vjp_with_symbolic_batch(case: Case) -> None:
    """The same check with the leading axis symbolic: rules must not assume static shapes."""
    if case.id in SYMBOLIC_REJECTIONS:  # pinned in tests/op_cases/symbolic.py
        with pytest.raises(REJECTION_ERRORS, match=SYMBOLIC_REJECTIONS[case.id]):
            _build(case, _batch)
    else:
        cost, wrt, feeds = _build(case, _batch)
        assert any(x.type.symbols() for x in feeds)
        report = gc.check_grad(cost, wrt, feeds, raise_on_failure=False)
        assert report.ok, str(report)


def test_no_op_left_out() -> None:
    with_case = {c.op for c in GRAD_CASES}
    missing = sorted(
        name for name, op in REGISTRY.items()
        if not _exempt(op) and name not in NON_DIFFERENTIABLE and name not in with_case
        and name not in ZERO_GRADIENT
    )
    assert not missing, f"differentiable ops without a gradient-checked case: {missing}"


def test_non_differentiable_list_is_accurate() -> None:
    for name in NON_DIFFERENTIABLE:
        assert name in REGISTRY, f"{name} is listed but not registered"
        assert not REGISTRY[name].differentiable, f"{name} is listed but marked differentiable"


def test_differentiable_ops_have_rules() -> None:
    lacking = sorted(n for n, op in REGISTRY.items()
                     if op.differentiable and op.vjp is None and not _exempt(op))
    assert not lacking, f"ops marked differentiable without a vjp: {lacking}"


@pytest.mark.parametrize("name", sorted(ZERO_GRADIENT))
def test_zero_gradient_ops(name: str) -> None:
    with gc.Graph("zero"):
        x = gc.placeholder("x", (3,))
        y = apply(REGISTRY[name], x)
        (g,) = gc.grad(gc.sum(y * x), [x])  # only the direct factor x carries a gradient
        y_val, g_val = gc.function([x], [y, g])(np.array([1.0, -2.0, 3.0], np.float32))
    np.testing.assert_array_equal(g_val, y_val)
