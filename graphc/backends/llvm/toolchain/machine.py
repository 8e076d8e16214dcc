"""This machine's measured peaks: the float32 FMA rate of one core (a compiled loop of
independent vector FMAs) and memory bandwidth (a large NumPy copy), measured once and cached as
JSON in the cache directory next to the host record.

They are what a roofline needs: a kernel whose FLOPs per byte exceed peak_flops / peak_bytes
is compute-bound, else memory-bound; its share of the matching peak says how far it is from
the machine (a kernel split over threads may pass 100% of one core's FMA peak). NumPy's BLAS
is no yardstick: its runtime CPU detection may pick a generic kernel on a virtual CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from graphc.backends.llvm.toolchain import jit
from graphc.support.cache import cache_dir
from graphc.support.files import atomic_write

VERSION = 3
CHAINS, LANES = 8, 16  # independent FMA chains of <16 x float>: covers latency x ports
FMA_TRIPS = 250_000  # 64 MFLOP a run: short, so that some runs see no other process
RUNS = 15  # the best run counts: on a shared machine the others were interrupted
COPY_BYTES = 64 << 20  # far beyond the last-level cache


def _fma_ir() -> str:
    vec = f"<{LANES} x float>"

    def splat(x: str) -> str:
        return "<" + ", ".join([f"float {x}"] * LANES) + ">"

    lines = [f"declare {vec} @llvm.fma.v{LANES}f32({vec}, {vec}, {vec})",
             "define float @graphc_fma_peak(i64 %n) {", "entry:", "  br label %loop", "loop:",
             "  %i = phi i64 [0, %entry], [%i1, %loop]"]
    for k in range(CHAINS):
        lines.append(f"  %a{k} = phi {vec} [{splat(f'{k + 1}.0')}, %entry], [%b{k}, %loop]")
    for k in range(CHAINS):
        lines.append(f"  %b{k} = call {vec} @llvm.fma.v{LANES}f32({vec} %a{k}, "
                     f"{vec} {splat('0x3FEFFFFFC0000000')}, {vec} {splat('0x3EB0C6F7A0000000')})")
    lines += ["  %i1 = add i64 %i, 1", "  %done = icmp eq i64 %i1, %n",
              "  br i1 %done, label %exit, label %loop", "exit:"]
    total = "%b0"
    for k in range(1, CHAINS):
        lines.append(f"  %s{k} = fadd {vec} {total}, %b{k}")
        total = f"%s{k}"
    lines += [f"  %r = extractelement {vec} {total}, i32 0", "  ret float %r", "}"]
    return "\n".join(lines) + "\n"


def fma_peak() -> float:
    """float32 FLOP/s of one core running independent vector FMAs (best of RUNS)."""
    obj, _ = jit.compile_ir(_fma_ir(), jit.Timings())
    loaded = jit.Loaded(obj)
    run = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64)(loaded.address("graphc_fma_peak"))
    run(1000)
    flops = 2.0 * CHAINS * LANES * FMA_TRIPS
    return flops / _best(lambda: run(FMA_TRIPS))


@dataclass(frozen=True)
class Peaks:
    """Peak float32 FLOP/s and memory bytes/s of this machine, and what measured them."""

    flops: float
    bytes: float
    how: str

    @property
    def ridge(self) -> float:
        """FLOPs per byte where the roofline bends: above it a kernel is compute-bound."""
        return self.flops / self.bytes


def _best(run, repeat: int = RUNS) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure() -> Peaks:
    """Measure now (about half a second)."""
    flops = fma_peak()
    src = np.ones(COPY_BYTES // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    moved = 2.0 * COPY_BYTES / _best(lambda: np.copyto(dst, src))  # read and write
    how = f"one core's vector FMA loop; NumPy copy of {COPY_BYTES >> 20} MiB"
    return Peaks(flops, moved, how)


def _key() -> str:
    return f"v{VERSION} {' '.join(jit.host())} {os.cpu_count()} cpus"


def peaks() -> Peaks:
    """The cached peaks of this machine (measured on first use)."""
    path = cache_dir() / "machine.json"
    try:
        record = json.loads(path.read_text())
        if record.get("key") == _key():
            return Peaks(record["flops"], record["bytes"], record["how"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or stale: measure again
    found = measure()
    with contextlib.suppress(OSError):  # a read-only cache directory: measure next time
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"key": _key(), **asdict(found)}).encode())
    return found
