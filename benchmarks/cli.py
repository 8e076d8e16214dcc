"""`python -m benchmarks`: run the workloads, print the markdown report, optionally save it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable

from benchmarks import hostinfo, memory, report, sandbox
from benchmarks.harness import Settings, floor_row, run_workload
from benchmarks.report import Section

# M1: W1's peak memory per system; P1: per-kernel profiles of graphc's W1/W2 steps
WORKLOADS = ("W1", "M1", "W2", "W3", "W4", "W5", "W6", "W7", "W9", "P1")


_T0 = time.perf_counter()


def _log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="small sizes, one timed run each: checks the harness, measures nothing")
    p.add_argument("--out", metavar="FILE", help="also write the markdown report to FILE")
    p.add_argument("--only", metavar="W1,W3", default=",".join(WORKLOADS),
                   help="comma-separated workloads to run: W1 MLP, M1 its memory, W2 CNN, "
                   "W3 elementwise, W4 first-call latency, W5 compile time by model size, "
                   "W6 LSTM, W7 transformer encoder layer, W9 data-parallel steps over MPI "
                   "(mpiexec), P1 per-kernel profiles (default: all)")
    p.add_argument("--repeat", type=int, default=100, metavar="N",
                   help="minimum timed runs per system (default 100: 10 blocks spread over the "
                   "run, so a passing slow spell of the machine hits few of them) ...")
    p.add_argument("--max-time", type=float, default=2.0, metavar="S",
                   help="... or stop a system once its timed runs add up to S seconds (default 2)")
    p.add_argument("--warmup", type=int, default=3, metavar="N", help="untimed calls first")
    p.add_argument("--all-systems", action="store_true",
                   help="in --quick, also run the systems that take long to compile")
    p.add_argument("--threads", type=int, metavar="N",
                   help="limit every system to N threads (default: each system's own default)")
    p.add_argument("--in-process", action="store_true",
                   help="time every system in this process, one call per round, not each in its "
                   "own stopped-while-others-run process (for debugging; a crash ends the run)")
    args = p.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(args.only) - set(WORKLOADS))
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    return args


def settings(args: argparse.Namespace) -> Settings:
    if args.quick:
        return Settings(warmup=0, min_runs=1, max_time=0.0, min_runs_when_slow=1, quick=True,
                        all_systems=args.all_systems, block_warmup=0.0)
    return Settings(warmup=args.warmup, min_runs=args.repeat, max_time=args.max_time)


def method(cfg: Settings, in_process: bool) -> str:
    """The "Method:" line of the report: how the timed workloads were measured."""
    stop = (f"until each has {cfg.min_runs} timed runs or {cfg.max_time:g} s of them (at least "
            f"{cfg.min_runs_when_slow})")
    if in_process:
        how = (f"all systems in one process (--in-process): {cfg.warmup} warm-up calls each, then "
               f"rounds of one call per system in shuffled order {stop}")
    else:
        how = ("each system in its own process, built once; then rounds in shuffled order, in "
               f"which each system runs a block of up to {cfg.block} timed calls, each block "
               f"after {cfg.block_warmup * 1e3:.0f} ms of untimed calls (the first block after at "
               f"least {cfg.warmup} calls), {stop}. While one system runs its block, every other "
               "system's process is stopped (SIGSTOP), so no library's idle threads (BLAS, "
               "OpenMP, XLA pools) can run during another's timing; a system whose process dies "
               "is FAILED, the others go on. Blocks time the steady state of a training loop: "
               "after a pause, caches are cold and thread pools asleep for tens of calls")
    return (f"Method: {how}; median, min, max of wall time per call. Ratios are median / median "
            "of the fastest peer (PyTorch, JAX, PyTensor, numexpr, numba) and of the floor; below "
            "1.00x is faster. A floor is a lower bound, max(FLOPs / peak FMA rate of all threads, "
            "bytes / peak memory bandwidth), from this machine's measured peaks "
            "(benchmarks/machine.py); reference costs are timed code doing part of the work. ")


def _timed(module: str, args: argparse.Namespace, cfg: Settings) -> list[Section]:
    """Each workload of ``module``, every system in its own process (or all in this one)."""
    out = []
    for i, w in enumerate(importlib.import_module(module).workloads(args.quick)):
        _log(f"{w.title}")
        if args.in_process:
            rows = run_workload(w, cfg, _log)
        else:
            rows = sandbox.run_isolated(w, module, i, cfg, _log)
        floor = floor_row(w)
        out.append(report.timing_section(w.title, rows + ([floor] if floor else []), w.notes))
    return out


def _w1(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    return _timed("benchmarks.w1_mlp", args, cfg)


def _m1(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    from benchmarks import w1_mlp

    size = w1_mlp.QUICK_BATCHES[0] if args.quick else 128
    _log(f"M1: W1 memory, batch {size}")
    rows = memory.rows("W1", size, w1_mlp.systems(size), args.quick and not args.all_systems)
    return [Section(f"M1: peak memory of W1's MLP training step, batch {size}", memory.COLUMNS,
                    rows, [f"Method: {memory.METHOD}."])]


def _w2(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    return _timed("benchmarks.w2_cnn", args, cfg)


def _w3(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    return _timed("benchmarks.w3_elementwise", args, cfg)


def _w6(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    return _timed("benchmarks.w6_lstm", args, cfg)


def _w7(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    return _timed("benchmarks.w7_transformer", args, cfg)


def _w4(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    from benchmarks import w4_latency

    return w4_latency.sections(args.quick, cfg, _log)


def _w5(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    from benchmarks import w5_compile

    return w5_compile.sections(args.quick, cfg, _log)


def _w9(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    from benchmarks import w9_distributed

    _log("W9: data-parallel training steps over MPI")
    return w9_distributed.sections(args.quick)


def _p1(args: argparse.Namespace, cfg: Settings) -> list[Section]:
    from benchmarks import profile_steps

    return profile_steps.sections(args.quick, _log)


RUNNERS: dict[str, Callable[[argparse.Namespace, Settings], list[Section]]] = {
    "W1": _w1, "M1": _m1, "W2": _w2, "W3": _w3, "W4": _w4, "W5": _w5, "W6": _w6, "W7": _w7,
    "W9": _w9, "P1": _p1,
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        hostinfo.limit_threads(args.threads)
    cfg = settings(args)
    start, load = time.perf_counter(), hostinfo.load()
    sections: list[Section] = []
    for name in args.only:
        sections += RUNNERS[name](args, cfg)
    preamble = [
        method(cfg, args.in_process)
        + (f"Every system limited to {args.threads} thread(s) (--threads)." if args.threads
           else "Each system runs with its own default threading."),
        f"- {hostinfo.thread_note()}",
        "- peers' configuration: in each table's notes column (every peer row states how it "
        "was built: jit options, threads, preallocated outputs, optimizer form)",
        f"- total benchmark time: {time.perf_counter() - start:.0f} s; load average at start "
        f"{load}, at end {hostinfo.load()} ({os.cpu_count()} cores)"
        + (" -- a busy machine: treat these numbers as noisy" if hostinfo.busy() else ""),
    ]
    text = report.document("graphc benchmarks", hostinfo.header(args.quick), sections, preamble)
    sys.stdout.write(text)
    if args.out:
        report.write_atomic(args.out, text)
        _log(f"wrote {args.out}")
    return 0
