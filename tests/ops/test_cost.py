"""Cost rules: every op has one; FLOPs counted by hand for the ops that dominate steps."""

from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.frontend.api import apply
from graphc.frontend.profile import node_cost
from graphc.ir.opdef import REGISTRY
from tests.op_cases import all_cases

IDENTITIES = {"stop_gradient"}  # elementwise, but a copy: no arithmetic


def test_every_op_has_a_cost_rule() -> None:
    assert sorted(n for n, op in REGISTRY.items() if op.cost is None) == []


def test_catalogue_costs_are_finite_and_elementwise_is_one_per_element() -> None:
    for case in all_cases():
        arrays = case.make(np.random.default_rng(0))
        with gc.Graph("c"):
            xs = [gc.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
            out = apply(REGISTRY[case.op], *xs, **case.attrs)
        node = (out[0] if isinstance(out, tuple) else out).ir.node
        flops, moved = node_cost(node, {})
        assert np.isfinite(flops) and flops >= 0 and moved >= 0, case.op
        if node.op.elementwise:
            per_element = 0 if case.op in IDENTITIES else 1
            assert flops == per_element * np.prod(node.outputs[0].type.shape), case.op


def _only_node(fn: gc.Function, op: str):
    return next(n for n in fn.graph.nodes if n.op.name == op)


def test_matmul_and_its_epilogue() -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ("B", 7))
        w = gc.parameter("w", np.ones((7, 5), np.float32))
        b = gc.parameter("b", np.ones(5, np.float32))
        plain = gc.function([x], x @ w, passes=[])
        fused = gc.function([x], gc.relu(x @ w + b))
    assert node_cost(_only_node(plain, "matmul"), {"B": 3}) == (2 * 3 * 7 * 5, 4 * (21 + 35 + 15))
    flops, _ = node_cost(_only_node(fused, "fused_matmul"), {"B": 3})
    assert flops == 2 * 3 * 7 * 5 + 2 * 3 * 5  # add and relu per result element


def test_conv2d_counts_a_multiply_add_per_tap() -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (2, 3, 8, 8))
        w = gc.parameter("w", np.ones((4, 3, 3, 3), np.float32))
        fn = gc.function([x], gc.conv2d(x, w, padding=1), passes=[])
    taps = sum(1 for _n in range(2) for _o in range(4) for _h in range(8) for _w in range(8)
               for _c in range(3) for _i in range(3) for _j in range(3))
    assert node_cost(_only_node(fn, "conv2d"), {})[0] == 2 * taps


def test_views_move_no_bytes() -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", (4, 6))
        fn = gc.function([x], gc.reshape(x, (6, 4)), passes=[])
    assert node_cost(_only_node(fn, "reshape"), {}) == (0.0, 0)
