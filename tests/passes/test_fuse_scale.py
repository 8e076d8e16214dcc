"""fuse at scale: a 10,000-node training graph through the whole default pipeline, and the
bounded cycle search (a refused candidate stays unfused, the numbers unchanged)."""

from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.backends.numpy.interpreter import run_graph
from graphc.ir.clone import clone, extract
from graphc.ir.verify import verify
from graphc.passes import fuse_order
from graphc.passes.fuse import explain_fusion
from graphc.passes.manager import DEFAULT_PIPELINE, PassManager


def _deep_step(layers: int, width: int = 4, batch: int | str = "B") -> gc.Graph:
    """An unrolled training step: each layer a matmul, a bias, relu, tanh, sigmoid and a
    reduction, so fusion meets long forward-to-backward distances."""
    rng = np.random.default_rng(0)
    g = gc.Graph("deep")
    with g:
        x = gc.placeholder("x", (batch, width), "float32")
        y = gc.placeholder("y", (batch,), "int64")
        h, ps = x, []
        for i in range(layers):
            w = gc.parameter(f"w{i}", rng.standard_normal((width, width)).astype(np.float32) / 2)
            b = gc.parameter(f"b{i}", rng.standard_normal(width).astype(np.float32) / 10)
            ps += [w, b]
            z = gc.relu(h @ w + b) * 0.5 + gc.tanh(h) * gc.sigmoid(h)
            h = z - gc.mean(z, axis=1, keepdims=True)
        loss = gc.mean(gc.softmax_cross_entropy(h, y))
        grads = gc.grad(loss, ps)
        updates = [(p, p - 0.1 * d) for p, d in zip(ps, grads, strict=True)]
    return extract(g, [x.ir, y.ir], [loss.ir], [(p.ir, v.ir) for p, v in updates])


def _run(graph: gc.Graph, feeds: list[np.ndarray]) -> list[np.ndarray]:
    return run_graph(graph, feeds)


def test_ten_thousand_nodes_run_the_whole_pipeline_and_verify():
    graph = _deep_step(280)
    assert len(graph.nodes) >= 10_000
    out = PassManager(DEFAULT_PIPELINE, verify_each=True).run(graph)
    verify(out)
    assert any(n.op.name == "fused" for n in out.nodes)
    assert len(out.nodes) < len(graph.nodes) // 3


def test_a_candidate_beyond_the_search_limit_stays_unfused_and_numbers_hold(monkeypatch):
    graph = _deep_step(6, batch=3)
    feeds = [np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32),
             np.array([0, 3, 1])]
    want = _run(clone(graph)[0], feeds)
    full = PassManager("fuse").run(clone(graph)[0])
    monkeypatch.setattr(fuse_order, "SEARCH_LIMIT", 0)
    pm = PassManager("fuse")
    limited = pm.run(clone(graph)[0])
    verify(limited)
    assert len(limited.nodes) > len(full.nodes)  # some merges were refused
    report = str(explain_fusion(clone(graph)[0]))
    assert "too far apart" in report
    for got, ref in zip(_run(limited, feeds), want, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
