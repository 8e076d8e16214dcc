"""Fused bodies are minimal and well formed on random graphs (the fuse pass's own invariants).

Every body op is used (by a later body op or the yield), every body argument is read, and
the fused graph computes the same numbers (checked in test_pass_properties).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings

import graphc as gc
from graphc.ir.graph import Graph
from graphc.passes import PassManager
from tests.passes.randgraphs import Case, graphs


def _bodies(g: Graph):
    for n in g.nodes:
        if n.body is not None:
            yield n
            yield from _bodies(n.body)


def _dead_ops(body: Graph) -> list[str]:
    used = set(body.outputs)
    dead = []
    for n in reversed(body.nodes):
        if not any(v in used for v in n.outputs):
            dead.append(n.op.name)
        used.update(n.inputs)
    return dead


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=graphs())
def test_fused_bodies_have_no_dead_ops(case: Case) -> None:
    g = PassManager("canonicalize,cse,dce,fuse").run(case.graph)
    note(gc.print_ir(g))
    for node in _bodies(g):
        assert not _dead_ops(node.body), f"{node.op.name} body has dead ops"
        if node.op.region_body:
            continue  # a scan's arguments are its carries, steps and captures, read or not
        read = {v for n in node.body.nodes for v in n.inputs} | set(node.body.outputs)
        unread = [a.name for a in node.body.inputs if a not in read]
        assert not unread, f"{node.op.name} body never reads {unread}"


# A fused node whose second result nobody reads, merged into a bigger kernel: the op that only
# made that result must not be copied along into the new body.
UNUSED_RESULT = """
graph @g(%x: f32[4]) -> (f32[4]) {
  %0, %1 = fused %x : f32[4], f32[4] {
    ^(%a: f32):
      %2 = exp %a : f32
      %3 = neg %a : f32
      yield %2, %3
  }
  %4 = tanh %0 : f32[4]
  return %4
}
"""

UNUSED_RESULT_REDUCED = UNUSED_RESULT.replace("-> (f32[4])", "-> (f32)").replace(
    "%4 = tanh %0 : f32[4]", "%4 = sum %0 {axis = [0]} : f32")


def test_merged_fused_node_leaves_its_unused_ops_behind() -> None:
    for text in (UNUSED_RESULT, UNUSED_RESULT_REDUCED):
        g = PassManager("fuse").run(gc.parse(text))
        bodies = list(_bodies(g))
        assert len(bodies) == 1, gc.print_ir(g)
        assert [n.op.name for n in bodies[0].body.nodes].count("neg") == 0, gc.print_ir(g)


def _log_softmax(shape: tuple[int, ...]) -> gc.Graph:
    dims = ",".join(map(str, shape))
    return gc.parse(f"""graph @g(%x: f32[{dims}]) -> (f32[{dims}]) {{
  %0 = log_softmax %x {{axis = 1}} : f32[{dims}]
  %1 = exp %0 : f32[{dims}]
  return %1
}}
""")


def test_log_softmax_is_expanded_into_fused_kernels_with_the_same_numbers() -> None:
    import numpy as np

    from graphc.backends.numpy.interpreter import run_graph
    from graphc.ops.shape import runtime_dims

    x = np.linspace(-3, 3, 20, dtype=np.float32).reshape(4, 5)
    fused = PassManager("fuse").run(_log_softmax((4, 5)))
    ops = [n.op.name for n in fused.nodes]
    assert "log_softmax" not in ops and "fused_reduce" in ops, ops
    with runtime_dims({}):
        got = run_graph(fused, [x])[0]
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-6)


def test_log_softmax_over_an_empty_axis_is_not_expanded() -> None:
    fused = PassManager("fuse").run(_log_softmax((4, 0)))
    assert "log_softmax" in [n.op.name for n in fused.nodes]
