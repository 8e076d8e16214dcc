"""The pass manager: pipelines, printing, reports, verification; gc.function's pass options."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphc as gc
from graphc.ir.errors import GraphcError, VerifyError
from graphc.passes import DEFAULT_PIPELINE, PassManager
from graphc.passes.manager import PASSES
from tests.passes.irtext import ir

SOURCE = ir("""
graph @g(%x: f32[4]) -> (f32[4]) {
  %0 = constant {value = dense<f32: 0.0>} : f32
  %1 = add %x, %0 : f32[4]
  %2 = exp %1 : f32[4]
  %3 = exp %1 : f32[4]
  %4 = mul %2, %3 : f32[4]
  return %4
}
""")


def test_unknown_pass_lists_the_known_ones():
    with pytest.raises(GraphcError, match=r"unknown pass 'fusee'; known passes: .*canonicalize"):
        PassManager("canonicalize,fusee")


def test_pipeline_from_string_or_list_and_the_default():
    assert PassManager("cse, dce").names == ["cse", "dce"]
    assert PassManager(["fold"]).names == ["fold"]
    assert PassManager().names == DEFAULT_PIPELINE.split(",")
    assert PassManager([]).names == []


def test_records_stages_counts_and_changes():
    pm = PassManager("canonicalize,cse,dce")
    g = gc.parse(SOURCE)
    out = pm.run(g)
    assert gc.print_ir(g) == SOURCE  # the input graph is not modified
    assert pm.ir_after("input") == SOURCE
    assert pm.ir_after("dce") == gc.print_ir(out)
    rows = {r.name: r for r in pm.records}
    assert (rows["canonicalize"].nodes_before, rows["canonicalize"].nodes_after) == (5, 3)
    assert (rows["cse"].nodes_after, rows["cse"].changed) == (2, True)
    assert not rows["dce"].changed
    assert "exp %x" in pm.ir_after("canonicalize")
    with pytest.raises(GraphcError, match="no pass 'fuse' ran"):
        pm.ir_after("fuse")


def test_report_is_a_table_of_every_pass():
    pm = PassManager("cse,dce")
    pm.run(gc.parse(SOURCE))
    lines = pm.report().splitlines()
    assert lines[0].split() == ["pass", "time", "ms", "nodes", "before", "nodes", "after",
                                "changed"]
    assert lines[2].split()[0] == "cse" and lines[2].split()[2:] == ["5", "4", "yes"]
    assert lines[3].split()[0] == "dce" and lines[3].split()[2:] == ["4", "4", "no"]
    assert lines[-1].startswith("total")


def test_print_after_all_and_changed_only():
    stream = io.StringIO()
    PassManager("cse,dce", print_after_all=True, stream=stream).run(gc.parse(SOURCE))
    text = stream.getvalue()
    assert "// ----- IR after cse -----" in text and "// ----- IR after dce -----" in text
    stream = io.StringIO()
    PassManager("cse,dce", print_after_all=True, print_changed_only=True,
                stream=stream).run(gc.parse(SOURCE))
    assert "after cse" in stream.getvalue() and "after dce" not in stream.getvalue()
    stream = io.StringIO()
    PassManager("cse,dce", print_after=["dce"], stream=stream).run(gc.parse(SOURCE))
    assert "after cse" not in stream.getvalue() and "after dce" in stream.getvalue()


def test_a_pass_that_breaks_the_ir_is_named_with_the_ir(monkeypatch):
    def breaks(graph):
        graph.nodes.reverse()  # uses before definitions
        return graph

    monkeypatch.setitem(PASSES, "reverse", breaks)
    with pytest.raises(VerifyError, match=r"pass 'reverse' produced invalid IR") as err:
        PassManager("cse,reverse").run(gc.parse(SOURCE))
    assert "graph @g(%x: f32[4])" in str(err.value)  # the broken IR is shown
    PassManager("reverse", verify_each=False).run(gc.parse(SOURCE))  # opt-out


def _function(passes=None, **options):
    g = gc.Graph("f")
    with g:
        x = gc.placeholder("x", ("B", 4))
        w = gc.parameter("w", np.eye(4, dtype=np.float32))
        y = gc.relu(x @ w + 0.0) * 2.0
    return gc.function([x], y, passes=passes, **options)


def test_function_exposes_stages_and_reports():
    fn = _function()
    assert "fused_matmul" in fn.ir() and fn.ir() == fn.ir("memplan")
    assert "matmul %x, %w" in fn.ir("input") and "fused" not in fn.ir("input")
    assert "fused_matmul" in fn.ir("fuse")
    assert [line.split()[0] for line in fn.pass_report().splitlines()[2:-1]] == \
        DEFAULT_PIPELINE.split(",")
    assert "matmul: [matmul, relu, mul]" in str(fn.fusion_report())
    with pytest.raises(GraphcError, match="memory_plan needs values for B"):
        fn.memory_plan()
    fn(np.ones((3, 4), np.float32))
    assert "(B=3)" in str(fn.memory_plan()) and "(B=5)" in str(fn.memory_plan(B=5))


def test_function_passes_option_and_printing():
    stream = io.StringIO()
    fn = _function(passes=[], print_after_all=True, pass_stream=stream)
    assert fn.ir() == fn.ir("input") and "add" in fn.ir()
    assert stream.getvalue() == ""
    fn = _function(passes="fuse", print_after="fuse", pass_stream=stream)
    assert stream.getvalue().startswith("// ----- IR after fuse -----")
    x = np.array([[1, -2, 3, -4]], np.float32)
    np.testing.assert_array_equal(fn(x), [[2, 0, 6, 0]])


def test_print_after_takes_a_string_and_only_passes_that_run():
    stream = io.StringIO()
    PassManager("cse,dce", print_after="cse,dce", stream=stream).run(gc.parse(SOURCE))
    assert "after cse" in stream.getvalue() and "after dce" in stream.getvalue()
    with pytest.raises(GraphcError, match=r"print_after: pass 'fuse' is not in the pipeline "
                                          r"\(cse, dce\)"):
        PassManager("cse,dce", print_after=["fuse"])
    with pytest.raises(GraphcError, match="print_after: unknown pass 'fusee'"):
        PassManager("cse", print_after=["fusee"])


def test_print_changed_only_alone_prints_every_pass_that_changed():
    stream = io.StringIO()
    PassManager("cse,dce", print_changed_only=True, stream=stream).run(gc.parse(SOURCE))
    assert "after cse" in stream.getvalue() and "after dce" not in stream.getvalue()
