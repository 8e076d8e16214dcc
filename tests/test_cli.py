"""The ``graphc`` command line, driven through subprocess as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

MODEL_PY = '''
import numpy as np
import graphc as gc

g = gc.Graph("affine")
with g:
    x = gc.placeholder("x", ("B", 3), "float32")
    w = gc.parameter("w", np.ones((3, 2), np.float32))
    y = gc.tanh(x @ w)
g.outputs = [y.ir]
alias = g  # the same graph twice is dumped once
print("side effect on stdout")
if __name__ == "__main__":
    raise SystemExit("must not run under graphc dump")
'''

GIR = """graph @affine(%x: f32[B,3]) params(%w: f32[3,2]) -> (f32[B,2], f32) {
  %0 = matmul %x, %w : f32[B,2]  loc("model.py":8)
  %1 = tanh %0 : f32[B,2]
  %2 = sum %1 : f32
  return %1, %2
}
"""


def graphc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "graphc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (no traceback)."""
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("graphc: error: ")
    return lines[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(MODEL_PY)
    (tmp_path / "model.gir").write_text(GIR)
    np.save(tmp_path / "x.npy", np.arange(6, dtype=np.float32).reshape(2, 3) / 10)
    np.save(tmp_path / "w.npy", np.full((3, 2), 0.5, np.float32))
    return tmp_path


def test_dump_gir_prints_canonical_text(work: Path) -> None:
    proc = graphc("dump", "model.gir", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == GIR.replace("  %2 = sum %1 : f32", "  %2 = sum %1 {axis = [0, 1]} : f32")


def test_dump_py_runs_the_module_and_dumps_its_graphs(work: Path) -> None:
    proc = graphc("dump", "model.py", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("graph @affine(") == 1
    assert proc.stdout.startswith("graph @affine(%x: f32[B,3]) params(%w: f32[3,2]) -> (f32[B,2])")
    assert '%1 = tanh %0 : f32[B,2]  loc("model.py":9)' in proc.stdout
    assert "side effect on stdout" in proc.stderr  # the module's prints stay out of the dump


def test_dump_dot(work: Path) -> None:
    proc = graphc("dump", "model.gir", "--format", "dot", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith('digraph "affine" {') and out.rstrip().endswith("}")
    assert 'n0 [label="%x: f32[B,3]", shape=ellipse];' in out
    assert 'n2 [label="matmul\\nmodel.py:8", shape=box];' in out
    assert 'n2 -> n3 [label="f32[B,2]"];' in out
    assert "n3 -> ret;" in out and "n4 -> ret;" in out
    assert out.count(" -> n") == 4  # x, w -> matmul -> tanh -> sum


def test_check_ok_and_failing(work: Path) -> None:
    proc = graphc("check", "model.gir", cwd=work)
    assert (proc.returncode, proc.stdout) == (0, "ok: 3 nodes\n")
    (work / "bad.gir").write_text(GIR.replace("%1 = tanh %0 : f32[B,2]", "%1 = tanh %0 : f32[B,3]"))
    line = error_line(graphc("check", "bad.gir", cwd=work))
    assert line == ("graphc: error: bad.gir:3:18: result type f32[B,3] does not match f32[B,2], "
                    "the type op tanh infers")


def test_run_prints_shapes(work: Path) -> None:
    proc = graphc("run", "model.gir", "--input", "x=x.npy", "-i", "w=w.npy", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "out0: float32[2, 2]\nout1: float32[]\n"


def test_run_writes_outputs(work: Path) -> None:
    proc = graphc("run", "model.gir", "--input", "x=x.npy", "--input", "w=w.npy",
                  "--out", "results", cwd=work)
    assert proc.returncode == 0, proc.stderr
    x = np.load(work / "x.npy")
    want = np.tanh(x @ np.full((3, 2), 0.5, np.float32))
    got = np.load(work / "results" / "out0.npy")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(np.load(work / "results" / "out1.npy"), want.sum(), rtol=1e-5)
    assert sorted(p.name for p in (work / "results").iterdir()) == ["out0.npy", "out1.npy"]


def test_run_writes_parameter_updates(work: Path) -> None:
    text = GIR.replace("  return %1, %2", "  %3 = neg %w : f32[3,2]\n  update %w = %3\n  return %2")
    (work / "step.gir").write_text(text.replace("-> (f32[B,2], f32)", "-> (f32)"))
    proc = graphc("run", "step.gir", "-i", "x=x.npy", "-i", "w=w.npy", "--out", "o", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == f"update_w: float32[3, 2] -> {Path('o', 'update_w.npy')}"
    np.testing.assert_array_equal(np.load(work / "o" / "update_w.npy"), np.full((3, 2), -0.5))


@pytest.mark.parametrize("args, message", [
    (["check", "missing.gir"], "missing.gir: no such file"),
    (["run", "model.gir", "-i", "x=x.npy"], "parameter %w (f32[3,2]) has no value; "
     "pass --input w=FILE.npy"),
    (["run", "model.gir", "-i", "w=w.npy"], "missing --input x=FILE.npy (f32[B,3])"),
    (["run", "model.gir", "-i", "x=x.npy", "-i", "w=w.npy", "-i", "z=x.npy"],
     "--input z: graph @affine has no argument of that name; it has w, x"),
    (["run", "model.gir", "-i", "x=w.npy", "-i", "w=w.npy"], "input 'x' axis 1: expected 3"),
    (["run", "model.gir", "-i", "x=x.npy", "-i", "w=x.npy"],
     "parameter %w is f32[3,2], got float32[2, 3]"),
    (["run", "model.gir", "-i", "x=nothere.npy", "-i", "w=w.npy"], "--input x: cannot load"),
    (["run", "model.gir", "-i", "x"], "--input 'x': expected NAME=FILE.npy"),
    (["run", "model.gir", "-i", "x=obj.npy", "-i", "w=w.npy"], "Object arrays cannot be loaded"),
    (["dump", "broken.py"], "broken.py raised ZeroDivisionError: division by zero"),
    (["dump", "empty.py"], "empty.py defines no module-level gc.Graph objects"),
])
def test_errors_are_one_line(work: Path, args: list[str], message: str) -> None:
    (work / "broken.py").write_text("x = 1 / 0\n")
    (work / "empty.py").write_text("import graphc\n")
    np.save(work / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert message in error_line(graphc(*args, cwd=work))


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["dump"], ["dump", "x", "--format", "png"]])
def test_usage_errors_exit_2(work: Path, args: list[str]) -> None:
    proc = graphc(*args, cwd=work)
    assert proc.returncode == 2
    assert "usage: graphc" in proc.stderr and "Traceback" not in proc.stderr
