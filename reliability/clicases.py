"""The ``graphc`` command on bad input: malformed .npy/.npz/.gir files, missing files and
directories. Each case must print exactly one line ``graphc: error: ...`` on stderr and exit
1: never a traceback, another exit status or a hang.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from reliability.figures import Figures

TIMEOUT_S = 120.0
GOOD_GIR = """graph @g(%x: f32[B,3]) params(%w: f32[3,2]) -> (f32[B,2], f32) {
  %0 = matmul %x, %w : f32[B,2]
  %1 = tanh %0 : f32[B,2]
  %2 = sum %1 : f32
  return %1, %2
}
"""


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _header(shape: str, descr: str = "<f4", pad_to: int = 128) -> bytes:
    """A .npy v1.0 header declaring ``shape`` (a Python tuple literal), no data."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (pad_to - 10 - len(text) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


def _npz(members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def bad_files() -> dict[str, bytes]:
    """File name -> content of every malformed input the cases use."""
    good = _npy(np.ones((2, 3), np.float32))
    return {
        "empty.npy": b"",
        "text.npy": b"this is not an array\n",
        "magic-only.npy": good[:8],
        "cut-header.npy": good[:20],
        "cut-data.npy": good[:-5],
        "huge-shape.npy": _header("(1099511627776, 3)"),
        "overflow-shape.npy": _header("(4611686018427387904, 8)"),
        "negative-shape.npy": _header("(-2, 3)"),
        "bad-descr.npy": _header("(2, 3)", descr="zz9"),
        "bad-header.npy": b"\x93NUMPY\x01\x00\x20\x00{'descr': <f4, shape: ((}    \n",
        "long-header-len.npy": b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'",
        "object.npy": _npy(np.array([{"a": 1}, None], dtype=object)),
        "int64.npy": _npy(np.ones((2, 3), np.int64)),
        "wrong-rank.npy": _npy(np.ones((2, 3, 1), np.float32)),
        "w-wrong-shape.npy": _npy(np.ones((4, 2), np.float32)),
        "arrays.npz": _npz({"x.npy": good}),
        "damaged.npz": _npz({"x.npy": good})[:-30],
        "member-not-npy.npz": _npz({"x.npy": b"garbage"}),
        "empty.gir": b"",
        "binary.gir": bytes(range(256)) * 4,
        "latin1.gir": GOOD_GIR.replace("@g", "@g\xe9").encode("latin-1"),
        "garbage.gir": b"graph @g( -> {{ }\n",
        "truncated.gir": GOOD_GIR.encode()[:70],
        "huge-dim.gir": GOOD_GIR.replace("%x: f32[B,3]", "%x: f32[100000000000000000000,3]")
        .replace("f32[B,2]", "f32[100000000000000000000,2]").encode(),
        "big-dim.gir": b"graph @g(%x: f32[3]) -> (f32[1099511627776,3]) {\n"
        b"  %0 = broadcast_to %x {shape = [1099511627776, 3]} : f32[1099511627776,3]\n"
        b"  return %0\n}\n",
        "no-results.gir": b"graph @g(%x: f32[2]) -> () {\n  %0 = exp %x : f32[2]\n  return\n}\n",
        "type-error.gir": GOOD_GIR.replace("%1 = tanh %0 : f32[B,2]", "%1 = tanh %0 : f64[B,2]")
        .encode(),
        "npz-as.gir": _npz({"x.npy": good}),
        "raises.py": b"raise RuntimeError('user script fails')\n",
        "exits.py": b"import sys\nsys.exit(3)\n",
    }


# .gir files and the commands that must refuse them (the others are valid for some commands)
GIR_COMMANDS = {"big-dim.gir": ("run",), "no-results.gir": ("run", "opt")}
ALL_COMMANDS = ("check", "dump", "run", "opt", "llvm")


def _gir_case(name: str, cmd: str) -> tuple[str, list[str]]:
    extra = {"run": ["-i", "x=x.npy", "-i", "w=w.npy"], "llvm": ["--dim", "B=2"]}
    if name == "big-dim.gir":
        extra["run"] = ["-i", "x=v3.npy"]
    return f"{cmd} {name}", [cmd, name, *extra.get(cmd, [])]


def _input_case(name: str) -> tuple[str, list[str]]:
    which = "w" if name.startswith("w-") else "x"
    other = [] if which == "w" else ["-i", "w=w.npy"]
    return f"run --input {name}", ["run", "good.gir", *other, "-i", f"{which}={name}"]


def cases() -> list[tuple[str, list[str]]]:
    """(label, graphc arguments) for every bad-input case; paths relative to the work dir."""
    run_good = ["run", "good.gir", "-i", "w=w.npy"]
    out: list[tuple[str, list[str]]] = []
    for name in sorted(bad_files()):
        if name.endswith((".npy", ".npz")):
            out.append(_input_case(name))
        elif name.endswith(".gir"):
            out += [_gir_case(name, c) for c in GIR_COMMANDS.get(name, ALL_COMMANDS)]
        else:
            out.append((f"dump {name}", ["dump", name]))
    for cmd in ALL_COMMANDS:
        out += [(f"{cmd} missing file", [cmd, "missing.gir"]), (f"{cmd} a directory", [cmd, "dir"])]
    out += [
        ("run --input missing file", [*run_good, "-i", "x=missing.npy"]),
        ("run --input a directory", [*run_good, "-i", "x=dir"]),
        ("run --out is a file", [*run_good, "-i", "x=x.npy", "--out", "x.npy"]),
        ("run --backend llvm huge-dim.gir", ["run", "huge-dim.gir", "-i", "x=x.npy", "-i",
                                             "w=w.npy", "--backend", "llvm"]),
        ("run --backend llvm big-dim.gir", ["run", "big-dim.gir", "-i", "x=v3.npy",
                                            "--backend", "llvm"]),
        ("run --backend llvm no-results.gir", ["run", "no-results.gir", "-i", "x=v3.npy",
                                               "--backend", "llvm"]),
    ]
    return out


def prepare(work: Path) -> None:
    """The good files and every bad one in ``work``."""
    (work / "good.gir").write_text(GOOD_GIR)
    np.save(work / "x.npy", np.ones((2, 3), np.float32))
    np.save(work / "v3.npy", np.ones(3, np.float32))
    np.save(work / "w.npy", np.ones((3, 2), np.float32))
    (work / "dir").mkdir()
    for name, data in bad_files().items():
        (work / name).write_bytes(data)


def check_case(work: Path, args: list[str]) -> str | None:
    """None when graphc printed one error line and exited 1; otherwise what it did."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    try:
        proc = subprocess.run([sys.executable, "-m", "graphc", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"no answer within {TIMEOUT_S:g} s"
    lines = proc.stderr.strip().splitlines()
    if "Traceback" in proc.stderr:
        return f"traceback: {lines[-1] if lines else ''}"
    if proc.returncode != 1 or len(lines) != 1 or not lines[0].startswith("graphc: error: "):
        return f"exit {proc.returncode}, stderr {proc.stderr.strip()[:200]!r}"
    return None


def run(seed: int | None = None, count: int | None = None, jobs: int = 3) -> Figures:
    """Every case (``count`` caps the number, for a quick look); ``jobs`` processes at once."""
    todo = cases()[:count] if count else cases()
    figs = Figures("cli", "graphc on malformed .npy/.npz/.gir, missing files, directories: one "
                   "line 'graphc: error:', exit 1")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="graphc-clicases-") as tmp:
        work = Path(tmp)
        prepare(work)
        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(lambda c: check_case(work, c[1]), todo))
    for (label, _), problem in zip(todo, results, strict=True):
        if problem:
            figs.fail(f"graphc {label}: {problem}")
    figs.cases = len(todo)
    figs.details = {"tracebacks": sum(1 for r in results if r and r.startswith("traceback")),
                    "hangs": sum(1 for r in results if r and r.startswith("no answer"))}
    figs.seconds = time.perf_counter() - start
    return figs
