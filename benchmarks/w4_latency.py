"""W4: first-call latency of W1's step (build + compile + first run), each in a fresh process.

"cold" runs with an empty cache directory, "warm" with the directory a previous process filled:
GRAPHC_CACHE_DIR for graphc, the persistent compilation cache for JAX, the Inductor/AOTAutograd
caches (TORCHINDUCTOR_CACHE_DIR) for torch.compile.

The children import graphc from a byte-compiled copy, as pip installs it: the peers' .pyc files
came with their install, and graphc's must not be compiled from source in every fresh process
(which PYTHONDONTWRITEBYTECODE, set in some environments, would do to the checkout's).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Settings, exit_reason
from benchmarks.report import Section, fmt_time

BATCH = 128
REPO = Path(__file__).resolve().parent.parent
# (system, module whose import is timed separately, is a peer: skipped in --quick)
SYSTEMS = [
    ("graphc numpy", "graphc", False),
    ("graphc llvm", "graphc", False),
    ("JAX jit", "jax", True),
    ("torch.compile", "torch", True),
]


def cache_env(root: Path) -> dict[str, str]:
    """Environment pointing every system's compilation cache into ``root``."""
    return {
        "GRAPHC_CACHE_DIR": str(root / "graphc"),
        "JAX_COMPILATION_CACHE_DIR": str(root / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "TORCHINDUCTOR_CACHE_DIR": str(root / "inductor"),
        "TORCHINDUCTOR_FX_GRAPH_CACHE": "1",
        "TORCHINDUCTOR_AUTOGRAD_CACHE": "1",
    }


def _builder(name: str) -> Callable:
    """The system's step builder, importing only its own module: that import is timed too
    (mlp_peers pulls in hostinfo and importlib.metadata, ~15 ms graphc's step must not pay)."""
    if name.startswith("graphc"):
        from benchmarks import graphc_steps

        backend = name.split()[1]
        return lambda i, x, y: graphc_steps.mlp_step(backend, i, x, y)
    from benchmarks import mlp_peers

    return {"JAX jit": mlp_peers.jax_mlp, "torch.compile": mlp_peers.torch_compiled}[name]


def child(name: str) -> dict[str, object]:
    """In a fresh process: time the import of the system, then build + compile + first step."""
    from benchmarks.harness import Skip
    from benchmarks.models import MLP_SIZES, batch, mlp_params

    module = dict((n, m) for n, m, _ in SYSTEMS)[name]
    init, (x, y) = mlp_params(), batch((BATCH, MLP_SIZES[0]))
    try:
        t0 = time.perf_counter()
        __import__(module)
        t1 = time.perf_counter()
        _builder(name)(init, x, y)()
        t2 = time.perf_counter()
    except Skip as exc:
        return {"status": "skipped", "note": str(exc)}
    except Exception as exc:
        return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:160]}
    return {"status": "ok", "import_s": t1 - t0, "first_s": t2 - t1}


def installed_copy(tmp: Path, src: Path = REPO) -> Path:
    """graphc (from checkout ``src``) and benchmarks copied into ``tmp`` and byte-compiled
    there, as pip installs them.

    Not PYTHONPYCACHEPREFIX: with it set, Python looks for .pyc files only under the prefix, so
    the peers' own .pyc files would be ignored and torch would import from source (3x slower).
    """
    site = tmp / "site"
    for root, pkg in ((src, "graphc"), (REPO, "benchmarks")):
        shutil.copytree(root / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(site / "graphc"),
                    str(site / "benchmarks")], check=True)
    return site


def run_child(args: str | list[str], root: Path, site: Path, timeout: float = 900,
              module: str = "benchmarks.w4_latency") -> dict[str, object]:
    """One fresh process (``python -m module *args``) importing from ``site``, caches in
    ``root``; adds its whole wall time (start to exit)."""
    env = {**os.environ, **cache_env(root),
           "PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    try:  # cwd: `-m` puts it first on sys.path, and the checkout must not shadow the copy
        argv = [args] if isinstance(args, str) else args
        done = subprocess.run([sys.executable, "-m", module, *argv], env=env,
                              cwd=site, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "note": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or [""])[-1]
        why = exit_reason(done.returncode)
        return {"status": "failed", "note": (f"{why}: {tail}" if tail else why)[:160]}
    return {**json.loads(lines[-1]), "wall_s": wall}


def _median(runs: list[dict[str, object]], key: str) -> float | None:
    vals = [float(r[key]) for r in runs if key in r]  # type: ignore[arg-type]
    return statistics.median(vals) if vals else None


def _measure(name: str, n_cold: int, n_warm: int, site: Path) -> list[list[str]]:
    """Cold runs each in a new cache dir; warm runs reuse the last cold run's dir."""
    with tempfile.TemporaryDirectory(prefix="graphc-bench-") as tmp:
        cold = [run_child(name, Path(tmp) / f"c{i}", site) for i in range(n_cold)]
        if cold[-1]["status"] != "ok":
            r = cold[-1]
            why = f"{str(r['status']).upper()}: {r['note']}"
            return [[name, "-", "-", "-", "-", "-", "-", why]]
        warm = [run_child(name, Path(tmp) / f"c{n_cold - 1}", site) for _ in range(n_warm)]
    return [_row(name, "cold", cold), _row(name, "warm", warm)]


def _row(name: str, cache: str, runs: list[dict[str, object]]) -> list[str]:
    ok = [r for r in runs if r["status"] == "ok"]
    bad = [r for r in runs if r["status"] != "ok"]
    note = f"{len(bad)} run(s) {bad[0]['status']}: {bad[0]['note']}" if bad else ""
    firsts = [float(r["first_s"]) for r in ok if "first_s" in r]  # type: ignore[arg-type]
    spread = f"{fmt_time(min(firsts))} - {fmt_time(max(firsts))}" if firsts else "-"
    return [name, cache, fmt_time(_median(ok, "first_s")), spread,
            fmt_time(_median(ok, "import_s")), fmt_time(_median(ok, "wall_s")), str(len(ok)), note]


COLD_RUNS, WARM_RUNS = 10, 10  # per system: enough runs for the medians to mean something


def sections(quick: bool, cfg: Settings, log: Callable[[str], None]) -> list[Section]:
    """The W4 table (quick: one cold and one warm run of graphc only)."""
    n_cold, n_warm = (1, 1) if quick else (COLD_RUNS, WARM_RUNS)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="graphc-bench-site-") as tmp:
        site = installed_copy(Path(tmp))
        for name, _, peer in SYSTEMS:
            if quick and peer and not cfg.all_systems:
                rows.append([name, "-", "-", "-", "-", "-", "0",
                             "SKIPPED: peers skipped in --quick (use --all-systems)"])
                continue
            log(f"W4 {name}")
            rows += _measure(name, n_cold, n_warm, site)
    notes = [f"W1's step at batch {BATCH}; each run a fresh process. first step = build the graph "
             "+ compile + the first call (what a user waits for after imports); import = importing "
             f"the system; process = interpreter start to exit. Medians over {COLD_RUNS} cold and "
             f"{WARM_RUNS} warm runs per system (--quick: 1 and 1). Caches: "
             "GRAPHC_CACHE_DIR, JAX's persistent compilation cache (min compile time 0), "
             "TORCHINDUCTOR_CACHE_DIR (FX graph + AOTAutograd caches), each in a temp directory. "
             "graphc byte-compiled first, as pip does on install (a copy of it, compiled with "
             "compileall, is what the runs import)."]
    columns = ["system", "cache", "first step", "first step min - max", "import", "process",
               "runs", "notes"]
    return [Section("W4: first-call latency of the MLP step", columns, rows, notes)]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
