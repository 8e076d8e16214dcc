"""benchmarks.sandbox: one worker process per system, the others stopped while one is timed.

The toy workload below is served by this very file run as a script (``python thisfile SYSTEM
SETTINGS``), so its systems can crash their worker without a test-only entry in the benchmark
package. Nothing here asserts how fast anything is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import sandbox, w1_mlp
from benchmarks.harness import (
    BASELINE,
    PEER,
    REFERENCE_COST,
    Row,
    Settings,
    Skip,
    System,
    Workload,
    block_size,
    rel_compare,
)

ROOT = Path(__file__).resolve().parent.parent
STAMPS = "GRAPHC_TEST_SANDBOX_STAMPS"  # a file the spinner and the sleeper write to


def _stamp(text: str) -> None:
    fd = os.open(os.environ[STAMPS], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{text}\n".encode())
    finally:
        os.close(fd)


def _fails_on_call(n: int, fail: Callable[[], None]) -> Callable[[], Callable[[], float]]:
    """A build whose step returns 2.0 until its n-th call, which runs ``fail``."""

    def build() -> Callable[[], float]:
        calls = [0]

        def step() -> float:
            calls[0] += 1
            if calls[0] >= n:
                fail()
            return 2.0

        return step

    return build


def _raise(exc: BaseException) -> Callable[[], Any]:
    def fn() -> Any:
        raise exc

    return fn


def _spinner() -> Callable[[], float]:
    """A system that leaves a thread running after its build, as BLAS and OpenMP pools do."""

    def spin() -> None:
        while True:
            _stamp(f"spin {time.monotonic()}")
            time.sleep(0.001)

    threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.05)  # some stamps before the worker is first stopped
    return lambda: 1.0


def _sleeper() -> float:
    t0 = time.monotonic()
    time.sleep(0.01)
    _stamp(f"call {t0} {time.monotonic()}")
    return 1.0


SYSTEMS = {
    "ref": System("ref", BASELINE, lambda: lambda: 2.0),
    "same": System("same", PEER, lambda: lambda: 2.0),
    "wrong": System("wrong", PEER, lambda: lambda: 3.0),
    "broken": System("broken", PEER, lambda: _raise(ValueError("kaput"))),
    "absent": System("absent", PEER, _raise(Skip("not here"))),
    "floor": System("floor", REFERENCE_COST, lambda: lambda: None),
    "aborts in build": System("aborts in build", PEER, os.abort),
    "aborts when timed": System("aborts when timed", PEER, _fails_on_call(3, os.abort)),
    "raises when timed": System("raises when timed", PEER,
                                _fails_on_call(3, _raise(RuntimeError("late")))),
    "spinner": System("spinner", PEER, _spinner),
    "sleeper": System("sleeper", PEER, lambda: _sleeper),
}


def toy_workload(names: list[str] | None = None) -> Workload:
    systems = [SYSTEMS[n] for n in names or SYSTEMS]
    return Workload("toy", systems, lambda fn: np.array([float(fn())]), rel_compare(1e-6), "ref")


def _argv(cfg: Settings) -> Callable[[str], list[str]]:
    settings = json.dumps(dataclasses.asdict(cfg))
    return lambda name: [sys.executable, __file__, name, settings]


def _run(names: list[str], cfg: Settings, log: Callable[[str], None] = lambda _: None
         ) -> dict[str, Row]:
    rows = sandbox.run_workers(toy_workload(names), cfg, _argv(cfg), log)
    assert [r.system for r in rows] == names
    return {r.system: r for r in rows}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen]:
    """Every worker process that run_workers starts."""
    procs: list[subprocess.Popen] = []
    init = sandbox.Worker.__init__

    def spy(self: sandbox.Worker, row: Row, argv: list[str]) -> None:
        init(self, row, argv)
        procs.append(self.proc)

    monkeypatch.setattr(sandbox.Worker, "__init__", spy)
    return procs


def _gone(procs: list[subprocess.Popen]) -> bool:
    """True if every worker was reaped and nothing of its process group is left."""
    for p in procs:
        if p.returncode is None:
            return False
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def test_a_crashing_worker_fails_only_its_own_row(started: list[subprocess.Popen]) -> None:
    names = ["ref", "same", "wrong", "broken", "absent", "floor", "aborts in build",
             "aborts when timed", "raises when timed"]
    rows = _run(names, Settings(warmup=1, min_runs=6, block=2, block_warmup=0))
    for name in ("ref", "same", "floor"):
        assert rows[name].status == "ok" and len(rows[name].times) >= 6, rows[name]
    assert rows["same"].check.startswith("ok") and rows["ref"].check.startswith("ok")
    assert rows["wrong"].check.startswith("MISMATCH") and rows["wrong"].times
    assert rows["floor"].check == "n/a"
    assert rows["broken"].status == "failed" and "kaput" in rows["broken"].note
    assert rows["absent"].status == "skipped" and rows["absent"].note == "not here"
    for name in ("aborts in build", "aborts when timed"):
        assert rows[name].status == "failed", rows[name]
        assert rows[name].note == "its process crashed with SIGABRT" and not rows[name].times
    late = rows["raises when timed"]
    assert late.status == "failed" and late.note == "RuntimeError: late" and not late.times
    assert len(started) == len(names) and _gone(started)


def test_other_workers_are_stopped_while_one_is_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[subprocess.Popen],
) -> None:
    stamps = tmp_path / "stamps"
    monkeypatch.setenv(STAMPS, str(stamps))
    rows = _run(["spinner", "sleeper"], Settings(warmup=1, min_runs=6, block=3))
    assert all(r.status == "ok" for r in rows.values()), rows
    lines = [ln.split() for ln in stamps.read_text().splitlines()]
    spins = [float(ln[1]) for ln in lines if ln[0] == "spin"]
    calls = [(float(ln[1]), float(ln[2])) for ln in lines if ln[0] == "call"]
    assert spins and len(calls) >= 6
    during = [t for t in spins if any(t0 < t < t1 for t0, t1 in calls)]
    assert not during, f"{len(during)} of the spinner's stamps fall in the sleeper's calls"
    assert _gone(started)


def test_workers_are_killed_when_the_parent_fails(started: list[subprocess.Popen]) -> None:
    def log(msg: str) -> None:
        if "same" in msg:  # the reference's worker is built and stopped by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(["ref", "same"], Settings(), log)
    assert len(started) == 1 and _gone(started)


def test_w1_quick_through_workers() -> None:
    cfg = Settings(warmup=0, min_runs=1, max_time=0.0, min_runs_when_slow=1, quick=True,
                   block_warmup=0)
    w = w1_mlp.workloads(True)[0]
    w.systems = [s for s in w.systems if s.name in (w1_mlp.REFERENCE, "graphc numpy")]
    rows = sandbox.run_isolated(w, "benchmarks.w1_mlp", 0, cfg, lambda _: None)
    for r in rows:
        assert r.status == "ok" and r.check.startswith("ok") and len(r.times) == 1, r


def test_worker_refuses_modules_outside_the_list() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sandbox", "os", "0", "x", "{}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode != 0 and "unknown workload module 'os'" in done.stderr
    assert done.stdout == ""


def test_block_size_follows_the_budget() -> None:
    cfg = Settings(min_runs=30, max_time=2.0, min_runs_when_slow=5, block=5)

    def row(*times: float) -> Row:
        return Row("s", PEER, times=list(times))

    assert block_size(row(), cfg) == 5
    assert block_size(row(*[1e-3] * 28), cfg) == 2  # two runs short of min_runs
    assert block_size(row(*[0.3] * 5), cfg) == 2  # 0.5 s of the budget left: 2 calls
    assert block_size(row(*[1.0] * 3), cfg) == 2  # over budget, but 5 runs at least
    assert block_size(row(*[1e-3] * 40), cfg) == 1  # done: one call per round


if __name__ == "__main__":  # a worker for the toy workload
    sandbox.serve(toy_workload, sys.argv[1], Settings(**json.loads(sys.argv[2])))
