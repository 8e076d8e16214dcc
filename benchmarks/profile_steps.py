"""Profiles of the W1 MLP (batch 128) and W2 CNN training steps, and the profiler's own cost.

    python -m benchmarks.profile_steps [--backend llvm] [--repeat 30] [--top 10]

Per workload: the per-kernel table (top rows), the share of the step's wall time the kernel
timers cover, and the overhead of the profiling build: the median wall time of the step
compiled with profile=True against the normal build, interleaved blocks of calls.
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


def workloads(backend: str) -> dict[str, tuple[Callable[[], Callable], tuple]]:
    """name -> (builder of the step, its inputs)."""
    x1, y1 = batch((128, 784))
    s = CNNShape()
    x2, y2 = cnn_batch(s)
    return {
        "W1 MLP b128": (lambda: graphc_steps.mlp_step(backend, mlp_params(), x1, y1), (x1, y1)),
        "W2 CNN b64": (lambda: graphc_steps.cnn_step(backend, cnn_params(s), x2, y2, s),
                       (x2, y2)),
    }


def overhead(fn, args: list, blocks: int, per_block: int) -> tuple[float, float]:
    """Fastest seconds per call of the normal and the profiling build, both compiled now on
    one pinned thread (so neither is mid-way through choosing its thread count), timed in
    interleaved blocks (on a shared machine the fastest call is the least disturbed)."""
    from graphc.backends import compile_for

    pinned = {**fn.options, "threads": 1} if fn.backend == "llvm" else dict(fn.options)
    plain = compile_for(fn.backend, fn.graph, **{**pinned, "profile": False})
    profiled = compile_for(fn.backend, fn.graph, **{**pinned, "profile": True})
    dims = fn.last_dims
    runs = {"plain": lambda: plain.run(args, dims), "profiled": lambda: profiled.run(args, dims)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for run in runs.values():
        for _ in range(20):
            run()
    for _ in range(blocks):
        for key, run in runs.items():
            for _ in range(per_block):
                start = time.perf_counter()
                run()
                times[key].append(time.perf_counter() - start)
    return min(times["plain"]), min(times["profiled"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--blocks", type=int, default=10)
    args = p.parse_args()
    for name, (build, inputs) in workloads(args.backend).items():
        step, fn = compiled(build)
        step()
        prof = fn.profile(*inputs, repeat=args.repeat)
        print(f"== {name} ({args.backend}) ==")
        print(fn.profile_report(limit=args.top))
        plain, profiled = overhead(fn, list(inputs), args.blocks, max(args.repeat // 3, 3))
        print(f"kernel timers cover {prof.coverage:.1%} of the median call "
              f"({prof.fastest_coverage:.1%} of the fastest); profiling build "
              f"{profiled * 1e3:.3f} ms vs normal {plain * 1e3:.3f} ms per call "
              f"({profiled / plain - 1:+.1%})\n")


if __name__ == "__main__":
    main()
