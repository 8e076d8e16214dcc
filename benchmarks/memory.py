"""Peak memory of W1's step per system, each measured alone in a fresh process.

tracemalloc cannot see memory that PyTorch, JAX or generated code allocate, so the child process
reads the kernel's counters (/proc/self/status) instead. Every system starts cold: its process
gets fresh, empty compilation caches (GRAPHC_CACHE_DIR, JAX's persistent cache, Inductor's cache
dir, PyTensor's compiledir), so no figure depends on what an earlier run left on disk.

1. import the system's libraries, then take the resident set (VmRSS) as the baseline, so the
   size of a framework's import is not charged to it;
2. build the system and run 3 warm-up steps: the high-water mark (VmHWM) above the baseline is
   the compile peak (graph building, compilation with a cold cache, first calls);
3. take the resident set again (what stays after warm-up: parameters, compiled code, caches),
   reset VmHWM to it (writing 5 to /proc/self/clear_refs) and run 10 timed steps: VmHWM above
   that resident set is the step peak, the memory the steps themselves need on top of what is
   already there (activations, gradients, temporaries).

Where clear_refs is refused the step peak cannot be isolated (getrusage's ru_maxrss cannot be
reset) and the table says so instead of giving a number.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import FLOOR, PEER, REFERENCE_COST, Skip, System, exit_reason

METHOD = ("fresh process per system with empty compilation caches; baseline = RSS after "
          "importing the system's libraries; compile peak = peak RSS over build, compile and 3 "
          "warm-up steps, minus the baseline; resident = RSS after warm-up, minus the baseline; "
          "step peak = peak RSS over 10 timed steps (VmHWM reset via /proc/self/clear_refs) minus "
          "the RSS just before them; process peak = VmHWM of the whole process")
STEPS = 10
# Libraries imported before the baseline is taken, by system name.
IMPORTS: dict[str, tuple[str, ...]] = {
    "graphc numpy": ("graphc",),
    "graphc llvm": ("graphc", "llvmlite.binding"),
    "PyTorch eager": ("torch",),
    "torch.compile": ("torch", "torch._inductor"),
    "JAX jit": ("jax",),
    "PyTensor numba": ("pytensor", "pytensor.tensor", "numba"),
}


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


def _hwm_kib() -> int:
    """The process's peak RSS so far (VmHWM, else ru_maxrss; both KiB on Linux)."""
    return _status().get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_kib() -> int:
    return _status().get("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(build: Callable[[], Callable[[], object]], base: int) -> dict[str, object]:
    """Build, warm up, reset the high-water mark, run STEPS steps; KiB figures above ``base``."""
    step = build()
    for _ in range(3):
        step()
    build_peak = _hwm_kib()
    before = _rss_kib()
    method = "clear_refs" if _reset_hwm() else "maxrss"
    for _ in range(STEPS):
        step()
    step_kib = _hwm_kib() - before if method == "clear_refs" else None
    return {"step_kib": step_kib, "build_kib": build_peak - base, "resident_kib": before - base,
            "method": method, "peak_kib": max(_hwm_kib(), build_peak)}


def child(workload: str, size: int, name: str) -> dict[str, object]:
    """Build one system of W1 at batch ``size`` in this process and measure it."""
    from benchmarks import w1_mlp

    if workload != "W1":
        raise SystemExit(f"memory: unknown workload {workload!r}")
    chosen = {s.name: s for s in w1_mlp.systems(size)}[name]
    try:
        for module in IMPORTS.get(name, ()):
            importlib.import_module(module)
    except ImportError:
        pass  # the build raises Skip with the reason
    try:
        return {"status": "ok", **measure(chosen.build, _rss_kib())}
    except Skip as exc:
        return {"status": "skipped", "note": str(exc)}
    except Exception as exc:
        return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:160]}


def run_child(workload: str, size: int, s: System, timeout: float) -> dict[str, object]:
    """Measure one system in a fresh interpreter; the result is the child's last JSON line."""
    cmd = [sys.executable, "-m", "benchmarks.memory", workload, str(size), s.name]
    with tempfile.TemporaryDirectory(prefix="graphc-m1-") as caches:
        env = {**os.environ, **cold_caches(Path(caches)),
               "PYTHONPATH": _root() + os.pathsep + os.environ.get("PYTHONPATH", "")}
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


def cold_caches(root: Path) -> dict[str, str]:
    """Every system's compilation cache in (empty) directories under ``root``."""
    from benchmarks.w4_latency import cache_env

    return {**cache_env(root), "PYTENSOR_FLAGS": f"compiledir={root / 'pytensor'}"}


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


COLUMNS = ["system", "compile peak (cold)", "step peak (timed steps)", "resident after warm-up",
           "process peak", "notes"]


def rows(workload: str, size: int, systems: list[System], fast: bool) -> list[list[str]]:
    """Table rows (COLUMNS). ``fast`` (--quick) leaves out the peers: their imports take seconds."""
    out = []
    for s in systems:
        if s.kind in (FLOOR, REFERENCE_COST):
            continue
        if fast and s.kind == PEER:
            out.append([s.name, "-", "-", "-", "-", "SKIPPED: peers skipped in --quick "
                        "(use --all-systems)"])
            continue
        r = run_child(workload, size, s, timeout=900)
        if r["status"] != "ok":
            out.append([s.name, "-", "-", "-", "-", f"{str(r['status']).upper()}: {r['note']}"])
            continue
        note = "" if r["method"] == "clear_refs" else "no clear_refs: the step peak is unknown"
        out.append([s.name, _mib(r["build_kib"]), _mib(r["step_kib"]), _mib(r["resident_kib"]),
                    _mib(r["peak_kib"]), note])
    return out


def _mib(kib: object) -> str:
    return "-" if kib is None else f"{int(kib) / 1024:.1f} MiB"  # type: ignore[call-overload]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
