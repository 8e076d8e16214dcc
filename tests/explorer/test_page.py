"""The explorer page's content, read as HTML and JSON (the browser test clicks through it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import graphc as gc
from tests.explorer.steps import ir_lines, mlp_step

ROOT = Path(__file__).resolve().parents[2]


def page_data(html: str) -> dict:
    """The JSON the page's script reads."""
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_page_is_self_contained(tmp_path: Path) -> None:
    fn = mlp_step()
    html = Path(fn.explore(str(tmp_path / "p.html"))).read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # nothing is fetched: no external scripts, styles, images, imports or urls
    for pattern in (r"<script[^>]*\bsrc=", r"<link\b", r"\bhref=", r"<img\b", r"@import",
                    r"url\(", r"fetch\(", r"XMLHttpRequest"):
        assert not re.search(pattern, html), pattern
    assert html.count("<script") == 2  # the data and the inline script


def test_nodes_carry_their_ir_line_and_source(tmp_path: Path) -> None:
    fn = mlp_step()
    data = page_data(Path(fn.explore(str(tmp_path / "p.html"))).read_text())
    nodes = data["nodes"]
    assert len(nodes) == len(fn.graph.nodes) + len(fn.graph.arguments)
    final = [line.strip() for line in fn.ir().splitlines()]
    for i, node in enumerate(fn.graph.nodes):
        info = nodes[f"n{i}"]
        assert info["op"] == node.op.name
        assert info["ir"] in final  # a line of the IR that runs, at its line number
        assert final[info["line"] - 1] == info["ir"]
        assert info["loc"].startswith("tests/explorer/steps.py:") or "steps.py" in info["loc"]
    matmuls = [v for v in nodes.values() if v["op"] == "fused_matmul"]
    assert [v["ir"] for v in matmuls] == ir_lines(fn, "fused_matmul")
    assert all(v["body"] for v in matmuls)  # fused groups are drawn with their members


def test_pipeline_steps_and_changed_lines(tmp_path: Path) -> None:
    fn = mlp_step()
    data = page_data(Path(fn.explore(str(tmp_path / "p.html"))).read_text())
    names = ["input"] + [r.name for r in fn.passes.records]
    assert len(data["steps"]) == len(names)
    for name, step in zip(names, data["steps"], strict=True):
        assert step["ir"] == fn.passes.ir_after(name)
    k = names.index("fuse")
    before = set(fn.passes.ir_after(names[k - 1]).splitlines())
    after = fn.passes.ir_after("fuse").splitlines()
    marked = {after[i] for i in data["steps"][k]["marks"]}
    assert {line for line in after if line not in before} <= marked
    assert any("fused" in line for line in marked)
    unchanged = names.index("memplan")  # memplan only checks: nothing marked
    assert data["steps"][unchanged]["marks"] == []


def test_fusion_memory_profile_and_curves(tmp_path: Path) -> None:
    fn = mlp_step()
    slowest = max(range(len(fn.graph.nodes)), key=lambda i: fn.graph.nodes[i].op.name == "matmul")
    html = Path(fn.explore(str(tmp_path / "p.html"), history={"train loss": [2.0, 1.0, 0.5]},
                           profile={slowest: 2e-3, 0: 1e-3})).read_text()
    assert "not fused" in html and 'class="link" data-nodes="n' in html
    assert 'id="memsvg"' in html and "peak" in html and "B=6" in html  # the last call's dims
    assert html.count('class="mbar') >= 3
    assert "hsl(0,95%,50%)" in html  # the slowest node is the reddest
    assert "train loss (last 0.5)" in html


def test_llvm_kernels_are_listed_folded(tmp_path: Path) -> None:
    fn = mlp_step("llvm")
    html = Path(fn.explore(str(tmp_path / "p.html"))).read_text()
    kernels = re.findall(r'<details class="kernel"><summary><code>([^<]+)</code>', html)
    assert kernels and all("open" not in k for k in kernels)
    assert "<h4>LLVM IR</h4>" in html and "<h4>assembly</h4>" in html
    defined = set(re.findall(r'define [^@\n]*@"?([\w.]+)"?\(', fn.llvm_ir()))
    assert set(kernels) == defined


def test_script_tags_in_names_cannot_break_the_page(tmp_path: Path) -> None:
    fn = mlp_step(name="a</script><b>x")
    html = Path(fn.explore(str(tmp_path / "p.html"))).read_text()
    assert html.count("</script>") == 2
    assert page_data(html)["nodes"]


def test_memory_plan_without_dims_says_why(tmp_path: Path) -> None:
    with gc.Graph("g"):
        x = gc.placeholder("x", ("N", 3))
        fn = gc.function([x], gc.exp(x) * 2.0)
    html = Path(fn.explore(str(tmp_path / "p.html"))).read_text()
    assert "no memory plan: memory_plan needs values for N" in html
    html = Path(fn.explore(str(tmp_path / "q.html"), N=5)).read_text()
    assert "memory plan for N=5" in html


def _graphc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphc", *args], cwd=cwd, text=True,
                          capture_output=True, env={"PYTHONPATH": str(ROOT), "PATH": ""},
                          timeout=120)


def test_cli_explore_gir_with_inputs(tmp_path: Path) -> None:
    with gc.Graph("tiny") as g:
        x = gc.placeholder("x", ("B", 4))
        w = gc.parameter("w", np.ones((4, 3), np.float32))
        g.outputs.append((gc.relu(x @ w) * 2.0).ir)
    gc.save_ir(g, tmp_path / "tiny.gir")
    np.save(tmp_path / "x.npy", np.ones((5, 4), np.float32))
    np.save(tmp_path / "w.npy", np.ones((4, 3), np.float32))
    proc = _graphc("explore", "tiny.gir", "-o", "r.html", "--backend", "llvm", "-i", "x=x.npy",
                   "-i", "w=w.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote r.html (@tiny" in proc.stdout
    html = (tmp_path / "r.html").read_text()
    assert "memory plan for B=5" in html and "<h4>LLVM IR</h4>" in html
    bad = _graphc("explore", "tiny.gir", "--dim", "B", cwd=tmp_path)
    assert bad.returncode == 1 and "--dim 'B': expected NAME=N" in bad.stderr


def test_cli_explore_script_writes_a_page_per_function(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import sys, numpy as np, graphc as gc\n"
        "with gc.Graph('one'):\n"
        "    x = gc.placeholder('x', (2,))\n"
        "    f = gc.function([x], gc.exp(x))\n"
        "    g = gc.function([x], gc.tanh(x) + 1.0)\n"
        "print(f(np.ones(2, np.float32)), sys.argv[1:])\n")
    proc = _graphc("explore", "s.py", "-o", "out.html", '--args=--flag 3', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "['--flag', '3']" in proc.stdout
    assert (tmp_path / "out.html").exists() and (tmp_path / "out-2.html").exists()
    assert "tanh" in (tmp_path / "out-2.html").read_text()
