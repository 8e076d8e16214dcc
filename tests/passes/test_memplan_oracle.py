"""The memory plan against an oracle written here from scratch, and planned runs vs reference.

The oracle recomputes every value's lifetime from the graph alone (definition step, last read,
views keeping their owner alive, results living to the end) and checks that two arena buffers
sharing bytes are never alive together, except where a node writes a result over an operand
it reads for the last time, and then only when that is safe for the node: an elementwise op
reads each element before writing it; a fused body must not read that operand after the op
that yields the result. It never looks at the planner's own lifetimes.
Multi-output fused bodies then run on the planned executors (numpy, llvm) against the
unplanned reference interpreter and against NumPy written out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import graphc as gc
from graphc.backends import compile_for
from graphc.backends.numpy.interpreter import run_graph
from graphc.ir.graph import Graph, Node, Value
from graphc.ops.shape import runtime_dims
from graphc.passes import PassManager
from tests.passes.irtext import ir
from tests.passes.randgraphs import Case, graphs


@dataclass
class Life:
    """A value's lifetime in node steps: made at ``start``, last needed at ``end``."""

    start: int
    end: int
    node: Node | None


def _view_owner(v: Value, plan_slots: dict) -> Value:
    """The value owning v's memory: follow operand 0 of view nodes (the plan says which)."""
    while v.node is not None and plan_slots.get(v) is not None and \
            plan_slots[v].kind == "view":
        v = v.node.inputs[0]
    return v


def oracle_lives(graph: Graph, slots: dict) -> dict[Value, Life]:
    """Lifetimes from the graph: every read of a value or of a view of it extends it."""
    lives: dict[Value, Life] = {a: Life(-1, -1, None) for a in graph.arguments}
    for step, node in enumerate(graph.nodes):
        for v in node.outputs:
            lives[v] = Life(step, step, node)
    for step, node in enumerate(graph.nodes):
        for v in node.inputs:
            for u in (v, _view_owner(v, slots)):
                lives[u].end = max(lives[u].end, step)
    final = len(graph.nodes)
    for v in [*graph.outputs, *(v for _, v in graph.updates)]:
        for u in (v, _view_owner(v, slots)):
            lives[u].end = final
    return lives


def _body_reads_after(node: Node, arg: int, result: int) -> bool:
    """Whether node's body reads argument ``arg`` after the op yielding result ``result``,
    or yields the argument itself."""
    body = node.body
    a, target = body.inputs[arg], body.outputs[result]
    if a in body.outputs or target.node is None:
        return True
    made_at = next(i for i, n in enumerate(body.nodes) if target in n.outputs)
    return any(a in n.inputs for n in body.nodes[made_at + 1 :])


def _safe_in_place(node: Node, result: int, operand: Value) -> bool:
    if node.op.elementwise:
        return True
    if node.body is None or node.op.name == "fused_reduce":
        return False
    args = [i for i, v in enumerate(node.inputs) if v is operand]
    offset = 1 if node.op.name in ("fused_matmul", "fused_conv2d") else 0
    return len(args) == 1 and args[0] >= offset and \
        not _body_reads_after(node, args[0] - offset, result)


def _hand_over(lu: Life, u: Value, lv: Life, v: Value) -> bool:
    """u's buffer is taken over by v at the node that reads u for the last time."""
    node = lv.node
    if node is None or lu.end != lv.start or u not in node.inputs:
        return False
    return _safe_in_place(node, node.outputs.index(v), u)


def check_plan(graph: Graph, plan) -> int:
    """Assert the plan against the oracle; returns the number of arena pairs that share."""
    lives = oracle_lives(graph, plan.slots)
    arena = [(v, s) for v, s in plan.slots.items() if s.kind == "arena"]
    for v, s in arena:
        assert s.nbytes == v.type.dtype.np.itemsize * int(np.prod(v.type.concrete(plan.dims)))
        assert s.offset is not None and s.offset + s.nbytes <= plan.arena_bytes
    _check_totals(graph, plan)
    shared = 0
    for i, (u, su) in enumerate(arena):
        for v, sv in arena[i + 1 :]:
            if su.offset + su.nbytes <= sv.offset or sv.offset + sv.nbytes <= su.offset:
                continue
            shared += 1
            lu, lv = lives[u], lives[v]
            if lu.end < lv.start or lv.end < lu.start:
                continue
            assert _hand_over(lu, u, lv, v) or _hand_over(lv, v, lu, u), \
                f"{u} and {v} share bytes while both alive ({lu.start}..{lu.end}, " \
                f"{lv.start}..{lv.end})\n{plan}"
    return shared


def _check_totals(graph: Graph, plan) -> None:
    """The plan's figures recomputed: every result that owns memory (views and constants do
    not) counted once without reuse; the peak covers at least the arena."""
    def nbytes(v: Value) -> int:
        return v.type.dtype.np.itemsize * int(np.prod(v.type.concrete(plan.dims)))

    unplanned = sum(nbytes(v) for n in graph.nodes for v in n.outputs
                    if n.op.name != "constant" and plan.slots[v].kind != "view")
    assert plan.unplanned_bytes == unplanned
    assert plan.peak_bytes >= plan.arena_bytes


def _plan(graph: Graph, dims: dict[str, int] | None = None):
    fn = gc.Function(graph, compile_for("numpy", graph), len(graph.outputs), False)
    return fn.memory_plan(dims or {})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=graphs())
def test_random_plans_agree_with_the_oracle(case: Case):
    g = PassManager("canonicalize,cse,dce,fuse").run(case.graph)
    check_plan(g, _plan(g))


# A multi-output fused body reading its argument %a0 after the op that yields result 0:
# result 0 must not be written over %0 (the body would read what it just wrote).
LATE_READ = ir("""
graph @g(%x: f32[6], %y: f32[6]) -> (f32[6]) {
  %0 = exp %x : f32[6]
  %1, %2 = fused %0, %y : f32[6], f32[6] {
    ^(%a0: f32, %a1: f32):
      %3 = neg %a0 : f32
      %4 = mul %a0, %a1 : f32
      yield %3, %4
  }
  %5 = sub %1, %2 : f32[6]
  return %5
}
""")

# The same body yielding in the other order: result 1 may take %0 over, result 0 may not.
EARLY_READ = ir("""
graph @g(%x: f32[6], %y: f32[6]) -> (f32[6]) {
  %0 = exp %x : f32[6]
  %1, %2 = fused %0, %y : f32[6], f32[6] {
    ^(%a0: f32, %a1: f32):
      %3 = mul %a0, %a1 : f32
      %4 = neg %a0 : f32
      %5 = add %4, %a1 : f32
      yield %5, %3
  }
  %6 = div %1, %2 : f32[6]
  return %6
}
""")

# Three results, the operand read by every one of them, and a second operand dying here too.
THREE = ir("""
graph @g(%x: f32[2,3], %y: f32[2,3]) -> (f32[2,3], f32[2,3]) {
  %0 = tanh %x : f32[2,3]
  %1 = sigmoid %y : f32[2,3]
  %2, %3, %4 = fused %0, %1 : f32[2,3], f32[2,3], f32[2,3] {
    ^(%a0: f32, %a1: f32):
      %5 = add %a0, %a1 : f32
      %6 = mul %5, %a0 : f32
      %7 = sub %a1, %6 : f32
      yield %5, %6, %7
  }
  %8 = mul %2, %3 : f32[2,3]
  %9 = add %8, %4 : f32[2,3]
  return %9, %3
}
""")


# A body that yields one of its arguments as a result, and one that yields a constant last.
YIELDS_ARGUMENT = ir("""
graph @g(%x: f32[6], %y: f32[6]) -> (f32[6]) {
  %0 = exp %x : f32[6]
  %1, %2 = fused %0, %y : f32[6], f32[6] {
    ^(%a0: f32, %a1: f32):
      %3 = mul %a0, %a1 : f32
      yield %3, %a0
  }
  %4 = sub %1, %2 : f32[6]
  return %4
}
""")

YIELDS_CONSTANT = ir("""
graph @g(%x: f32[6], %y: f32[6]) -> (f32[6]) {
  %0 = exp %x : f32[6]
  %1, %2 = fused %0, %y : f32[6], f32[6] {
    ^(%a0: f32, %a1: f32):
      %3 = mul %a0, %a1 : f32
      %4 = constant {value = dense<f32: 2.0>} : f32
      yield %3, %4
  }
  %5 = sub %1, %2 : f32[6]
  return %5
}
""")


def _yields_argument(x, y):
    e = np.exp(x)
    return e * y - e


def _yields_constant(x, y):
    return np.exp(x) * y - 2.0


def _late_read(x, y):
    e = np.exp(x)
    return -e - e * y


def _early_read(x, y):
    e = np.exp(x)
    return (-e + y) / (e * y)


def _three(x, y):
    a, b = np.tanh(x), 1 / (1 + np.exp(-y))
    s = a + b
    m = s * a
    return s * m + (b - m), m


FUSED_CASES = {"late-read": (LATE_READ, _late_read, (6,)),
               "early-read": (EARLY_READ, _early_read, (6,)),
               "three-results": (THREE, _three, (2, 3)),
               "yields-argument": (YIELDS_ARGUMENT, _yields_argument, (6,)),
               "yields-constant": (YIELDS_CONSTANT, _yields_constant, (6,))}


@pytest.mark.parametrize("label", sorted(FUSED_CASES))
def test_multi_output_fused_plan_agrees_with_the_oracle(label: str) -> None:
    text, _, _ = FUSED_CASES[label]
    g = gc.parse(text)
    check_plan(g, _plan(g))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("label", sorted(FUSED_CASES))
def test_multi_output_fused_bodies_match_the_reference(label: str, backend: str) -> None:
    text, ref, shape = FUSED_CASES[label]
    rng = np.random.default_rng(3)
    x, y = (rng.uniform(0.2, 1.5, shape).astype(np.float32) for _ in range(2))
    g = gc.parse(text)
    with runtime_dims({}):
        reference = run_graph(gc.parse(text), [x, y])
    want = ref(x.astype(np.float64), y.astype(np.float64))
    want = list(want) if isinstance(want, tuple) else [want]
    got = compile_for(backend, g).run([x, y], {})
    for r, w, a in zip(reference, want, got, strict=True):
        np.testing.assert_allclose(r, w, rtol=1e-5)
        np.testing.assert_allclose(a, w, rtol=1e-5)


def test_the_oracle_rejects_a_shared_buffer_of_live_values() -> None:
    """The oracle itself: a plan with two live values in the same bytes fails it."""
    g = gc.parse(THREE)
    plan = _plan(g)
    arena = [s for s in plan.slots.values() if s.kind == "arena"]
    assert len(arena) >= 2
    first = arena[0]
    for s in arena[1:]:
        s.offset = first.offset  # everything in one place
    with pytest.raises(AssertionError, match="share bytes while both alive"):
        check_plan(g, plan)
