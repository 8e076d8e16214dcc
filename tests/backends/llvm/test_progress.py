"""A long compile says so on stderr when stderr is a terminal; otherwise it stays quiet."""

from __future__ import annotations

import io

import numpy as np

import graphc as gc
from graphc.backends.llvm.toolchain import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _compile(name: str) -> None:
    with gc.Graph(name):
        x = gc.placeholder("x", ("B", 3))
        gc.function([x], gc.exp(x) * 2.0, backend="llvm")(np.ones((2, 3), np.float32))


def test_a_compile_longer_than_the_threshold_prints_what_and_how_long(monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE", "0")
    monkeypatch.setattr(progress, "AFTER", 0.0)
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    _compile("slowish")
    text = term.getvalue()
    assert "graphc: compiling @slowish (" in text and "B=2" in text
    assert "graphc: compiled @slowish" in text


def test_not_a_terminal_prints_nothing(monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE", "0")
    monkeypatch.setattr(progress, "AFTER", 0.0)
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    _compile("quiet")
    assert plain.getvalue() == ""
