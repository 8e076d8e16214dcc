"""Peak memory of W1's step per system, each measured alone in a fresh process.

tracemalloc cannot see memory that PyTorch, JAX or native code allocate, so the child process
reads the kernel's counters instead: after building the system and running warm-up steps it resets
the resident-set high-water mark (writing 5 to /proc/self/clear_refs resets VmHWM to VmRSS), runs
the timed steps, and reports VmHWM - VmRSS(at reset) as the step's working set, plus the process's
total high-water mark. Where clear_refs is not available it falls back to the growth of
resource.getrusage's ru_maxrss across the steps, which is only a lower bound.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable

from benchmarks.harness import FLOOR, PEER, Skip, System, exit_reason

METHOD = ("fresh process per system; step working set = peak RSS during 10 steps minus RSS "
          "before them (VmHWM reset via /proc/self/clear_refs); process peak = VmHWM over the "
          "whole process (interpreter, imports, compilation, steps)")
STEPS = 10


def _status() -> dict[str, int]:
    """VmRSS and VmHWM in KiB from /proc/self/status (empty off Linux)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(step: Callable[[], object]) -> dict[str, object]:
    """Run warm-up steps, then STEPS measured steps; returns KiB figures and the method used."""
    for _ in range(3):
        step()
    before = _status()
    if _reset_hwm() and "VmHWM" in before:
        rss = _status()["VmRSS"]
        for _ in range(STEPS):
            step()
        after = _status()
        return {"step_kib": after["VmHWM"] - rss, "method": "clear_refs",
                "peak_kib": _maxrss_kib()}
    start = _maxrss_kib()
    for _ in range(STEPS):
        step()
    return {"step_kib": _maxrss_kib() - start, "method": "maxrss delta", "peak_kib": _maxrss_kib()}


def child(workload: str, size: int, name: str) -> dict[str, object]:
    """Build one system of W1 at batch ``size`` in this process and measure it."""
    from benchmarks import w1_mlp

    if workload != "W1":
        raise SystemExit(f"memory: unknown workload {workload!r}")
    chosen = {s.name: s for s in w1_mlp.systems(size)}[name]
    try:
        return {"status": "ok", **measure(chosen.build())}
    except Skip as exc:
        return {"status": "skipped", "note": str(exc)}
    except Exception as exc:
        return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:160]}


def run_child(workload: str, size: int, s: System, timeout: float) -> dict[str, object]:
    """Measure one system in a fresh interpreter; the result is the child's last JSON line."""
    cmd = [sys.executable, "-m", "benchmarks.memory", workload, str(size), s.name]
    env = {**os.environ, "PYTHONPATH": _root() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "note": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or [""])[-1]
        why = exit_reason(done.returncode)
        return {"status": "failed", "note": (f"{why}: {tail}" if tail else why)[:160]}
    return json.loads(lines[-1])


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rows(workload: str, size: int, systems: list[System], fast: bool) -> list[list[str]]:
    """Table rows: system, step working set, process peak, notes.

    ``fast`` (--quick) leaves out the peers: a fresh process per peer costs seconds of imports.
    """
    out = []
    for s in systems:
        if s.kind == FLOOR:
            continue
        if fast and s.kind == PEER:
            out.append([s.name, "-", "-", "SKIPPED: peers skipped in --quick (use --all-systems)"])
            continue
        r = run_child(workload, size, s, timeout=600)
        if r["status"] != "ok":
            out.append([s.name, "-", "-", f"{str(r['status']).upper()}: {r['note']}"])
            continue
        note = "" if r["method"] == "clear_refs" else f"method: {r['method']} (lower bound)"
        out.append([s.name, _mib(r["step_kib"]), _mib(r["peak_kib"]), note])
    return out


def _mib(kib: object) -> str:
    return f"{int(kib) / 1024:.1f} MiB"  # type: ignore[call-overload]


if __name__ == "__main__":
    result = child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    print(json.dumps(result))
