"""The command line on bad input: one `graphc: error:` line and exit 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from tests.test_cli import GIR, ROOT, error_line, graphc

NO_RESULTS = "graph @empty(%x: f32[3]) -> () {\n  %0 = exp %x : f32[3]\n  return\n}\n"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "model.gir").write_text(GIR)
    np.save(tmp_path / "w.npy", np.full((3, 2), 0.5, np.float32))
    return tmp_path


def test_non_utf8_gir_is_a_parse_error(work: Path) -> None:
    path = work / "bad.gir"
    path.write_bytes(GIR.encode().replace(b"matmul", b"mat\xffmul"))
    with pytest.raises(gc.ParseError, match=r"bad\.gir:2:11: byte 0xff is not UTF-8"):
        gc.load_ir(path)
    for command in ("run", "check", "dump", "opt"):
        assert "not UTF-8" in error_line(graphc(command, "bad.gir", cwd=work))


def test_empty_npy_input(work: Path) -> None:
    (work / "empty.npy").write_bytes(b"")
    line = error_line(graphc("run", "model.gir", "-i", "x=empty.npy", "-i", "w=w.npy", cwd=work))
    assert "--input x: cannot load empty.npy" in line


def test_npy_header_declaring_a_huge_shape(work: Path) -> None:
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 3), np.float32))
    header["shape"] = (2**40, 3)
    with open(work / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 12)
    line = error_line(graphc("run", "model.gir", "-i", "x=huge.npy", "-i", "w=w.npy", cwd=work))
    assert "header declares float32[1099511627776, 3]" in line


def test_npy_that_is_not_an_array_file(work: Path) -> None:
    (work / "text.npy").write_text("hello")
    line = error_line(graphc("run", "model.gir", "-i", "x=text.npy", "-i", "w=w.npy", cwd=work))
    assert "not a .npy array file" in line


def test_gir_with_a_dim_beyond_int64(work: Path) -> None:
    (work / "big.gir").write_text(GIR.replace("f32[3,2]", f"f32[3,{10**20}]", 1))
    for backend in ("numpy", "llvm"):
        proc = graphc("run", "big.gir", "--backend", backend, "-i", "w=w.npy", cwd=work)
        assert "beyond int64" in error_line(proc)


@pytest.mark.parametrize("command", [("run",), ("opt",)])
def test_graph_without_results_is_refused(work: Path, command: tuple[str, ...]) -> None:
    (work / "empty.gir").write_text(NO_RESULTS)
    np.save(work / "x.npy", np.ones(3, np.float32))
    line = error_line(graphc(*command, "empty.gir", "-i", "x=x.npy", cwd=work)
                      if command == ("run",) else graphc(*command, "empty.gir", cwd=work))
    assert "graph @empty has no results" in line and "outputs=" in line


def test_save_ir_of_a_built_graph_needs_its_results(tmp_path: Path) -> None:
    g = gc.Graph("built")
    with g:
        x = gc.placeholder("x", ("B", 3))
        w = gc.parameter("w", np.ones(3, np.float32))
        y = gc.sum(x * w, axis=1)
        unused = gc.exp(x)
    path = tmp_path / "m.gir"
    with pytest.raises(gc.GraphcError, match="has no results.*outputs=\\[y\\]"):
        gc.save_ir(g, path)
    assert not path.exists()
    gc.save_ir(g, path, outputs=[y], updates=[(w, w * 2.0)])
    loaded = gc.load_ir(path)
    assert len(loaded.outputs) == 1 and len(loaded.updates) == 1
    assert "exp" not in str(loaded) and unused.graph is g
    fn = gc.function([x], y)
    gc.save_ir(fn, tmp_path / "fn.gir")
    assert len(gc.load_ir(tmp_path / "fn.gir").outputs) == 1


CLOSED_PIPE = """
import io, sys
from graphc.cli import main


class ClosedPipe(io.StringIO):
    # what sys.stdout does once the reader (`| head`) has gone: every write fails
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        return 1


sys.stdout = ClosedPipe()
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["dump", "model.gir"], ["llvm", "model.gir", "--dim", "B=4"]])
def test_output_to_a_closed_pipe_exits_quietly(work: Path, command: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CLOSED_PIPE, *command], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
