"""The pipeline cache: gc.function reuses a pipeline's output IR in memory and across processes,
binds parameters back to the user's cells, and recomputes records only when asked."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.passes import PassManager, pipeline_cache
from graphc.passes.manager import PASSES
from graphc.support import cache

PIPELINE = "canonicalize,cse,fold,dce,fuse,memplan"


def _step(scale: float = 0.1) -> tuple[gc.Graph, list[gc.Tensor]]:
    """A small training step: matmul, relu, a reduction, SGD updates of two parameters."""
    g = gc.Graph("step")
    with g:
        x = gc.placeholder("x", ("B", 3))
        w = gc.parameter("w", np.arange(6, dtype=np.float32).reshape(3, 2) / 10)
        b = gc.parameter("b", np.ones(2, np.float32))
        loss = gc.mean(gc.relu(x @ w + b) * 2.0)
        gw, gb = gc.grad(loss, [w, b])
    return g, [x, loss, w, w - scale * gw, b, b - scale * gb]


def _function() -> gc.Function:
    _, (x, loss, w, new_w, b, new_b) = _step()
    return gc.function([x], loss, updates=[(w, new_w), (b, new_b)])


def _fresh(graph: gc.Graph) -> str:
    """The pipeline's output computed without any cache."""
    return gc.print_ir(PassManager(PIPELINE).run(graph))


def test_second_run_hits_and_matches_a_fresh_run(cache_dir: Path) -> None:
    g, _ = _step()
    first, second = PassManager(PIPELINE, cache=True), PassManager(PIPELINE, cache=True)
    out1 = first.run(g)
    out2 = second.run(g)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert gc.print_ir(out2) == gc.print_ir(out1) == _fresh(g)
    assert len(list(cache_dir.glob("*.gpl"))) == 1


def test_disk_hit_binds_parameters_to_the_input_cells(cache_dir: Path) -> None:
    g, _ = _step()
    PassManager(PIPELINE, cache=True).run(g)
    cache.clear_memory()  # as in a new process: only the disk entry is left
    pm = PassManager(PIPELINE, cache=True)
    out = pm.run(g)
    assert pm.cache_hit
    assert all(a.param is b.param for a, b in zip(out.params, g.params, strict=True))


def test_records_are_recomputed_on_demand_after_a_hit(cache_dir: Path) -> None:
    g, _ = _step()
    cold = PassManager(PIPELINE, cache=True)
    cold.run(g)
    warm = PassManager(PIPELINE, cache=True)
    warm.run(g)
    assert warm.cache_hit
    assert [r.name for r in warm.records] == PIPELINE.split(",")
    for stage in ("input", "canonicalize", "fuse", "memplan"):
        assert warm.ir_after(stage) == cold.ir_after(stage)
    assert "fuse" in warm.report()


def test_function_trains_the_same_from_the_cache(cache_dir: Path) -> None:
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -0.7]], np.float32)
    losses = []
    for _ in range(2):
        fn = _function()
        losses.append([float(fn(x)) for _ in range(3)])
    assert fn.passes is not None and fn.passes.cache_hit
    assert losses[0] == losses[1]
    assert losses[0][0] != losses[0][2]  # the updates reached the parameters
    assert "fuse" in fn.pass_report() and fn.ir("fuse")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_entry_is_recomputed(cache_dir: Path, damage: str) -> None:
    g, _ = _step()
    PassManager(PIPELINE, cache=True).run(g)
    (entry,) = cache_dir.glob("*.gpl")
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2] if damage == "truncate" else bytes(len(data)))
    cache.clear_memory()
    pm = PassManager(PIPELINE, cache=True)
    assert gc.print_ir(pm.run(g)) == _fresh(g)
    assert not pm.cache_hit
    assert cache.decode(entry.stem, entry.read_bytes()) is not None  # rewritten intact


def test_entry_with_wrong_parameter_positions_is_ignored(cache_dir: Path) -> None:
    g, _ = _step()
    text = _fresh(g)
    key = pipeline_cache.key(gc.print_ir(g), PIPELINE.split(","))
    bad = cache.Entry({"kind": "pipeline", "params": [0]}, text.encode())  # two params in g
    cache.store(key, bad, pipeline_cache.SUFFIX)
    pm = PassManager(PIPELINE, cache=True)
    assert gc.print_ir(pm.run(g)) == text
    assert not pm.cache_hit


def test_key_changes_with_the_ir_and_the_pipeline() -> None:
    g1, _ = _step(0.1)
    g2, _ = _step(0.2)
    names = PIPELINE.split(",")
    keys = {
        pipeline_cache.key(gc.print_ir(g1), names),
        pipeline_cache.key(gc.print_ir(g2), names),
        pipeline_cache.key(gc.print_ir(g1), names[:-1]),
    }
    assert len(keys) == 3


def test_not_cached_when_disabled_printing_or_by_default(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g, _ = _step()
    PassManager(PIPELINE).run(g)  # cache=False by default (direct users of the manager)
    stream = io.StringIO()
    PassManager(PIPELINE, cache=True, print_after=["fuse"], stream=stream).run(g)
    assert "IR after fuse" in stream.getvalue()
    monkeypatch.setenv("GRAPHC_CACHE", "0")
    PassManager(PIPELINE, cache=True).run(g)
    assert not cache_dir.exists() or not list(cache_dir.glob("*.gpl"))


def test_only_graphc_passes_are_cacheable() -> None:
    assert pipeline_cache.cacheable([PASSES[n] for n in PIPELINE.split(",")])
    assert not pipeline_cache.cacheable([lambda graph: graph])
