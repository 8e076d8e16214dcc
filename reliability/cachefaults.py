"""Compile-cache faults: damage each file of a warm llvm cache, and fill one cache from two
processes at once. Every process must print the right result (cache_child), never crash.

Each run is its own process (a process keeps entries in memory), pointed at the cache with
GRAPHC_CACHE_DIR. Running as root, processes run without the capabilities that bypass file
permissions (setpriv), so a chmod 000 file really is unreadable.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reliability.figures import Figures

TIMEOUT_S = 300.0


def _flip(path: Path, rng: np.random.Generator) -> None:
    data = bytearray(path.read_bytes())
    i = int(rng.integers(len(data)))
    data[i] ^= 1 << int(rng.integers(8))
    path.write_bytes(bytes(data))


def _truncate(path: Path, rng: np.random.Generator) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(rng.integers(1, max(2, len(data))))])


def _empty(path: Path, rng: np.random.Generator) -> None:
    path.write_bytes(b"")


def _directory(path: Path, rng: np.random.Generator) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")


def _symlink_other(path: Path, rng: np.random.Generator) -> None:
    others = sorted(p for p in path.parent.iterdir() if p != path and p.is_file())
    target = others[int(rng.integers(len(others)))] if others else Path("/nonexistent")
    path.unlink()
    path.symlink_to(target)


def _symlink_dangling(path: Path, rng: np.random.Generator) -> None:
    path.unlink()
    path.symlink_to(path.parent / "no-such-entry")


def _symlink_loop(path: Path, rng: np.random.Generator) -> None:
    path.unlink()
    path.symlink_to(path.name)


def _unreadable(path: Path, rng: np.random.Generator) -> None:
    path.chmod(0)


def _dir_is_file(path: Path, rng: np.random.Generator) -> None:
    shutil.rmtree(path)
    path.write_bytes(b"not a directory")


def _dir_read_only(path: Path, rng: np.random.Generator) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IXUSR)


FAULTS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "flip": _flip, "truncate": _truncate, "empty": _empty, "directory": _directory,
    "symlink-other": _symlink_other, "symlink-dangling": _symlink_dangling,
    "symlink-loop": _symlink_loop, "unreadable": _unreadable,
}
# faults of the cache directory itself (GRAPHC_CACHE_DIR names a file, or a read-only dir)
DIR_FAULTS: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "dir-is-file": _dir_is_file, "dir-read-only": _dir_read_only,
}
DIR = "."  # the file name that stands for the directory in a fault case


def _command() -> list[str]:
    cmd = [sys.executable, "-m", "reliability.cache_child"]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    return cmd


def _env(cache: Path) -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "GRAPHC_CACHE_DIR": str(cache), "GRAPHC_CACHE": "1", "PYTHONPATH": path}


def start(cache: Path) -> subprocess.Popen:
    """A cache_child process on ``cache``."""
    return subprocess.Popen(_command(), env=_env(cache), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def outcome(proc: subprocess.Popen) -> str | None:
    """None when the process printed ok and exited 0; otherwise what happened."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return f"no answer within {TIMEOUT_S:g} s"
    if proc.returncode == 0 and out.strip() == "ok":
        return None
    tail = (err.strip().splitlines() or [""])[-1]
    return f"exit {proc.returncode}: {out.strip()} {tail}"


def _entries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def fault_cases(warm: Path, rng: np.random.Generator, sample: int | None) -> list[tuple[str, str]]:
    """(file name, fault) for every file of the warm cache and every fault, or ``sample`` of
    them drawn at random."""
    every = [(name, f) for name in _entries(warm) for f in FAULTS]
    every += [(DIR, f) for f in DIR_FAULTS]
    if sample is None or sample >= len(every):
        return every
    return [every[int(i)] for i in sorted(rng.choice(len(every), sample, replace=False))]


def run_fault(warm: Path, work: Path, name: str, fault: str, rng: np.random.Generator) -> list[str]:
    """Damage ``name`` in a copy of the warm cache; two processes in turn must be right."""
    cache = work / f"{name}.{fault}"
    shutil.copytree(warm, cache, symlinks=True)
    {**FAULTS, **DIR_FAULTS}[fault](cache / name, rng)
    problems = []
    for attempt in ("damaged", "after rewrite"):
        problem = outcome(start(cache))
        if problem:
            problems.append(f"{fault} {name[:12]}.. ({attempt}): {problem}")
    _remove(cache)
    return problems


def run_race(work: Path, index: int) -> list[str]:
    """Two processes fill an empty cache at once; then a third reads it."""
    cache = work / f"race{index}"
    procs = [start(cache), start(cache)]
    problems = [f"race {index} process {i}: {p}" for i, p in
                enumerate(outcome(proc) for proc in procs) if p]
    after = outcome(start(cache))
    if after:
        problems.append(f"race {index} reader: {after}")
    _remove(cache)
    return problems


def _remove(path: Path) -> None:
    if not path.is_dir():
        path.unlink()
        return
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(stat.S_IRWXU)
    shutil.rmtree(path)


def run(seed: int, count: int | None = None, sample: int | None = None) -> Figures:
    """Every fault on every file of a warm cache (or ``sample`` of them), then ``count`` races."""
    races = 3 if count is None else count
    figs = Figures("cache", "llvm compile cache: each file flipped, truncated, emptied, made a "
                   "directory/symlink/unreadable; concurrent fills", seed=seed)
    start_t = time.perf_counter()
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="graphc-cachefaults-") as tmp:
        work, warm = Path(tmp), Path(tmp) / "warm"
        problem = outcome(start(warm))
        if problem:
            figs.fail(f"filling the cache: {problem}")
        cases = fault_cases(warm, rng, sample)
        for name, fault in cases:
            for p in run_fault(warm, work, name, fault, rng):
                figs.fail(p)
        for i in range(races):
            for p in run_race(work, i):
                figs.fail(p)
        figs.details = {"cache files": len(_entries(warm)), "faults": len(cases),
                        "races": races, "processes": 1 + 2 * len(cases) + 3 * races}
    figs.cases = len(cases) + races
    figs.seconds = time.perf_counter() - start_t
    return figs
