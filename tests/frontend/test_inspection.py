"""Inspection asks the executable of the backend that runs: ir(stage), memory_plan, report,
and one value numbering (the text IR's) in every report, the llvm profile included."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc as gc


def _two_layers(backend: str, **options: object) -> gc.Function:
    rng = np.random.default_rng(1)
    with gc.Graph("two"):
        x = gc.placeholder("x", ("B", 8))
        w1 = gc.parameter("w1", rng.standard_normal((8, 16)).astype(np.float32))
        w2 = gc.parameter("w2", rng.standard_normal((16, 4)).astype(np.float32))
        h = gc.tanh(x @ w1 + 1.0) * 0.5  # fused: a body whose values the printer numbers
        y = gc.sigmoid(h @ w2) - 0.25
        return gc.function([x], [gc.sum(y * y)], backend=backend, **options)


def _run(fn: gc.Function) -> None:
    fn(np.ones((4, 8), np.float32))


def test_llvm_profile_numbers_nodes_like_the_ir():
    fn = _two_layers("llvm", profile=True)
    _run(fn)
    text = fn.ir()
    assert "fused" in text  # bodies number their values too: top-level indexes would differ
    rows = fn.executable.profile()
    assert len(rows) == len(fn.graph.nodes)
    for name, _ in rows:
        result, op = re.match(r"(%\d+) (\w+)", name).groups()
        assert re.search(rf"^\s*{result} = {op}\b", text, re.M), name
    planned = {line.split()[0] for line in str(fn.memory_plan()).splitlines()[3:]
               if line.startswith("  %")}
    assert planned <= {row[0].split()[0] for row in rows}


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_every_backend_answers_ir_memory_plan_and_report(backend: str):
    fn = _two_layers(backend)
    _run(fn)
    assert fn.ir() == fn.ir("graph") == fn.executable.ir("graph") == str(fn.graph)
    assert fn.memory_plan().backend == backend
    (report,) = fn.compile_report()
    assert report.dims == {"B": 4} and report.arena_bytes == fn.memory_plan().arena_bytes


@pytest.mark.parametrize("view", ["llvm_ir", "asm"])
def test_llvm_views_on_numpy_say_which_backend(view: str):
    fn = _two_layers("numpy")
    _run(fn)
    with pytest.raises(gc.GraphcError, match="needs backend='llvm'; this function runs on "
                                             "backend='numpy'"):
        getattr(fn, view)()


def test_llvm_stages_through_ir():
    fn = _two_layers("llvm")
    _run(fn)
    assert fn.ir("llvm") == fn.llvm_ir() and "graphc_entry" in fn.ir("llvm")
    assert "ret" in fn.ir("asm", B=2)
    stages = "no pass 'no-such-stage'.*backend stages: graph, llvm"
    with pytest.raises(gc.GraphcError, match=stages):
        fn.ir("no-such-stage")
