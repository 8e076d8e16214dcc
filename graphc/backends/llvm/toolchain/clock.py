"""The rate of the CPU's cycle counter (what the profiling build's kernel timers read).

``llvm.readcyclecounter`` is the time stamp counter on x86, which ticks at a constant rate on
current CPUs; the rate is measured once per process against ``time.perf_counter`` with a tiny
compiled function that returns the counter.
"""

from __future__ import annotations

import ctypes
import functools
import time

from graphc.backends.llvm.toolchain import jit

_IR = """
declare i64 @llvm.readcyclecounter()
define i64 @graphc_cycles() {
  %c = call i64 @llvm.readcyclecounter()
  ret i64 %c
}
"""
SPAN = 0.05  # seconds of calibration: the rate to ~1e-4 with perf_counter's resolution


@functools.cache
def _counter() -> tuple[jit.Loaded, ctypes._CFuncPtr]:
    obj, _ = jit.compile_ir(_IR, jit.Timings())
    loaded = jit.Loaded(obj)
    read = ctypes.CFUNCTYPE(ctypes.c_int64)(loaded.address("graphc_cycles"))
    return loaded, read  # the Loaded keeps the code mapped


@functools.cache
def cycles_per_second() -> float:
    """Counter ticks per second of ``time.perf_counter`` (best of three short spans)."""
    _, read = _counter()
    rates = []
    for _ in range(3):
        c0, t0 = read(), time.perf_counter()
        while time.perf_counter() - t0 < SPAN / 3:
            pass
        c1, t1 = read(), time.perf_counter()
        rates.append((c1 - c0) / (t1 - t0))
    return sorted(rates)[1]
