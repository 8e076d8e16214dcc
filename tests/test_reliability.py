"""A fixed-seed share of the reliability figures (`python -m reliability` runs them all).

Each section must report no failure: a failure's description names the graph seed, input,
fault or command that reproduces it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from reliability import (
    cachefaults,
    checkpoint_child,
    checkpoints,
    clicases,
    difffuzz,
    parserfuzz,
    runner,
)
from reliability.figures import Figures

SEED = 0


def assert_clean(figs: Figures) -> None:
    assert figs.cases > 0
    assert figs.failures == 0, "\n".join(figs.log)


def test_differential_fuzzing() -> None:
    figs = difffuzz.run(SEED, 60)  # 30 graphs in float32, 30 in float64
    assert_clean(figs)
    assert figs.cases == 60 and figs.details["f32"] == figs.details["f64"] == 30


def test_parser_fuzzing() -> None:
    figs = parserfuzz.run(SEED, 500)
    assert_clean(figs)
    assert figs.details["accepted"] > 0  # some mutations stay valid and round-trip


def test_cache_faults() -> None:
    figs = cachefaults.run(SEED, count=1, sample=4)
    assert_clean(figs)
    assert figs.details["faults"] == 4 and figs.details["races"] == 1


def test_checkpoint_kills() -> None:
    figs = checkpoints.run(SEED, 3)
    assert_clean(figs)
    assert figs.details["loaded"] == 3


def test_cli_bad_inputs() -> None:
    assert_clean(clicases.run())


# -- the harness itself: its checks see what they must see --------------------------------
def test_error_eps_flags_differences() -> None:
    ref = np.array([1.0, 2.0, np.inf], np.float32)
    assert difffuzz.error_eps(ref.copy(), ref) == 0.0
    assert difffuzz.error_eps(ref * np.float32(1.001), ref) > difffuzz.TOL_EPS
    assert difffuzz.error_eps(ref.astype(np.float64), ref) == float("inf")
    assert difffuzz.error_eps(np.array([1.0, 2.0, np.nan], np.float32), ref) == float("inf")


def test_parser_check_reports_foreign_exceptions(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    def boom(text: str) -> None:
        raise KeyError("inside the parser")

    monkeypatch.setattr(parserfuzz.gc, "parse", boom)
    problem = parserfuzz.check_input("graph", str(tmp_path / "x.gir"))
    assert problem == "KeyError: 'inside the parser'"


def test_cli_check_sees_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.gir").write_text("graph @g(%x: f32[2]) -> () {\n  return\n}\n")
    problem = clicases.check_case(tmp_path, ["check", "bad.gir"])
    assert problem is not None and problem.startswith("exit 0")


def test_runner_rejects_unknown_sections(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        runner.main(["--only", "fuzz,nope"])
    assert "unknown section(s) nope" in capsys.readouterr().err


def test_checkpoint_check_sees_mixed_states(tmp_path: Path) -> None:
    ps = checkpoint_child.params()
    gc.save(tmp_path / "whole.npz", ps)
    assert checkpoints.check_file(tmp_path / "whole.npz") == (0, None)
    ps[0].value = np.ones_like(ps[0].value)
    gc.save(tmp_path / "mixed.npz", ps)
    k, problem = checkpoints.check_file(tmp_path / "mixed.npz")
    assert k is None and problem is not None and problem.startswith("mixed states")
