"""This machine's peaks for the benchmarks' floors: FMA rate on 1 and on all threads, bandwidth.

The FMA loop is graphc's own register-only loop of independent <16 x float> FMAs generated with
llvmlite (graphc.backends.llvm.toolchain.machine, also used by the profiler's roofline); here it
also runs on every thread at once (ctypes releases the GIL, so the threads really run together).
Bandwidth is the best of a 64 MiB NumPy copy on one thread and split over all threads. Each is
the best of several short runs (on a shared machine the slower runs were interrupted), so the
peaks are upper bounds on what code can reach and the floors computed from them are lower
bounds: floor = max(FLOPs / FMA peak, bytes / bandwidth). Measured once, cached as JSON in the
graphc cache directory next to the host record.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from graphc.backends.llvm.toolchain import jit
from graphc.backends.llvm.toolchain import machine as graphc_machine
from graphc.support.cache import cache_dir
from graphc.support.files import atomic_write

VERSION = 1
RUNS = 9
COPY_BYTES = graphc_machine.COPY_BYTES


@dataclass(frozen=True)
class MachinePeaks:
    """float32 FLOP/s on one thread and on ``threads`` threads, and memory bytes/s."""

    flops_1: float
    flops_all: float
    threads: int
    bytes: float
    how: str

    @property
    def flops_bound(self) -> float:
        """The all-thread FMA rate used for floors: the measured one, or threads x the one-thread
        rate if larger (on a shared machine threads run interrupted; this stays an upper bound
        on the rate, so floors stay lower bounds)."""
        return max(self.flops_all, self.threads * self.flops_1)

    def floor(self, flops: float, nbytes: float, threads: int | None = None) -> float:
        """Seconds no implementation can beat: max(compute time, memory time)."""
        rate = self.flops_1 if threads == 1 else self.flops_bound
        return max(flops / rate, nbytes / self.bytes)

    def describe(self) -> str:
        """The peaks in one line, for a report."""
        return (f"FMA {self.flops_1 / 1e9:.0f} GFLOP/s on 1 thread, {self.flops_all / 1e9:.0f} "
                f"measured on {self.threads} ({self.flops_bound / 1e9:.0f} used); memory "
                f"{self.bytes / 1e9:.1f} GB/s")


def _fma_runner():
    obj, _ = jit.compile_ir(graphc_machine._fma_ir(), jit.Timings())
    loaded = jit.Loaded(obj)
    fn = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64)(loaded.address("graphc_fma_peak"))
    fn(1000)
    return loaded, fn


def _together(work, threads: int) -> float:
    """Wall time of ``work(k)`` run on ``threads`` threads started together."""
    gate = threading.Barrier(threads + 1)

    def body(k: int) -> None:
        gate.wait()
        work(k)

    pool = [threading.Thread(target=body, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - t0


def _best(run, repeat: int = RUNS) -> float:
    return min(run() for _ in range(repeat))


def fma_rates(threads: int) -> tuple[float, float]:
    """(FLOP/s on one thread, FLOP/s on ``threads`` threads at once)."""
    _keep, fn = _fma_runner()
    trips = graphc_machine.FMA_TRIPS
    flops = 2.0 * graphc_machine.CHAINS * graphc_machine.LANES * trips
    one = flops / _best(lambda: _together(lambda k: fn(trips), 1))
    many = threads * flops / _best(lambda: _together(lambda k: fn(trips), threads))
    return one, max(one, many)


def bandwidth(threads: int) -> float:
    """Bytes/s moved (read + write) by a large copy, on 1 thread or split over ``threads``."""
    src = np.ones(COPY_BYTES // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    parts = np.array_split(np.arange(src.size), threads)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in parts]

    def chunk(k: int) -> None:
        lo, hi = bounds[k]
        np.copyto(dst[lo:hi], src[lo:hi])

    one = _best(lambda: _together(lambda k: np.copyto(dst, src), 1))
    many = _best(lambda: _together(chunk, threads))
    return 2.0 * COPY_BYTES / min(one, many)


def measure(threads: int | None = None) -> MachinePeaks:
    """Measure now (a second or two)."""
    n = threads or os.cpu_count() or 1
    one, many = fma_rates(n)
    how = (f"register-only FMA loop (llvmlite) on 1 and {n} threads, best of {RUNS}; "
           f"{COPY_BYTES >> 20} MiB NumPy copy on 1 and {n} threads, best of {RUNS}")
    return MachinePeaks(one, many, n, bandwidth(n), how)


def _key() -> str:
    return f"v{VERSION} {' '.join(jit.host())} {os.cpu_count()} cpus"


def peaks() -> MachinePeaks:
    """The cached peaks of this machine (measured on first use)."""
    path = cache_dir() / "bench-machine.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        record = json.loads(path.read_text())
        if record.pop("key") == _key():
            return MachinePeaks(**record)
    found = measure()
    with contextlib.suppress(OSError):  # a read-only cache directory: measure next time
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"key": _key(), **asdict(found)}).encode())
    return found


if __name__ == "__main__":
    print(peaks().describe())
