"""Every pass and the full pipeline keep the numbers and are idempotent (random graphs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings

import graphc as gc
from graphc.backends.numpy.interpreter import Interpreter, run_graph
from graphc.ir.clone import clone
from graphc.ops.shape import runtime_dims
from graphc.passes import DEFAULT_PIPELINE, PassManager
from tests.passes.randgraphs import Case, graphs

PIPELINES = [*DEFAULT_PIPELINE.split(","), DEFAULT_PIPELINE]
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _reference(case: Case, graph: gc.Graph) -> list[np.ndarray]:
    case.reset()
    with np.errstate(all="ignore"), runtime_dims({}):
        return run_graph(graph, case.inputs)


def _planned(case: Case, graph: gc.Graph) -> list[np.ndarray]:
    case.reset()
    return [r.copy() for r in Interpreter(graph).run(case.inputs, {})]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=2e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("pipeline", PIPELINES)
@SETTINGS
@given(case=graphs())
def test_pass_keeps_the_numbers(pipeline: str, case: Case):
    before = _reference(case, case.graph)
    optimized = PassManager(pipeline).run(case.graph)
    note(f"before:\n{gc.print_ir(case.graph)}after:\n{gc.print_ir(optimized)}")
    _same(before, _reference(case, optimized))
    _same(before, _planned(case, optimized))


@pytest.mark.parametrize("pipeline", PIPELINES)
@SETTINGS
@given(case=graphs())
def test_pass_is_idempotent(pipeline: str, case: Case):
    once = PassManager(pipeline).run(case.graph)
    twice = PassManager(pipeline).run(clone(once)[0])
    note(f"before:\n{gc.print_ir(case.graph)}once:\n{gc.print_ir(once)}")
    assert gc.print_ir(twice) == gc.print_ir(once)
