"""The benchmark harness runs and writes its tables (never how fast anything is)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import report
from benchmarks.harness import (
    FLOOR,
    PEER,
    REFERENCE_COST,
    Settings,
    Skip,
    System,
    Workload,
    floor_row,
    rel_compare,
    run_workload,
)
from benchmarks.hostinfo import require

ROOT = Path(__file__).resolve().parent.parent
# CI's fixed share of the harness: the workloads whose --quick run takes seconds. W5 (cold
# compiles of deep models in fresh processes), W6 and W7 (long compiles of the LSTM and the
# encoder layer for every peer) run in `python -m benchmarks`, not in the test suite.
QUICK_SHARE = "W1,M1,W2,W3,W4,P1"
TITLES = ["W1: MLP", "M1: peak memory", "W2: CNN", "W3: sigmoid", "W4: first-call latency"]


def _table_rows(text: str, title: str) -> list[list[str]]:
    section = text.split(f"### {title}", 1)[1].split("\n### ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]  # skip header


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    out = tmp_path_factory.mktemp("bench") / "results.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", QUICK_SHARE, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, out.read_text(), out


def test_quick_run_writes_the_same_report_it_prints(quick_report: tuple[str, str, Path]) -> None:
    stdout, written, out = quick_report
    assert written == stdout
    assert written.startswith("# graphc benchmarks")
    assert [p.name for p in out.parent.iterdir()] == ["results.md"]  # no temp file left behind
    for title in TITLES:
        assert f"### {title}" in written


def test_header_names_host_and_versions(quick_report: tuple[str, str, Path]) -> None:
    text = quick_report[1]
    assert re.search(r"- host: .+, \d+ logical cores", text)
    assert "Python 3." in text and "numpy " in text and "torch " in text


def test_every_timing_row_has_a_time_or_a_reason(quick_report: tuple[str, str, Path]) -> None:
    text = quick_report[1]
    for title in ("W1: MLP", "W2: CNN", "W3: sigmoid"):
        rows = _table_rows(text, title)
        assert rows, title
        for r in rows:
            assert len(r) == len(report.COLUMNS), r
            timed = r[1].endswith(" ms")
            assert timed or re.match(r"(SKIPPED|FAILED): \S", r[-1]), r


def test_numpy_references_run_and_agree_with_themselves(
    quick_report: tuple[str, str, Path],
) -> None:
    text = quick_report[1]
    for title, name in (("W1: MLP", "NumPy by hand"), ("W2: CNN", "NumPy by hand"),
                        ("W3: sigmoid", "NumPy")):
        (row,) = [r for r in _table_rows(text, title) if r[0] == name]
        assert row[1].endswith(" ms") and row[7].startswith("ok"), row


def test_missing_peer_is_a_skip_with_the_reason() -> None:
    with pytest.raises(Skip, match="no_such_peer_xyz not installed"):
        require("no_such_peer_xyz")


def _workload(systems: list[System]) -> Workload:
    return Workload("t", systems, lambda fn: np.array([float(fn())]), rel_compare(1e-6), "ref")


def test_run_workload_reports_skips_failures_and_mismatches() -> None:
    def boom() -> float:
        raise ValueError("kaput")

    def skip() -> float:
        raise Skip("not here")

    w = _workload([
        System("ref", "baseline", lambda: lambda: 2.0),
        System("same", PEER, lambda: lambda: 2.0),
        System("wrong", PEER, lambda: lambda: 3.0),
        System("broken", PEER, lambda: boom),
        System("absent", PEER, skip),
        System("floor", REFERENCE_COST, lambda: lambda: None),
    ])
    rows = {r.system: r for r in run_workload(w, Settings(warmup=1, min_runs=4), lambda _: None)}
    assert rows["same"].check.startswith("ok") and len(rows["same"].times) >= 4
    assert rows["wrong"].check.startswith("MISMATCH")
    assert rows["broken"].status == "failed" and "kaput" in rows["broken"].note
    assert rows["absent"].status == "skipped" and rows["absent"].note == "not here"
    assert rows["floor"].check == "n/a" and rows["floor"].times


def test_the_floor_is_computed_from_the_machine_peaks_not_timed() -> None:
    from benchmarks.machine import MachinePeaks

    peaks = MachinePeaks(flops_1=1e11, flops_all=1.2e11, threads=2, bytes=2e10, how="test")
    assert peaks.flops_bound == 2e11  # interrupted threads never make the bound smaller
    assert peaks.floor(4e8, 1e6) == pytest.approx(2e-3)  # compute-bound
    assert peaks.floor(1e3, 4e8) == pytest.approx(2e-2)  # memory-bound
    assert peaks.floor(4e8, 1e6, threads=1) == pytest.approx(4e-3)
    w = _workload([System("ref", "baseline", lambda: lambda: 1.0)])
    w.floor = lambda: (1.5e-3, "how")
    row = floor_row(w)
    assert row is not None and row.kind == FLOOR and row.times == [1.5e-3] and row.note == "how"


def test_time_budget_stops_slow_systems_early() -> None:
    import time

    w = _workload([System("ref", "baseline", lambda: lambda: (time.sleep(0.02), 1.0)[1])])
    cfg = Settings(warmup=0, min_runs=1000, max_time=0.1, min_runs_when_slow=3)
    (row,) = run_workload(w, cfg, lambda _: None)
    assert 3 <= len(row.times) < 20


def test_ratios_are_against_fastest_peer_and_floor() -> None:
    from benchmarks.harness import Row

    rows = [Row("a", PEER, times=[2.0]), Row("b", PEER, times=[4.0]), Row("f", FLOOR, times=[1.0]),
            Row("g", "graphc", times=[3.0]), Row("s", "graphc", status="skipped", note="why")]
    body = {r[0]: r for r in report.timing_section("t", rows).rows}
    assert body["b"][5:7] == ["2.00x", "4.00x"]
    assert body["g"][5:7] == ["1.50x", "3.00x"]
    assert body["s"][1] == "-" and body["s"][-1] == "SKIPPED: why"


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "r.md"
    report.write_atomic(target, "one\n")
    report.write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.md"]


def test_profile_sections_rank_the_kernels(quick_report: tuple[str, str, Path]) -> None:
    text = quick_report[1]
    for name in ("W1 MLP step, batch 32", "W2 CNN step, batch 8"):
        rows = _table_rows(text, f"P1: where the time goes, {name}")
        assert 1 <= len(rows) <= 10, name
        for r in rows:
            assert len(r) == 9 and r[2].endswith(" ms") and r[6] in ("compute", "memory", "-")
        medians = [float(r[2].split()[0]) for r in rows]
        assert medians[0] > 0
    assert text.count("Kernel timers cover") == 2
