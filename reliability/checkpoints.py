"""Checkpoints: kill (SIGKILL) a process that saves in a loop, at random moments.

After each kill the file must load with gc.load and hold one complete state (every value of
every parameter the same k); leftover temporary files beside it are counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import graphc as gc
from reliability.checkpoint_child import params
from reliability.figures import Figures

READY_TIMEOUT_S = 120.0


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def kill_once(path: Path, rng: np.random.Generator) -> str | None:
    """Start a saver, kill it at a random moment after its first save; None if it was ready."""
    proc = subprocess.Popen([sys.executable, "-m", "reliability.checkpoint_child", str(path)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _readline(proc)
        if line != "ready":
            err = proc.stderr.read()[-300:] if proc.stderr else ""
            return f"saver did not start: {line!r} {err}"
        time.sleep(float(rng.uniform(0.0, 0.3)))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    return None


def _readline(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            return line.strip()
    return "(timeout)"


def check_file(path: Path) -> tuple[int | None, str | None]:
    """(state k, None) when the file loads and holds one state; (None, problem) otherwise."""
    ps = params()
    try:
        gc.load(path, ps)
    except gc.GraphcError as e:
        return None, f"does not load: {e}"
    except Exception as e:  # noqa: BLE001  (a raw exception is a finding too)
        return None, f"raw {type(e).__name__}: {e}"
    states = {float(v) for p in ps for v in np.unique(p.value)}
    if len(states) != 1:
        return None, f"mixed states {sorted(states)[:5]}"
    return int(states.pop()), None


def run(seed: int, count: int | None = None) -> Figures:
    """``count`` kills (default 50) of savers writing one checkpoint path."""
    count = 50 if count is None else count
    figs = Figures("checkpoint", "gc.save killed (SIGKILL) at random moments: file loads and "
                   "is one complete state", seed=seed)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    states: list[int] = []
    with tempfile.TemporaryDirectory(prefix="graphc-ckpt-") as tmp:
        path = Path(tmp) / "ckpt.npz"
        for i in range(count):
            problem = kill_once(path, rng)
            k, bad = check_file(path) if problem is None else (None, problem)
            if bad:
                figs.fail(f"kill {i}: {bad}")
            elif k is not None:
                states.append(k)
        leftovers = [p.name for p in Path(tmp).iterdir() if p.name != path.name]
    figs.cases = count
    figs.details = {"kills": count, "loaded": len(states),
                    "states (min/median/max)": _spread(states),
                    "leftover tmp files": len(leftovers)}
    figs.seconds = time.perf_counter() - start
    return figs


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{min(values)}/{int(np.median(values))}/{max(values)}"
