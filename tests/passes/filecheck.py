"""IR-file pass tests: a .gir file holds cases split by ``// -----``; its ``// RUN:`` line gives
the ``graphc opt`` arguments; ``// CHECK:`` lines say what the output must contain (xDSL's and
LLVM's FileCheck style, the subset graphc needs):

- ``CHECK: text``: a later output line contains ``text``;
- ``CHECK-NEXT: text``: the line right after the previous match contains ``text``;
- ``CHECK-NOT: text``: no line between the previous match and the next one contains ``text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SPLIT = re.compile(r"^// -----\s*$", re.MULTILINE)
DIRECTIVE = re.compile(r"^\s*//\s*(CHECK|CHECK-NEXT|CHECK-NOT|RUN):(.*)$")


class CheckError(AssertionError):
    """The output does not satisfy a CHECK line (names the line and what was seen)."""


@dataclass(frozen=True)
class Check:
    kind: str  # CHECK, CHECK-NEXT or CHECK-NOT
    text: str
    line: int  # in the .gir file, for messages


@dataclass(frozen=True)
class IRCase:
    path: Path
    index: int
    run: list[str]  # graphc opt arguments (the file path is appended)
    source: str
    checks: list[Check]

    @property
    def id(self) -> str:
        return f"{self.path.stem}-{self.index}"


def read_cases(path: Path) -> list[IRCase]:
    """The cases of one .gir test file."""
    text = path.read_text()
    run: list[str] | None = None
    cases, offset = [], 0
    for i, chunk in enumerate(SPLIT.split(text)):
        checks = []
        for n, line in enumerate(chunk.splitlines(), start=offset + 1):
            m = DIRECTIVE.match(line)
            if m and m.group(1) == "RUN":
                run = m.group(2).split()[2:] if m.group(2).split()[:2] == ["graphc", "opt"] \
                    else _bad(path, n, "RUN: expects 'graphc opt ARGS'")
            elif m:
                checks.append(Check(m.group(1), m.group(2).strip(), n))
        if run is None:
            _bad(path, offset + 1, "the file needs a '// RUN: graphc opt ...' line first")
        if not any(c.kind != "CHECK-NOT" for c in checks):
            _bad(path, offset + 1, "a case needs at least one CHECK line")
        cases.append(IRCase(path, i, list(run), chunk, checks))
        offset += chunk.count("\n") + 1
    return cases


def _bad(path: Path, line: int, why: str):
    raise ValueError(f"{path}:{line}: {why}")


def filecheck(output: str, checks: list[Check]) -> None:
    """Raise CheckError at the first check ``output`` does not satisfy."""
    lines = output.splitlines()
    pos = 0  # the first line a CHECK may match
    last = -1  # the line of the previous match
    pending_not: list[Check] = []
    for c in checks:
        if c.kind == "CHECK-NOT":
            pending_not.append(c)
            continue
        if c.kind == "CHECK-NEXT":
            found = last + 1 if last + 1 < len(lines) and c.text in lines[last + 1] else None
        else:
            found = next((i for i in range(pos, len(lines)) if c.text in lines[i]), None)
        if found is None:
            where = lines[last + 1] if c.kind == "CHECK-NEXT" and last + 1 < len(lines) else None
            seen = f"; the next line is {where!r}" if where is not None else ""
            raise CheckError(f"line {c.line}: {c.kind}: {c.text!r} not found{seen}\n{output}")
        _check_nots(pending_not, lines[last + 1 : found], output)
        pending_not, last, pos = [], found, found + 1
    _check_nots(pending_not, lines[last + 1 :], output)


def _check_nots(nots: list[Check], lines: list[str], output: str) -> None:
    for c in nots:
        hit = next((line for line in lines if c.text in line), None)
        if hit is not None:
            raise CheckError(f"line {c.line}: CHECK-NOT: {c.text!r} found in {hit!r}\n{output}")
