"""The per-call thread-count chooser: follows whichever setting is faster, probes rarely when
the choice is clear, and never changes results."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import adaptive
from graphc.backends.llvm.adaptive import WorkerChooser


def _drive(chooser: WorkerChooser, cost: dict[int, float], calls: int) -> list[int]:
    """Make ``calls`` calls whose time depends only on the thread count; the counts used."""
    used = []
    for _ in range(calls):
        w = chooser.workers
        used.append(w)
        chooser.record(cost[w])
    return used


def test_switches_to_one_thread_when_that_is_faster() -> None:
    chooser = WorkerChooser(2)
    first_probe = adaptive.MIN_PERIOD
    used = _drive(chooser, {2: 0.7e-3, 1: 0.4e-3}, first_probe + adaptive.SETTLE + adaptive.PROBE)
    assert used[:first_probe] == [2] * first_probe
    assert set(used[first_probe:]) == {1}  # the probe ran on one thread
    assert chooser.workers == 1 and chooser.switches == 1


def test_switches_back_when_the_other_cpu_returns() -> None:
    chooser = WorkerChooser(2)
    _drive(chooser, {2: 0.7e-3, 1: 0.4e-3}, 200)
    assert chooser.workers == 1
    _drive(chooser, {2: 0.3e-3, 1: 0.4e-3}, 200)
    assert chooser.workers == 2 and chooser.switches == 2


def test_a_clear_winner_is_probed_ever_more_rarely() -> None:
    chooser = WorkerChooser(2)
    used = _drive(chooser, {2: 0.3e-3, 1: 0.4e-3}, 100_000)
    assert chooser.switches == 0 and chooser.period == adaptive.MAX_PERIOD
    assert used.count(1) < 0.01 * len(used)  # probes cost under 1% of the calls
    assert used.count(1) % (adaptive.SETTLE + adaptive.PROBE) == 0  # whole probes only


def test_slow_first_calls_of_a_probe_are_not_held_against_it() -> None:
    chooser = WorkerChooser(2)
    _drive(chooser, {2: 0.7e-3, 1: 0.4e-3}, adaptive.MIN_PERIOD)
    for _ in range(adaptive.SETTLE):  # helpers waking up: the probe's first calls are slow
        chooser.record(5e-3)
    _drive(chooser, {2: 0.7e-3, 1: 0.4e-3}, adaptive.PROBE)
    assert chooser.workers == 1


def test_a_near_tie_keeps_the_current_setting() -> None:
    chooser = WorkerChooser(2)
    _drive(chooser, {2: 1.0e-3, 1: 0.99e-3}, 10_000)  # 1% apart: inside the margin
    assert chooser.switches == 0 and chooser.workers == 2


def _step(**options: object) -> gc.Function:
    rng = np.random.default_rng(3)
    with gc.Graph("adaptive"):
        x = gc.placeholder("x", ("B", 256))
        w = gc.parameter("w", rng.normal(0, 0.05, (256, 512)).astype(np.float32))
        loss = gc.mean(gc.relu(x @ w))
        (g,) = gc.grad(loss, [w])
        return gc.function([x], loss, updates=[(w, w - 0.1 * g)], backend="llvm", **options)


def _chooser(fn: gc.Function) -> WorkerChooser | None:
    (variant,) = fn.executable.variants.values()
    return variant.chooser


def test_default_threads_adapt_and_pinned_threads_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHC_THREADS", raising=False)
    monkeypatch.setattr(
        "graphc.backends.llvm.executable.default_threads", lambda: 2
    )
    x = np.ones((128, 256), np.float32)
    default, pinned = _step(), _step(threads=2)
    default(x)
    pinned(x)
    assert _chooser(default) is not None and _chooser(pinned) is None
    monkeypatch.setenv("GRAPHC_THREADS", "2")
    by_env = _step()
    by_env(x)
    assert _chooser(by_env) is None


def test_results_are_identical_whichever_count_the_chooser_picks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRAPHC_THREADS", raising=False)
    monkeypatch.setattr("graphc.backends.llvm.executable.default_threads", lambda: 2)
    x = np.random.default_rng(4).normal(size=(128, 256)).astype(np.float32)
    runs = []
    for workers in (2, 1):
        fn = _step()
        losses = [float(fn(x))]
        chooser = _chooser(fn)
        assert chooser is not None
        chooser.settings = (workers, workers)  # force every call onto this count
        losses += [float(fn(x)) for _ in range(5)]
        runs.append(losses)
    assert runs[0] == runs[1]
