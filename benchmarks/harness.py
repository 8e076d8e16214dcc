"""The timing harness: systems, interleaved round-robin timing, correctness probes."""

from __future__ import annotations

import gc
import random
import signal
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Kinds of rows. Ratios are taken against the fastest "peer" and against the "floor".
GRAPHC, PEER, BASELINE, FLOOR = "graphc", "peer", "baseline", "floor"


class Skip(Exception):  # noqa: N818  (a signal to skip, not an error)
    """Raised by a system's build when it cannot run here (not installed, feature missing)."""


@dataclass
class System:
    """One contender in a workload: build() returns the callable that is timed."""

    name: str
    kind: str
    build: Callable[[], Callable[[], Any]]
    note: str = ""
    slow_compile: bool = False  # skipped in --quick unless --all-systems
    native: bool = False  # runs generated machine code: dropped if the workload's process dies


@dataclass
class Settings:
    """How hard to measure: warm-up calls, minimum timed runs, time budget per system."""

    warmup: int = 3
    min_runs: int = 30
    max_time: float = 2.0
    min_runs_when_slow: int = 5
    quick: bool = False
    all_systems: bool = False


@dataclass
class Row:
    """The outcome for one system: timings (seconds) or the reason it has none."""

    system: str
    kind: str
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    times: list[float] = field(default_factory=list)
    check: str = "n/a"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


@dataclass
class Workload:
    """A set of systems timed together; probe() turns first results into a comparable array."""

    title: str
    systems: list[System]
    probe: Callable[[Callable[[], Any]], np.ndarray]
    compare: Callable[[np.ndarray, np.ndarray], str]
    reference: str | np.ndarray  # a system whose probe the others match, or the expected probe
    notes: list[str] = field(default_factory=list)


def exit_reason(code: int) -> str:
    """A child process's exit status in words (negative: killed by that signal)."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"crashed with {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:160]


def _prepare(w: Workload, s: System, cfg: Settings) -> tuple[Row, Callable | None, Any]:
    """Build one system and probe it; never raises (failures become rows)."""
    row = Row(s.name, s.kind, note=s.note)
    if s.slow_compile and cfg.quick and not cfg.all_systems:
        row.status, row.note = "skipped", "slow to compile; skipped in --quick"
        return row, None, None
    try:
        fn = s.build()
        if s.kind == FLOOR:
            fn()  # a floor has no result to check, but its first call may compile it
        probe = None if s.kind == FLOOR else w.probe(fn)
    except Skip as exc:
        row.status, row.note = "skipped", str(exc)
        return row, None, None
    except Exception as exc:  # a broken system is reported, never fatal to the run
        row.status, row.note = "failed", _reason(exc)
        if cfg.quick:
            traceback.print_exc()
        return row, None, None
    return row, fn, probe


def run_workload(w: Workload, cfg: Settings, log: Callable[[str], None] = print) -> list[Row]:
    """Build, check and time every system of ``w``, interleaved round-robin."""
    prepared = []
    for s in w.systems:
        log(f"  building {s.name} ...")
        prepared.append(_prepare(w, s, cfg))
    probes = {row.system: p for row, _, p in prepared if p is not None}
    ref = w.reference if isinstance(w.reference, np.ndarray) else probes.get(w.reference)
    for row, _, p in prepared:
        if p is not None:
            row.check = w.compare(p, ref) if ref is not None else "no reference"
    live = [(row, fn) for row, fn, _ in prepared if fn is not None]
    _time_interleaved(live, cfg)
    return [row for row, _, _ in prepared]


def _time_once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _done(row: Row, cfg: Settings) -> bool:
    enough_time = sum(row.times) >= cfg.max_time and len(row.times) >= cfg.min_runs_when_slow
    return len(row.times) >= cfg.min_runs or enough_time


def _time_interleaved(live: list[tuple[Row, Callable]], cfg: Settings) -> None:
    """Warm up, then run rounds of one call per system in shuffled order until all are done.

    Every system stays in every round until the last one is done, so drift of the machine (other
    processes, frequency) hits all systems alike; the order is shuffled per round so no system
    always runs right after the same neighbour.
    """
    for _row, fn in live:
        for _ in range(cfg.warmup):
            fn()
    gc.collect()
    order = list(range(len(live)))
    rng = random.Random(0)
    while live and not all(_done(row, cfg) for row, _ in live):
        rng.shuffle(order)
        for i in order:
            row, fn = live[i]
            try:
                row.times.append(_time_once(fn))
            except Exception as exc:
                row.status, row.note, row.times = "failed", _reason(exc), []
                live.pop(i)
                order = list(range(len(live)))
                break


def loss_probe(steps: int = 3) -> Callable[[Callable[[], Any]], np.ndarray]:
    """A probe for training steps: the losses of the first ``steps`` calls, as float64."""

    def probe(fn: Callable[[], Any]) -> np.ndarray:
        return np.array([float(np.asarray(fn())) for _ in range(steps)], dtype=np.float64)

    return probe


def rel_compare(tol: float) -> Callable[[np.ndarray, np.ndarray], str]:
    """Compare probes by the largest relative difference; ``ok`` within ``tol``."""

    def compare(got: np.ndarray, ref: np.ndarray) -> str:
        if got.shape != ref.shape:
            return f"MISMATCH shape {got.shape} vs {ref.shape}"
        if not np.all(np.isfinite(got)):
            return "MISMATCH (non-finite)"
        err = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12)))
        return f"{'ok' if err <= tol else 'MISMATCH'} ({err:.0e})"

    return compare
