"""check_numerics on llvm: the first node that makes NaN from NaN-free operands stops the call
with NumericsError naming the op and the user's line, as on the numpy backend."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def _step(backend: str, passes: list[str] | None = None) -> tuple[gc.Function, gc.Tensor]:
    g = gc.Graph("nan")
    with g:
        x = gc.placeholder("x", ("B", 3))
        w = gc.parameter("w", np.full((3, 3), 0.5, np.float32))
        h = gc.matmul(x, w) - 1.0
        y = gc.sqrt(h)  # NaN where h < 0: this line is named
        loss = gc.sum(y * 2.0)
        (gw,) = gc.grad(loss, [w])
    fn = gc.function([x], [loss], updates=[(w, w - 0.001 * gw)], backend=backend,
                     passes=passes, check_numerics=True)
    return fn, w


@pytest.mark.parametrize("passes", [None, []], ids=["fused", "unfused"])
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_nan_mid_graph_names_op_and_line(backend: str, passes: list[str] | None):
    fn, w = _step(backend, passes)
    before = w.value.copy()
    with pytest.raises(gc.NumericsError, match=r"sqrt at .*test_numerics\.py:18 produced NaN"):
        fn(np.zeros((4, 3), np.float32))  # h = -1 everywhere
    np.testing.assert_array_equal(w.value, before)  # the failed step updated nothing


def test_clean_steps_still_run_and_update():
    fn, w = _step("llvm")
    ref, w_ref = _step("numpy")
    x = np.full((4, 3), 2.0, np.float32)
    for _ in range(2):
        np.testing.assert_allclose(fn(x), ref(x), rtol=1e-5)
    np.testing.assert_allclose(w.value, w_ref.value, rtol=1e-5)


def test_nan_already_in_the_input_is_not_blamed_on_a_node():
    fn, _ = _step("llvm")
    x = np.full((4, 3), 2.0, np.float32)
    x[0, 0] = np.nan
    assert np.isnan(fn(x))  # propagated, as the numpy backend lets it


def test_the_plan_shown_is_the_checked_one():
    fn, _ = _step("llvm")
    fn(np.full((4, 3), 2.0, np.float32))
    plan = fn.memory_plan()
    assert plan.arena_bytes == fn.compile_report()[-1].arena_bytes
    assert "param" not in {s.kind for s in plan.slots.values()}  # updates copied in at the end
