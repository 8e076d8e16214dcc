"""Run one workload in a child process, so natively compiled code cannot take the run down.

graphc's llvm backend runs generated machine code; if that code crashes (a bad address, an
illegal instruction), the interpreter dies with it. Each workload therefore runs in a fresh
process that prints its rows as JSON. If that process dies by a signal, the workload is run
again without its ``native`` systems, which are reported as having crashed it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import Row, Settings, Workload, exit_reason, run_workload

# Workload modules a child may load (never an arbitrary import taken from argv).
MODULES = ("benchmarks.w1_mlp", "benchmarks.w2_cnn", "benchmarks.w3_elementwise")


def workload(module: str, quick: bool, index: int) -> Workload:
    """The index-th workload of a module, as built for this mode."""
    if module not in MODULES:
        raise SystemExit(f"sandbox: unknown workload module {module!r}")
    return importlib.import_module(module).workloads(quick)[index]


def _spawn(module: str, index: int, cfg: Settings, exclude: list[str]) -> tuple[int, list[Row]]:
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}
    payload = json.dumps({"settings": dataclasses.asdict(cfg), "exclude": exclude})
    cmd = [sys.executable, "-X", "faulthandler", "-m", "benchmarks.sandbox", module, str(index),
           payload]
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)  # stderr: progress
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("[")]
    if done.returncode != 0 or not lines:
        return done.returncode or 1, []
    return 0, [Row(**r) for r in json.loads(lines[-1])]


def run_isolated(module: str, index: int, cfg: Settings) -> list[Row]:
    """Rows of one workload measured in a child; native systems dropped if the child crashes."""
    code, rows = _spawn(module, index, cfg, [])
    if code == 0:
        return rows
    w = workload(module, cfg.quick, index)
    native = [s.name for s in w.systems if s.native]
    why = exit_reason(code)
    if code > 0 or not native:
        raise RuntimeError(f"benchmark process for {w.title!r} failed ({why})")
    code, rows = _spawn(module, index, cfg, native)
    if code != 0:
        raise RuntimeError(f"benchmark process for {w.title!r} failed again without "
                           f"{', '.join(native)}")
    note = f"the benchmark process {why}; the workload was rerun without this system"
    return [Row(r.system, r.kind, "failed", note) if r.system in native else r for r in rows]


def _child(module: str, index: int, payload: str) -> None:
    args = json.loads(payload)
    cfg = Settings(**args["settings"])
    w = workload(module, cfg.quick, index)
    kinds = {s.name: s.kind for s in w.systems}
    w.systems = [s for s in w.systems if s.name not in args["exclude"]]
    rows = run_workload(w, cfg, lambda msg: print(msg, file=sys.stderr, flush=True))
    rows += [Row(name, kinds[name], "failed", "excluded") for name in args["exclude"]]
    order = list(kinds)
    rows.sort(key=lambda r: order.index(r.system))
    print(json.dumps([dataclasses.asdict(r) for r in rows]))


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
