"""memplan: liveness, reuse, in-place decisions, and the plan's invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import graphc as gc
from graphc.analysis.memory import plan_memory
from graphc.ir.printer import value_names
from graphc.passes import PassManager
from tests.passes.irtext import ir, run_pass
from tests.passes.randgraphs import Case, graphs

CHAIN = ir("""
graph @g(%x: f32[B,256]) params(%w: f32[256,256], %b: f32[256]) -> (f32) {
  %0 = matmul %x, %w : f32[B,256]
  %1 = add %0, %b : f32[B,256]
  %2 = relu %1 : f32[B,256]
  %3 = matmul %2, %w : f32[B,256]
  %4 = tanh %3 : f32[B,256]
  %5 = constant {value = dense<f32: 0.5>} : f32
  %6 = mul %b, %5 : f32[256]
  %7 = sum %4 {axis = [0, 1]} : f32
  update %b = %6
  return %7
}
""")


def _slots(text: str, dims: dict[str, int]):
    g = gc.parse(text)
    plan = plan_memory(g, dims)
    names = value_names(g)
    return plan, {names[v]: s for v, s in plan.slots.items()}


def test_dead_buffers_are_reused_and_elementwise_ops_work_in_place():
    plan, s = _slots(CHAIN, {"B": 4})
    assert s["%1"].shares is not None and s["%1"].offset == s["%0"].offset  # add over matmul
    assert s["%2"].offset == s["%0"].offset  # relu in place too
    assert s["%3"].offset != s["%2"].offset  # %2 is read while %3 is written
    assert s["%4"].offset == s["%3"].offset
    assert plan.arena_bytes == 2 * 4 * 256 * 4  # two [4,256] f32 buffers in all
    assert s["%7"].kind == "output" and s["%5"].kind == "constant"


def test_parameter_update_written_in_place_after_its_last_reader():
    plan, s = _slots(CHAIN, {"B": 4})
    assert s["%6"].kind == "param"
    assert "%6 is written into parameter %b in place" in str(plan)


def test_no_in_place_update_while_the_parameter_is_still_read():
    late = ir("""
    graph @g(%x: f32[4]) params(%b: f32[4]) -> (f32[4]) {
      %0 = neg %b : f32[4]
      %1 = add %x, %b : f32[4]
      update %b = %0
      return %1
    }
    """)
    plan, s = _slots(late, {})
    assert s["%0"].kind == "output"  # %b is read by %1 after %0 is made


def test_views_keep_their_owner_alive():
    text = ir("""
    graph @g(%x: f32[8]) -> (f32[2,4], f32[8]) {
      %0 = exp %x : f32[8]
      %1 = reshape %0 {shape = [2, 4]} : f32[2,4]
      %2 = neg %x : f32[8]
      %3 = neg %2 : f32[8]
      %4 = tanh %3 : f32[8]
      %5 = mul %1, %1 : f32[2,4]
      return %5, %4
    }
    """)
    plan, s = _slots(text, {})
    assert s["%1"].kind == "view" and s["%0"].end == 5  # alive until its view's last reader
    assert s["%2"].offset != s["%0"].offset


def test_plan_text_lists_lifetimes_and_peak():
    plan, _ = _slots(CHAIN, {"B": 128})
    text = str(plan)
    assert text.startswith("memory plan for @g (B=128)")
    assert f"arena: {plan.arena_bytes} bytes" in text and "peak:" in text
    assert "%1        arena" in text and "in place of %0" in text


def test_memplan_pass_leaves_the_ir_alone():
    assert run_pass("memplan", CHAIN) == CHAIN


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=graphs())
def test_live_buffers_never_overlap(case: Case):
    g = PassManager("canonicalize,cse,dce,fuse").run(case.graph)
    plan = plan_memory(g, {})
    owner = {}
    for v, s in plan.slots.items():
        if s.kind == "arena":
            owner[v] = owner[s.shares] if s.shares is not None else v
    spans = {}
    for v, s in plan.slots.items():
        if s.kind == "arena":
            lo, hi, size = spans.get(owner[v], (s.start, s.end, s.nbytes))
            spans[owner[v]] = (min(lo, s.start), max(hi, s.end), size)
    items = [(plan.slots[o].offset, size, lo, hi) for o, (lo, hi, size) in spans.items()]
    for i, (off, size, lo, hi) in enumerate(items):
        assert off + size <= plan.arena_bytes
        for off2, size2, lo2, hi2 in items[i + 1 :]:
            if lo <= hi2 and lo2 <= hi:  # alive together: disjoint bytes
                assert off + size <= off2 or off2 + size2 <= off
