"""The Rewriter every graph-rebuilding pass uses: keep by default, replace, erase, insert."""

from __future__ import annotations

import graphc as gc
from graphc.ir.emit import Emitter
from graphc.passes.util import Rewriter
from tests.passes.irtext import ir

SOURCE = ir("""
graph @g(%x: f32[3]) params(%w: f32[3]) -> (f32[3]) {
  %0 = neg %x : f32[3]
  %1 = neg %0 : f32[3]
  %2 = exp %1 : f32[3]
  %3 = add %w, %2 : f32[3]
  update %w = %3
  return %2
}
""")


def test_replacements_reach_later_operands_results_and_updates():
    g = gc.parse(SOURCE)
    rw = Rewriter(g)
    for n in rw.walk():
        if n.op.name == "neg" and n.inputs[0].node is not None:  # neg(neg(x)) -> x
            rw.replace(n, n.inputs[0].node.inputs)
    out = rw.finish()
    gc.verify(out)
    assert gc.print_ir(out) == ir("""
    graph @g(%x: f32[3]) params(%w: f32[3]) -> (f32[3]) {
      %0 = neg %x : f32[3]
      %1 = exp %x : f32[3]
      %2 = add %w, %1 : f32[3]
      update %w = %2
      return %1
    }
    """)


def test_emitted_nodes_land_before_the_node_visited_and_replacements_chain():
    g = gc.parse(SOURCE)
    rw = Rewriter(g)
    for n in rw.walk():
        if n.op.name == "exp":  # exp(v) -> sqrt(v) emitted in place
            rw.replace(n, [Emitter(g).sqrt(n.inputs[0])])
        elif n.op.name == "add":
            rw.erase(n)
            rw.insert(n)  # erased then inserted: kept once, at the end
    out = rw.finish()
    gc.verify(out)
    assert [n.op.name for n in out.nodes] == ["neg", "neg", "sqrt", "add"]
    assert out.outputs[0].node.op.name == "sqrt"
    assert out.updates[0][1].node.inputs[1] is out.outputs[0]
