"""The timing harness: systems, timing in rounds, correctness probes.

``run_workload`` times every system in this process, one call each per round (``--in-process``);
``benchmarks.sandbox`` gives each system its own process and times it in blocks of calls.
"""

from __future__ import annotations

import gc
import math
import random
import signal
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Kinds of rows. Ratios are taken against the fastest "peer" and against the "floor". A floor
# is a lower bound computed from the machine's measured peaks (benchmarks/machine.py), never
# timed code; timed code that only does part of the work is a "reference cost".
GRAPHC, PEER, BASELINE, FLOOR = "graphc", "peer", "baseline", "floor"
REFERENCE_COST = "reference cost"


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


@dataclass
class Settings:
    """How hard to measure: warm-up calls, minimum timed runs, time budget per system.

    ``block`` and ``block_warmup`` only apply to per-system processes (benchmarks.sandbox): a
    system is timed ``block`` calls at a time, each block after ``block_warmup`` seconds of
    untimed calls (the first block also after at least ``warmup`` calls). Blocks measure the
    steady state of a loop: after any pause (another system's block, a garbage collection)
    caches are cold and thread pools asleep, and JAX's MLP step at batch 128 stays near 2.2 ms
    instead of 1.4 for its next 20-40 calls.
    """

    warmup: int = 3
    min_runs: int = 100
    max_time: float = 2.0
    min_runs_when_slow: int = 5
    quick: bool = False
    all_systems: bool = False
    block: int = 10
    block_warmup: float = 0.1


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
    # the lower bound on one call from the machine's peaks: (seconds, how it was computed)
    floor: Callable[[], tuple[float, str]] | None = None


def floor_row(w: Workload) -> Row | None:
    """The workload's computed floor as a row (one "time": the bound), or None."""
    if w.floor is None:
        return None
    seconds, how = w.floor()
    return Row("floor: machine peak", FLOOR, note=how, times=[seconds])


def exit_reason(code: int) -> str:
    """A child process's exit status in words (negative: killed by that signal)."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"crashed with {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def reason(exc: BaseException) -> str:
    """An exception in one short line, for a row's note."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:160]


def skipped_in_quick(s: System, cfg: Settings) -> Row | None:
    """The row of a system that --quick leaves out (slow to compile), else None."""
    if s.slow_compile and cfg.quick and not cfg.all_systems:
        return Row(s.name, s.kind, "skipped", "slow to compile; skipped in --quick")
    return None


def prepare(w: Workload, s: System, cfg: Settings) -> tuple[Row, Callable | None, Any]:
    """Build one system and probe it; never raises (failures become rows)."""
    row = Row(s.name, s.kind, note=s.note)
    skipped = skipped_in_quick(s, cfg)
    if skipped is not None:
        return skipped, None, None
    try:
        fn = s.build()
        if s.kind == REFERENCE_COST:
            fn()  # a reference cost has no result to check, but its first call may compile it
        probe = None if s.kind == REFERENCE_COST else w.probe(fn)
    except Skip as exc:
        row.status, row.note = "skipped", str(exc)
        return row, None, None
    except Exception as exc:  # a broken system is reported, never fatal to the run
        row.status, row.note = "failed", reason(exc)
        if cfg.quick:
            traceback.print_exc()
        return row, None, None
    return row, fn, probe


def check(w: Workload, probes: dict[str, np.ndarray], rows: list[Row]) -> None:
    """Set the check of each row in ``probes``: its probe compared with the reference's."""
    ref = w.reference if isinstance(w.reference, np.ndarray) else probes.get(w.reference)
    for row in rows:
        if row.system in probes:
            row.check = w.compare(probes[row.system], ref) if ref is not None else "no reference"


def run_workload(w: Workload, cfg: Settings, log: Callable[[str], None] = print) -> list[Row]:
    """Build, check and time every system of ``w``, interleaved round-robin."""
    prepared = []
    for s in w.systems:
        log(f"  building {s.name} ...")
        prepared.append(prepare(w, s, cfg))
    rows = [row for row, _, _ in prepared]
    check(w, {row.system: p for row, _, p in prepared if p is not None}, rows)
    _time_interleaved([(row, fn) for row, fn, _ in prepared if fn is not None], cfg)
    return rows


def _time_once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_block(fn: Callable[[], Any], warm: int, warm_s: float, n: int) -> list[float]:
    """A garbage collection, untimed calls (``warm`` of them and ``warm_s`` seconds' worth), then
    the wall times of ``n`` calls. The collection comes first, so the warm-up undoes its cost."""
    gc.collect()
    calls, end = 0, time.perf_counter() + warm_s
    while calls < warm or time.perf_counter() < end:
        fn()
        calls += 1
    return [_time_once(fn) for _ in range(n)]


def done(row: Row, cfg: Settings) -> bool:
    """True once a system has ``min_runs`` times, or ``max_time`` seconds of (enough) times."""
    enough_time = sum(row.times) >= cfg.max_time and len(row.times) >= cfg.min_runs_when_slow
    return len(row.times) >= cfg.min_runs or enough_time


def block_size(row: Row, cfg: Settings) -> int:
    """Timed calls in a system's next block: ``cfg.block``, or fewer if it needs fewer to be done.

    A system that is already done (waiting for the others) gets blocks of one call.
    """
    left, spent = cfg.min_runs - len(row.times), sum(row.times)
    if spent > 0 and cfg.max_time > 0:
        by_time = math.ceil((cfg.max_time - spent) / (spent / len(row.times)))
        left = min(left, max(by_time, cfg.min_runs_when_slow - len(row.times)))
    return max(1, min(cfg.block, left))


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
    while live and not all(done(row, cfg) for row, _ in live):
        rng.shuffle(order)
        for i in order:
            row, fn = live[i]
            try:
                row.times.append(_time_once(fn))
            except Exception as exc:
                row.status, row.note, row.times = "failed", reason(exc), []
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


def output_probe(fn: Callable[[], Any]) -> np.ndarray:
    """A probe for forward passes: the first call's output, as float64."""
    return np.asarray(fn(), dtype=np.float64)


def abs_compare(tol: float) -> Callable[[np.ndarray, np.ndarray], str]:
    """Compare probes by the largest absolute difference; ``ok`` within ``tol``."""

    def compare(got: np.ndarray, ref: np.ndarray) -> str:
        if got.shape != ref.shape or not np.all(np.isfinite(got)):
            return f"MISMATCH ({list(got.shape)})"
        err = float(np.max(np.abs(got - ref)))
        return f"{'ok' if err <= tol else 'MISMATCH'} ({err:.0e})"

    return compare
