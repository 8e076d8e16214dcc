"""Operand order survives every pass: op(a, b) and op(b, a) side by side stay two results.

For every registered op with two or more operands that is not commutative, a graph returns
``op(a, b)`` and ``op(b, a)`` (same operand values, swapped). CSE must not merge them,
canonicalize must not match a rule as if the op were commutative, and the numbers are checked
against NumPy written out here (not the kernels). Commutative ops, the other way round, must be
merged by CSE. The op list comes from the registry, so a new two-operand op must be added to
ORDERED or to NOT_SWAPPABLE (with the reason) or test_every_ordered_op_is_covered fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import graphc as gc
from graphc.backends.numpy.interpreter import run_graph
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY
from graphc.passes import DEFAULT_PIPELINE, PassManager
from tests.op_cases.scan import layer_norm_grad_ref
from tests.passes.irtext import ir, run_pass

RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 2.0, (3, 3)).astype(np.float32)
B = RNG.uniform(0.5, 2.0, (3, 3)).astype(np.float32)
B[0, 0] = A[0, 0]  # one tie, so that the <= / >= / < / > variants differ on it
COND = RNG.uniform(size=(3, 3)) > 0.5


@dataclass
class Ordered:
    """How to call ``op`` with two swappable operands, and its NumPy meaning."""

    build: Callable[[gc.Tensor, gc.Tensor], gc.Tensor]
    ref: Callable[[np.ndarray, np.ndarray], np.ndarray]


ORDERED: dict[str, Ordered] = {
    "sub": Ordered(gc.sub, np.subtract),
    "div": Ordered(gc.div, np.divide),
    "pow": Ordered(gc.pow, np.power),
    "less": Ordered(gc.less, np.less),
    "less_equal": Ordered(gc.less_equal, np.less_equal),
    "greater": Ordered(gc.greater, np.greater),
    "greater_equal": Ordered(gc.greater_equal, np.greater_equal),
    "matmul": Ordered(gc.matmul, np.matmul),
    "concat": Ordered(lambda a, b: gc.concat([a, b], axis=1),
                      lambda a, b: np.concatenate([a, b], axis=1)),
    "where": Ordered(lambda a, b: gc.where(gc.constant(COND), a, b),
                     lambda a, b: np.where(COND, a, b)),
    "layer_norm_grad": Ordered(lambda g, x: apply(REGISTRY["layer_norm_grad"], g, x),
                               layer_norm_grad_ref),
}

# Two-operand ops whose operands cannot trade places (different roles, types or shapes), each
# with why. Their order is still pinned by the catalogue tests, whose cases are not symmetric.
NOT_SWAPPABLE: dict[str, str] = {
    "scan": "operands bind to body arguments by position (tests/frontend/test_scan.py)",
    "conv2d": "image and kernel trade places only at equal shapes, where valid correlation is "
              "symmetric",
    "conv2d_input_grad": "weight and output gradient have different shapes",
    "conv2d_weight_grad": "input and output gradient have different shapes",
    "max_pool2d_grad": "input and output gradient have different shapes",
    "max_pool2d_gather": "operand 0 chooses the taps, operand 1 is read: checked by parity",
    "avg_pool2d_grad": "input and output gradient have different shapes",
    "slice_grad": "operand 1 is the output gradient of a smaller shape",
    "take": "integer indices against float table",
    "take_grad": "integer indices against float gradient",
    "gather": "integer indices against float values",
    "gather_grad": "integer indices against float gradient",
    "softmax_cross_entropy": "integer labels against float logits",
    "mse": "symmetric by definition: mean((a - b)^2)",
    "fused": "bodies are built by fusion; operand order is covered by the pass tests",
    "fused_reduce": "bodies are built by fusion",
    "fused_matmul": "bodies are built by fusion",
    "fused_conv2d": "bodies are built by fusion",
}

COMMUTATIVE = ["add", "mul", "maximum", "minimum", "equal", "not_equal"]
PIPELINES = ["cse", "canonicalize", "canonicalize,cse", DEFAULT_PIPELINE]


def _ordered_ops() -> set[str]:
    """Registered ops taking two or more operands (or any number) that are not commutative."""
    return {n for n, op in REGISTRY.items()
            if (op.arity is None or op.arity >= 2) and not op.commutative}


def test_every_ordered_op_is_covered() -> None:
    ops = _ordered_ops()
    missing = sorted(ops - set(ORDERED) - set(NOT_SWAPPABLE))
    assert not missing, f"non-commutative ops without an operand-order case: {missing}"
    for name in ORDERED:
        assert name in REGISTRY and not REGISTRY[name].commutative, name


def _both_orders(spec: Ordered, pipeline: str) -> list[np.ndarray]:
    with gc.Graph("order"):
        a = gc.placeholder("a", A.shape, gc.float32)
        b = gc.placeholder("b", B.shape, gc.float32)
        fn = gc.function([a, b], [spec.build(a, b), spec.build(b, a)], passes=pipeline)
    return fn(A, B)


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("name", sorted(ORDERED))
def test_swapped_operands_stay_apart(name: str, pipeline: str) -> None:
    spec = ORDERED[name]
    want_ab, want_ba = spec.ref(A, B), spec.ref(B, A)
    assert not np.array_equal(want_ab, want_ba), "the case must tell the two orders apart"
    ab, ba = _both_orders(spec, pipeline)
    np.testing.assert_allclose(ab, want_ab, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ba, want_ba, rtol=1e-5, atol=1e-6)


def test_swapped_operands_stay_apart_on_llvm() -> None:
    """Every ordered op in one graph through the default pipeline on the llvm backend."""
    with gc.Graph("order_llvm"):
        a = gc.placeholder("a", A.shape, gc.float32)
        b = gc.placeholder("b", B.shape, gc.float32)
        outs = [t for spec in ORDERED.values() for t in (spec.build(a, b), spec.build(b, a))]
        fn = gc.function([a, b], outs, backend="llvm")
    got = fn(A, B)
    want = [w for spec in ORDERED.values() for w in (spec.ref(A, B), spec.ref(B, A))]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", COMMUTATIVE)
def test_commutative_operands_are_merged(name: str) -> None:
    with gc.Graph("comm"):
        a = gc.placeholder("a", A.shape, gc.float32)
        b = gc.placeholder("b", B.shape, gc.float32)
        op = getattr(gc, name)
        outs = [op(a, b), op(b, a)]
        fn = gc.function([a, b], outs, passes="cse")
    assert REGISTRY[name].commutative
    text = fn.ir()
    assert text.count(f" = {name} ") == 1, text
    x, y = fn(A, B)
    np.testing.assert_array_equal(x, y)


# Rules written for op(x, c) must not fire on op(c, x) when op is not commutative.
NOT_REWRITTEN = {
    "sub-zero-first": ("sub", "0.0", lambda x: 0.0 - x),
    "div-one-first": ("div", "1.0", lambda x: 1.0 / x),
    "pow-one-first": ("pow", "1.0", lambda x: np.power(1.0, x)),
    "pow-two-first": ("pow", "2.0", lambda x: np.power(2.0, x)),
}


@pytest.mark.parametrize("label", sorted(NOT_REWRITTEN))
def test_constant_first_is_not_simplified_as_if_commutative(label: str) -> None:
    op, c, ref = NOT_REWRITTEN[label]
    text = f"""
    graph @g(%x: f32[3,3]) -> (f32[3,3]) {{
      %0 = constant {{value = dense<f32: {c}>}} : f32
      %1 = {op} %0, %x : f32[3,3]
      return %1
    }}
    """
    assert run_pass("canonicalize", text) == ir(text)
    graph = gc.parse(ir(text))
    np.testing.assert_allclose(run_graph(PassManager("canonicalize").run(graph), [A])[0],
                               ref(A.astype(np.float64)), rtol=1e-6)


def test_sub_of_a_negation_first_is_not_an_add() -> None:
    text = """
    graph @g(%x: f32[3,3], %y: f32[3,3]) -> (f32[3,3]) {
      %0 = neg %y : f32[3,3]
      %1 = sub %0, %x : f32[3,3]
      return %1
    }
    """
    assert run_pass("canonicalize", text) == ir(text)
