"""Time each system of a workload in its own process, with every other system's process stopped.

Libraries leave threads running after a call: OpenBLAS's spin for a while, torch's OpenMP pool
spins, XLA keeps a pool. In one process those threads compete with whichever system is timed
next, and on a 2-core machine every median grows several times. So each system gets a worker
process (``python -m benchmarks.sandbox MODULE INDEX SYSTEM SETTINGS``), and while one worker
runs a block of calls, every other worker's process group is stopped with SIGSTOP: none of their
threads can run. A worker that dies (graphc's llvm backend runs generated machine code, which can
take the interpreter down) fails only its own system's row.

Protocol, one JSON object per line (never pickle or eval: a worker takes only JSON and a module
name checked against MODULES). After building, the worker sends ``{"status", "note", "check",
"probe"}``; then the parent sends ``{"cmd": "run", "warm": k, "warm_s": s, "n": n}`` (at least k
untimed calls and s seconds of them, then n timed calls; reply ``{"times": [..]}`` or
``{"error": why}``) until ``{"cmd": "quit"}``. The worker's stdout carries only the protocol
(anything a library prints goes to stderr, which is the parent's).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import importlib
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from benchmarks.harness import (
    Row,
    Settings,
    Workload,
    block_size,
    check,
    done,
    exit_reason,
    prepare,
    skipped_in_quick,
    time_block,
)

# Workload modules a worker may load (never an arbitrary import taken from argv).
MODULES = ("benchmarks.w1_mlp", "benchmarks.w2_cnn", "benchmarks.w3_elementwise",
           "benchmarks.w6_lstm", "benchmarks.w7_transformer")
REPO = Path(__file__).resolve().parent.parent


def workload(module: str, quick: bool, index: int) -> Workload:
    """The index-th workload of a module, as built for this mode."""
    if module not in MODULES:
        raise SystemExit(f"sandbox: unknown workload module {module!r}")
    return importlib.import_module(module).workloads(quick)[index]


# --- the parent -----------------------------------------------------------------------------


class Worker:
    """One system's process as the parent sees it: its row, and the pipes to talk to it."""

    def __init__(self, row: Row, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.row = row
        # Its own process group, so stopping it also stops any process it starts (compilers'
        # worker pools); stderr is ours, for progress and tracebacks.
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, start_new_session=True)

    def built(self) -> np.ndarray | None:
        """Read the build's reply into the row and stop the worker; return its probe, if sent."""
        reply = self._receive()
        if reply is None:
            return None
        self.row.status, self.row.note = reply["status"], reply["note"]
        self.row.check = reply["check"]
        if self.row.status == "ok":
            self._signal(signal.SIGSTOP)
        return None if reply["probe"] is None else np.asarray(reply["probe"])

    def block(self, cfg: Settings) -> bool:
        """Continue the worker for one block of calls, then stop it; False once it has failed."""
        warm = 0 if self.row.times else cfg.warmup
        n = block_size(self.row, cfg)
        cmd = {"cmd": "run", "warm": warm, "warm_s": cfg.block_warmup, "n": n}
        self._signal(signal.SIGCONT)
        if not self._send(cmd):
            return False
        reply = self._receive()
        if reply is None:
            return False
        self._signal(signal.SIGSTOP)
        if "error" in reply:
            self._fail(reply["error"])
            return False
        self.row.times += reply["times"]
        return True

    def quit(self) -> None:
        """Ask a worker that is still running to exit (a stopped one is continued first)."""
        if self.proc.poll() is None:
            self._signal(signal.SIGCONT)
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
                self.proc.wait(timeout=30)

    def kill(self) -> None:
        """Kill whatever is left of the worker's process group (continued: it may be stopped)."""
        if self.proc.poll() is None:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGKILL)
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def _send(self, msg: dict[str, Any]) -> bool:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:  # the worker is gone; its exit status says why
            self._fail(f"its process {exit_reason(self.proc.wait())}")
            return False
        return True

    def _receive(self) -> dict[str, Any] | None:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self._fail(f"its process {exit_reason(self.proc.wait())}")
            return None
        return json.loads(line)

    def _fail(self, note: str) -> None:
        self.row.status, self.row.note, self.row.times = "failed", note, []


def run_workers(w: Workload, cfg: Settings, argv: Callable[[str], list[str]],
                log: Callable[[str], None] = print) -> list[Row]:
    """Rows of ``w``, each system built and timed in the worker that ``argv(name)`` starts.

    Workers are built one after another (each stopped once built), then timed in rounds until
    every system is done; they are killed however this ends.
    """
    rows: list[Row] = []
    workers: list[Worker] = []
    probes: dict[str, np.ndarray] = {}
    try:
        for s in w.systems:
            row = skipped_in_quick(s, cfg)
            if row is None:
                log(f"  building {s.name} ...")
                workers.append(Worker(Row(s.name, s.kind, note=s.note), argv(s.name)))
                row, probe = workers[-1].row, workers[-1].built()
                if probe is not None:
                    probes[s.name] = probe
            rows.append(row)
        check(w, probes, rows)
        time_then_quit(workers, cfg)
    finally:
        for wk in workers:
            wk.kill()
    return rows


def time_then_quit(workers: list[Worker], cfg: Settings) -> None:
    """Time the workers that built in rounds, then ask every worker to exit."""
    _time_in_rounds([wk for wk in workers if wk.row.status == "ok"], cfg)
    for wk in workers:
        wk.quit()


def _time_in_rounds(live: list[Worker], cfg: Settings) -> None:
    """Rounds of one block per live system, in a shuffled order, until every system is done.

    Every system stays in every round until the last one is done, so drift of the machine (other
    processes, frequency) hits all systems alike; the order is shuffled per round so no system
    always runs right after the same neighbour.
    """
    rng = random.Random(0)
    while live and not all(done(wk.row, cfg) for wk in live):
        rng.shuffle(live)
        for wk in list(live):
            if not wk.block(cfg):
                live.remove(wk)


def worker_argv(module: str, index: int, cfg: Settings) -> Callable[[str], list[str]]:
    """The command line of the worker for one system of a workload module."""
    settings = json.dumps(dataclasses.asdict(cfg))
    return lambda name: [sys.executable, "-X", "faulthandler", "-m", "benchmarks.sandbox", module,
                         str(index), name, settings]


def run_isolated(w: Workload, module: str, index: int, cfg: Settings,
                 log: Callable[[str], None] = print) -> list[Row]:
    """Rows of ``w``, the index-th workload of ``module``, each system in its own worker."""
    return run_workers(w, cfg, worker_argv(module, index, cfg), log)


# --- the worker -----------------------------------------------------------------------------


def serve(make: Callable[[], Workload], name: str, cfg: Settings) -> None:
    """In a worker: build system ``name`` of ``make()``, reply, then run the parent's blocks."""
    _die_with_parent()
    out = _protocol_stream()
    fn, reply = _build(make, name, cfg)
    _send(out, reply)
    if fn is None:
        return
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] != "run":
            break
        try:
            times = time_block(fn, int(cmd["warm"]), float(cmd["warm_s"]), int(cmd["n"]))
            _send(out, {"times": times})
        except Exception as exc:  # the system broke while timed: its row fails, not the run
            _send(out, {"error": f"{type(exc).__name__}: {exc}"[:160]})
            break


def _build(make: Callable[[], Workload], name: str, cfg: Settings) -> tuple[Any, dict[str, Any]]:
    """Build and probe the system. The probe goes to the parent when the reference is another
    system's probe; an expected array (W3's has 2^24 floats and a dtype to check) stays here."""
    w = make()
    systems = {s.name: s for s in w.systems}
    if name not in systems:
        raise SystemExit(f"sandbox: no system {name!r} in {w.title!r}")
    row, fn, probe = prepare(w, systems[name], cfg)
    send = None
    if probe is not None and isinstance(w.reference, np.ndarray):
        check(w, {name: probe}, [row])
    elif probe is not None:
        send = np.asarray(probe, dtype=np.float64).tolist()
    return fn, {"status": row.status, "note": row.note, "check": row.check, "probe": send}


def _protocol_stream() -> TextIO:
    """A private copy of stdout for the protocol; fd 1 and sys.stdout then go to stderr, so
    whatever a library prints (from Python or C) cannot corrupt a reply."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _send(out: TextIO, msg: dict[str, Any]) -> None:
    out.write(json.dumps(msg) + "\n")
    out.flush()


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the parent dies, even while it is stopped
    (a parent killed by a signal runs no finally). Best effort elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


def main(argv: list[str]) -> None:
    """``MODULE INDEX SYSTEM SETTINGS_JSON``: serve one system of a workload."""
    module, index, name, settings = argv
    cfg = Settings(**json.loads(settings))
    serve(lambda: workload(module, cfg.quick, int(index)), name, cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
