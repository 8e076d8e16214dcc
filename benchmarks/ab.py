"""Graphc against another checkout of itself: the same workloads, timed side by side.

``python -m benchmarks.ab --base DIR [--only W1,W2,W3] [--systems "graphc llvm"]`` builds each
chosen system of each workload twice, once with this checkout's graphc and once with the graphc
of the checkout at DIR (for example a ``git worktree`` of the commit before a change), each in
its own worker process (benchmarks.sandbox), and times both in interleaved rounds, so drift of
the machine hits both alike. It prints each pair's medians and the ratio this/base (below 1.00x:
this checkout is faster). The harness, the workloads and the reference come from this checkout;
only ``import graphc`` differs between the two workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Row, Settings
from benchmarks.sandbox import REPO, Worker, time_then_quit, worker_argv, workload

MODULES = {"W1": "benchmarks.w1_mlp", "W2": "benchmarks.w2_cnn", "W3": "benchmarks.w3_elementwise"}


def _graphc_only(base: Path) -> Path:
    """A folder holding one entry, ``graphc`` -> the base checkout's package."""
    folder = Path(tempfile.mkdtemp(prefix="graphc-ab-"))
    (folder / "graphc").symlink_to(base.resolve() / "graphc")
    return folder


def _pair(module: str, index: int, system: str, cfg: Settings, base_path: Path) -> list[Row]:
    argv = worker_argv(module, index, cfg)(system)
    # `-c` shim: put the base graphc ahead of REPO inside the worker, then run the sandbox.
    shim = ("import sys; sys.path.insert(0, %r); import runpy; sys.argv = %r; "
            "runpy.run_module('benchmarks.sandbox', run_name='__main__')")
    base_argv = [sys.executable, "-c", shim % (str(base_path), ["sandbox", *argv[5:]])]
    new = Worker(Row(f"{system} (this)", "graphc"), argv)
    base = Worker(Row(f"{system} (base)", "graphc"), base_argv)
    workers = [new, base]
    try:
        for wk in workers:
            wk.built()
        time_then_quit(workers, cfg)
    finally:
        for wk in workers:
            wk.kill()
    return [new.row, base.row]


def _line(title: str, rows: list[Row]) -> str:
    new, base = rows
    if new.median is None or base.median is None:
        return f"| {title} | {new.status}: {new.note} | {base.status}: {base.note} | |"
    return (f"| {title} | {new.median * 1e3:.3f} ms | {base.median * 1e3:.3f} ms | "
            f"{new.median / base.median:.2f}x |")


def main(argv: list[str] | None = None) -> None:
    """Print a markdown table of this checkout's step times against the base checkout's."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, type=Path, help="the other checkout (has graphc/)")
    p.add_argument("--only", default="W1,W2,W3", help="workloads among W1,W2,W3")
    p.add_argument("--systems", default="graphc llvm", help="comma-separated system names")
    p.add_argument("--repeat", type=int, default=60, help="minimum timed runs per system")
    p.add_argument("--max-time", type=float, default=2.0, help="seconds of timed runs per system")
    args = p.parse_args(argv)
    if not (args.base / "graphc" / "__init__.py").is_file():
        p.error(f"--base {args.base}: no graphc package there")
    base_path = _graphc_only(args.base)
    cfg = Settings(min_runs=args.repeat, max_time=args.max_time)
    print(f"this: {REPO}   base: {args.base.resolve()}\n")
    print("| workload / system | this | base | this/base |\n|---|---:|---:|---:|")
    for wid in args.only.split(","):
        module = MODULES[wid.strip()]
        for index, w in enumerate(__import__(module, fromlist=["workloads"]).workloads(False)):
            for system in args.systems.split(","):
                if any(s.name == system.strip() for s in workload(module, False, index).systems):
                    rows = _pair(module, index, system.strip(), cfg, base_path)
                    print(_line(f"{w.title} / {system.strip()}", rows), flush=True)
    print(f"\nmedians over >= {args.repeat} timed runs or {args.max_time} s, interleaved blocks")


if __name__ == "__main__":
    main()
