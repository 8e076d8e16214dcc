"""P1: profiles of the W1 MLP (batch 128) and W2 CNN training steps, and the profiler's cost.

    python -m benchmarks.profile_steps [--backend llvm] [--repeat 30] [--top 10]
    python -m benchmarks --only P1          # the same as report sections (RESULTS.md)

Per workload: the per-kernel table (top rows), the share of the step's wall time the kernel
timers cover, and the overhead of the profiling build: the fastest call of the step compiled
with profile=True against the normal build's, calls in alternation.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from benchmarks import graphc_steps  # noqa: E402
from benchmarks.models import CNNShape, batch, cnn_batch, cnn_params, mlp_params  # noqa: E402


def compiled(build: Callable[[], Callable]) -> tuple[Callable, object]:
    """(step(), its gc.Function) from a graphc_steps builder."""
    from graphc.frontend.function import watch_functions

    with watch_functions() as made:
        step = build()
    return step, made[-1]


def workloads(backend: str, quick: bool = False) -> dict[str, tuple[Callable[[], Callable],
                                                                    tuple]]:
    """name -> (builder of the step, its inputs)."""
    size = 32 if quick else 128
    x1, y1 = batch((size, 784))
    s = CNNShape(batch=8) if quick else CNNShape()
    x2, y2 = cnn_batch(s)
    return {
        f"W1 MLP step, batch {size}": (
            lambda: graphc_steps.mlp_step(backend, mlp_params(), x1, y1), (x1, y1)),
        f"W2 CNN step, batch {s.batch}": (
            lambda: graphc_steps.cnn_step(backend, cnn_params(s), x2, y2, s), (x2, y2)),
    }


def overhead(fn, args: list, calls: int) -> tuple[float, float]:
    """Fastest seconds per call of the normal and the profiling build, both compiled now on
    one pinned thread (so neither is mid-way through choosing its thread count), called in
    alternation (on a shared machine the fastest call of each is the least disturbed)."""
    from graphc.backends import compile_for

    pinned = {**fn.options, "threads": 1} if fn.backend == "llvm" else dict(fn.options)
    exes = [compile_for(fn.backend, fn.graph, **{**pinned, "profile": on}) for on in (0, 1)]
    best = [float("inf"), float("inf")]
    for k in range(2 * calls + 6):
        which = k % 2 if (k // 2) % 2 else 1 - k % 2  # ABBA: neither always goes first
        start = time.perf_counter()
        exes[which].run(args, fn.last_dims)
        if k >= 6:  # the first calls of each warm caches and pools
            best[which] = min(best[which], time.perf_counter() - start)
    return best[0], best[1]


COLUMNS = ["kernel", "fused ops", "median", "share", "GFLOP/s", "GB/s", "bound", "% of peak",
           "source"]


def sections(quick: bool, log: Callable[[str], None] = print, top: int = 10) -> list:
    """Report sections: per workload the top kernels of the llvm step, with notes on timer
    coverage and the profiling build's overhead."""
    from benchmarks.report import Section

    repeat, calls = (3, 3) if quick else (30, 100)
    out = []
    for name, (build, inputs) in workloads("llvm", quick).items():
        log(f"P1: profile of the {name}")
        step, fn = compiled(build)
        step()
        prof = fn.profile(*inputs, repeat=repeat)
        rows = [_row(r, prof) for r in prof.rows[:top]]
        m = prof.machine
        notes = [
            f"graphc llvm, {repeat} profiled calls. Kernel timers cover {prof.coverage:.0%} of "
            f"the median call's wall time and {prof.fastest_coverage:.0%} of the fastest call's "
            f"(the rest: argument set-up, and on a busy machine waiting for a CPU between "
            f"kernels). {_overhead_note(fn, inputs, quick, calls)} Load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs during this run.",
            f"Peaks: {m.flops / 1e9:.0f} GFLOP/s ({m.how.split(';')[0]}), {m.bytes / 1e9:.1f} "
            f"GB/s ({m.how.split('; ')[1]}); bound = compute when FLOPs per byte exceed their "
            f"ratio. Bytes count each operand and result once per call, so a kernel whose data "
            f"stays in cache can pass 100% of the memory roof.",
        ]
        out.append(Section(f"P1: where the time goes, {name} (top {top} kernels)", COLUMNS,
                           rows, notes))
    return out


def _overhead_note(fn, inputs: tuple, quick: bool, calls: int) -> str:
    if quick:
        return "Profiling overhead: not measured with --quick."
    plain, profiled = overhead(fn, list(inputs), calls)
    return (f"The profiling build (cycle counters around each kernel call) took "
            f"{profiled * 1e3:.3f} ms per call against {plain * 1e3:.3f} ms for the normal "
            f"build ({profiled / plain - 1:+.1%}; fastest of {calls} alternating calls each, "
            f"one pinned thread); the normal build's code has no timers.")


def _row(r, prof) -> list[str]:
    kind, share = r.bound(prof.machine)
    step = prof.wall or prof.kernel_seconds
    return [r.name, r.group or "-", f"{r.median * 1e3:.3f} ms", f"{r.median / step:.1%}",
            f"{r.gflops:.1f}", f"{r.gbs:.2f}", kind, f"{share:.0%}", r.loc]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--calls", type=int, default=100, help="alternating calls per build")
    args = p.parse_args()
    for name, (build, inputs) in workloads(args.backend, False).items():
        step, fn = compiled(build)
        step()
        prof = fn.profile(*inputs, repeat=args.repeat)
        print(f"== {name} ({args.backend}) ==")
        print(fn.profile_report(limit=args.top))
        plain, profiled = overhead(fn, list(inputs), args.calls)
        print(f"kernel timers cover {prof.coverage:.1%} of the median call "
              f"({prof.fastest_coverage:.1%} of the fastest); profiling build "
              f"{profiled * 1e3:.3f} ms vs normal {plain * 1e3:.3f} ms per call "
              f"({profiled / plain - 1:+.1%})\n")


if __name__ == "__main__":
    main()
