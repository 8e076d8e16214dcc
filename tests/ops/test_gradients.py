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
    "max_pool2d_grad": "max_pool2d's gradient; second derivatives through max pooling are "
    "not supported (GradError)",
}


def _exempt(op: OpDef) -> bool:
    return op.has_body or op.family == "fused"  # fusion output; differentiate before fusing


def _build(case: Case) -> tuple[gc.Tensor, list[gc.Tensor], dict, list[gc.Tensor]]:
    """(cost, wrt, feeds, results) for one case; cost projects every float result."""
    arrays = case.make(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    with gc.Graph(f"grad_{case.op}"):
        xs = [gc.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
        out = apply(REGISTRY[case.op], *xs, **case.attrs)
        outs = list(out) if isinstance(out, tuple) else [out]
        terms = [gc.sum(o * gc.constant(rng.normal(size=o.shape).astype(o.dtype.np)))
                 for o in outs if o.dtype.is_float]
        cost = terms[0]
        for t in terms[1:]:
            cost = cost + t
    picks = case.grad_inputs
    if picks is None:
        picks = tuple(i for i, x in enumerate(xs) if x.dtype.is_float)
    return cost, [xs[i] for i in picks], dict(zip(xs, arrays, strict=True)), outs


def _gradable(case: Case) -> bool:
    op = REGISTRY[case.op]
    if not op.differentiable or _exempt(op):
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
    cost, wrt, feeds, _ = _build(case)
    report = gc.check_grad(cost, wrt, feeds, raise_on_failure=False)
    assert report.ok, str(report)
    assert report.checked == sum(feeds[w].size for w in wrt)


def test_no_op_left_out() -> None:
    with_case = {c.op for c in GRAD_CASES}
    missing = sorted(
        name for name, op in REGISTRY.items()
        if not _exempt(op) and name not in NON_DIFFERENTIABLE and name not in with_case
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
