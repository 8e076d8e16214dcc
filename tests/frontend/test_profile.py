"""The per-kernel profiler: fn.profile, profile_report, GRAPHC_PROFILE, graphc profile."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from tests.explorer.steps import mlp_step

ROOT = Path(__file__).resolve().parents[2]


def _inputs(batch: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(batch, 12)).astype(np.float32), rng.integers(0, 4, batch)


def _params(fn: gc.Function) -> list[np.ndarray]:
    return [p.param.value.copy() for p in fn.graph.params]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_profile_times_every_kernel_and_leaves_the_parameters(backend: str) -> None:
    fn = mlp_step(backend)
    before = _params(fn)
    prof = fn.profile(*_inputs(), repeat=4)
    for old, p in zip(before, fn.graph.params, strict=True):
        np.testing.assert_array_equal(p.param.value, old)  # a training step, not trained
    assert fn.last_profile is prof and prof.dims == {"B": 6}
    assert sorted(r.index for r in prof.rows) == list(range(len(fn.graph.nodes)))
    assert all(r.calls == 4 and r.total >= 0 for r in prof.rows)
    assert [r.median for r in prof.rows] == sorted((r.median for r in prof.rows), reverse=True)
    assert len(prof.walls) == 4 and prof.kernel_seconds > 0
    # rows are named as fn.ir() prints the nodes
    lines = fn.ir().splitlines()
    for r in prof.rows:
        results, op = r.name.rsplit(" ", 1)
        assert any(line.strip().startswith(f"{results} = {op}") for line in lines), r.name
    first = next(i for i, n in enumerate(fn.graph.nodes) if n.op.name == "fused_matmul")
    row = next(r for r in prof.rows if r.index == first)
    assert row.flops == 2 * 6 * 12 * 8 + 3 * 6 * 8  # x @ w0; add, relu, greater (its mask)
    assert row.group and row.loc.startswith("tests/explorer/steps.py:")


def test_report_table() -> None:
    fn = mlp_step()
    fn.profile(*_inputs(), repeat=2)
    text = fn.profile_report(limit=3)
    head, peaks, columns, rule, *rows = text.splitlines()
    assert head.startswith("profile of @mlp_step (numpy, B=6): 2 calls, kernels ")
    assert "covered" in head and "GFLOP/s" in peaks
    assert columns.split()[:5] == ["node", "group", "calls", "total", "ms"]
    assert len(rows) == 3 and set(rule) <= {"-", " "}
    assert all(re.search(r"\b(compute|memory|-)\b", row) for row in rows)


def test_zero_cost_when_off_timers_when_on() -> None:
    fn = mlp_step("llvm")
    assert "readcyclecounter" not in fn.llvm_ir()  # the normal build's entry is unchanged
    with pytest.raises(gc.GraphcError, match="no profile yet"):
        fn.profile_report()
    with gc.Graph("p"):
        x = gc.placeholder("x", ("B", 3))
        on = gc.function([x], gc.exp(x) * 2.0 + gc.sum(x), backend="llvm", profile=True)
    on(np.ones((4, 3), np.float32))
    on(np.ones((4, 3), np.float32))
    entry = on.llvm_ir().split('define void @"graphc_entry"', 1)[1].split("\n}\n", 1)[0]
    kernels = entry.count('call void @"n')
    assert kernels == 2 and entry.count('@"llvm.readcyclecounter"()') == 2 * kernels
    assert "2 calls" in on.profile_report()  # the counters of the calls made so far


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, *args], cwd=cwd, text=True, capture_output=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "", **(env or {})}, timeout=180)


SCRIPT = """
import numpy as np, graphc as gc
with gc.Graph('prog'):
    x = gc.placeholder('x', ('N',))
    f = gc.function([x], gc.tanh(x) * 3.0)
    g = gc.function([x], gc.exp(x))
for _ in range(3):
    f(np.ones(5, np.float32))
print('done')
"""


def test_graphc_profile_env_prints_at_exit(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(SCRIPT)
    proc = _run(["s.py"], tmp_path, {"GRAPHC_PROFILE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert proc.stderr.count("profile of @prog") == 1  # g was never called
    assert "3 calls" in proc.stderr and "fused" in proc.stderr
    quiet = _run(["s.py"], tmp_path)
    assert "profile of" not in quiet.stderr


def test_cli_profile_script_and_gir(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(SCRIPT)
    proc = _run(["-m", "graphc", "profile", "s.py", "--top", "1"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("profile of @prog") == 1 and "3 calls" in proc.stdout
    with gc.Graph("tiny") as g:
        x = gc.placeholder("x", ("B", 4))
        w = gc.parameter("w", np.ones((4, 3), np.float32))
        g.outputs.append(gc.relu(x @ w).ir)
    gc.save_ir(g, tmp_path / "tiny.gir")
    np.save(tmp_path / "x.npy", np.ones((5, 4), np.float32))
    np.save(tmp_path / "w.npy", np.ones((4, 3), np.float32))
    args = ["-m", "graphc", "profile", "tiny.gir", "-i", "x=x.npy", "-i", "w=w.npy"]
    proc = _run([*args, "--backend", "llvm", "--repeat", "3"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "profile of @tiny (llvm, B=5): 3 calls" in proc.stdout
    assert "fused_matmul" in proc.stdout or "matmul" in proc.stdout
    bad = _run([*args, "--repeat", "0"], tmp_path)
    assert bad.returncode == 1 and "--repeat 0: expected at least 1" in bad.stderr


def test_explorer_colours_nodes_by_the_last_profile(tmp_path: Path) -> None:
    fn = mlp_step()
    fn.profile(*_inputs(), repeat=2)
    html = Path(fn.explore(str(tmp_path / "p.html"))).read_text()
    assert 'data-tab="profile"' in html and "profile of @mlp_step" in html
    assert "hsl(0,95%,50%)" in html  # the slowest node


def test_machine_peaks_are_measured_once_and_cached(cache_dir: Path, monkeypatch) -> None:
    from graphc.backends.llvm.toolchain import machine

    fake = machine.Peaks(4e10, 1e10, "fake")
    monkeypatch.setattr(machine, "measure", lambda: fake)
    assert machine.peaks() == fake and (cache_dir / "machine.json").exists()

    def fail() -> machine.Peaks:
        raise AssertionError("measured again")

    monkeypatch.setattr(machine, "measure", fail)
    assert machine.peaks() == fake and fake.ridge == 4.0
    (cache_dir / "machine.json").write_text("{not json")
    monkeypatch.setattr(machine, "measure", lambda: machine.Peaks(1.0, 1.0, "again"))
    assert machine.peaks().how == "again"  # a damaged record is measured again
