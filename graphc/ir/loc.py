"""Source locations: the user's file:line recorded on every node."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Loc:
    """Where a node came from: the user's file and line; for gradient nodes also the rule."""

    file: str
    line: int
    rule: str | None = None  # e.g. "vjp(matmul)" on nodes autodiff emitted

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} ({self.rule})" if self.rule else where

    def derived(self, rule: str) -> Loc:
        """The same place, marked as produced by ``rule`` (a gradient or rewrite)."""
        return Loc(self.file, self.line, rule)


UNKNOWN = Loc("<unknown>", 0)


def _display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def user_loc() -> Loc:
    """The innermost stack frame outside the graphc package (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return Loc(_display_path(frame.f_code.co_filename), frame.f_lineno)
        frame = frame.f_back
    return UNKNOWN
