"""``graphc opt``: IR text in, optimized IR text out; printing and the fusion report."""

from __future__ import annotations

import subprocess
import sys

import graphc as gc
from tests.passes.irtext import ir

SOURCE = ir("""
graph @g(%x: f32[B,4], %b: f32[4]) -> (f32[B,4]) {
  %0 = add %x, %b : f32[B,4]
  %1 = constant {value = dense<f32: 1.0>} : f32
  %2 = mul %0, %1 : f32[B,4]
  %3 = relu %2 : f32[B,4]
  return %3
}
""")


def _opt(tmp_path, *flags: str) -> subprocess.CompletedProcess:
    path = tmp_path / "g.gir"
    path.write_text(SOURCE)
    return subprocess.run([sys.executable, "-m", "graphc", "opt", str(path), *flags],
                          capture_output=True, text=True, check=False)


def test_opt_prints_the_optimized_ir(tmp_path):
    done = _opt(tmp_path, "--passes=canonicalize,fuse")
    assert done.returncode == 0, done.stderr
    want = ir("""
    graph @g(%x: f32[B,4], %b: f32[4]) -> (f32[B,4]) {
      %0 = fused %x, %b : f32[B,4] {
        ^(%a0: f32, %a1: f32):
          %1 = add %a0, %a1 : f32
          %2 = relu %1 : f32
          yield %2
      }
      return %0
    }
    """)
    assert done.stdout == want
    assert gc.print_ir(gc.parse(done.stdout)) == want


def test_opt_prints_after_passes_and_explains_fusion_on_stderr(tmp_path):
    done = _opt(tmp_path, "--passes=canonicalize,cse,fuse", "--print-after=canonicalize",
                "--explain-fusion", "--report")
    assert done.returncode == 0, done.stderr
    assert "// ----- IR after canonicalize -----" in done.stderr
    assert "after cse" not in done.stderr
    assert "fusion: 2 nodes in 1 groups, 1 of them fused" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("total")


def test_opt_rejects_unknown_passes(tmp_path):
    done = _opt(tmp_path, "--passes=cse,nope")
    assert done.returncode != 0
    assert "unknown pass 'nope'" in done.stderr and "known passes" in done.stderr
