"""Op traits checked against what the NumPy reference kernels compute."""

from __future__ import annotations

import numpy as np
import pytest

from graphc.ir.opdef import REGISTRY, epilogue_op
from graphc.ir.types import TensorType, as_dtype
from graphc.ops.fused import REDUCERS
from tests.op_cases import all_cases

CASES = all_cases()


def _run(case, arrays):
    op = REGISTRY[case.op]
    types = [TensorType(as_dtype(a.dtype), a.shape) for a in arrays]
    out = op.kernel(*arrays, **op.check_attrs(case.attrs, types))
    return out[0] if isinstance(out, tuple) else np.asarray(out)


def _splittable(case) -> bool:
    op = REGISTRY[case.op]
    # conv2d_weight_grad's output channels cut its gradient operand only without groups
    return op.batch_split is not None and case.attrs.get("groups", 1) == 1


@pytest.mark.parametrize("case", [c for c in CASES if _splittable(c)], ids=lambda c: c.id)
def test_batch_split_computes_rows_from_cut_operands(case):
    """The first rows of the result come from the operands cut as ``batch_split`` says."""
    arrays = case.make(np.random.default_rng(0))
    full = _run(case, arrays)
    rows = max(full.shape[0] // 2, 1)
    cut = {i: d for i, d in REGISTRY[case.op].batch_split.items()}
    parts = [np.take(a, range(rows), axis=cut[i]) if i in cut else a for i, a in enumerate(arrays)]
    np.testing.assert_allclose(_run(case, parts), full[:rows], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [c for c in CASES if REGISTRY[c.op].view], ids=lambda c: c.id)
def test_view_results_are_operand_elements(case):
    """A view op re-indexes operand 0: every result element is one of its elements."""
    arrays = case.make(np.random.default_rng(0))
    arrays[0] = np.arange(arrays[0].size, dtype=np.float64).reshape(arrays[0].shape)
    out = _run(case, arrays)
    assert np.isin(out, arrays[0]).all()


def test_reductions_are_the_fused_reducers():
    fusable = {name for name, op in REGISTRY.items() if op.reduction}
    assert fusable == set(REDUCERS)


def test_epilogue_ops_name_their_anchor():
    anchored = [op for op in REGISTRY.values() if op.anchor is not None]
    assert {op.anchor.name for op in anchored} == {"matmul", "conv2d"}
    for op in anchored:
        assert epilogue_op(op.anchor) is op and op.has_body and op.contraction
    assert epilogue_op(REGISTRY["add"]) is None


def test_body_traits_need_a_body():
    for op in REGISTRY.values():
        if op.elementwise_body or op.anchor is not None:
            assert op.has_body, op.name
        assert not (op.elementwise and op.has_body), op.name


@pytest.mark.parametrize("case", [c for c in CASES if REGISTRY[c.op].nonnegative],
                         ids=lambda c: c.id)
def test_nonnegative_results(case):
    with np.errstate(all="ignore"):
        out = _run(case, case.make(np.random.default_rng(0)))
    assert np.all((out >= 0) | np.isnan(out))

