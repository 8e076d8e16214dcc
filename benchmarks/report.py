"""Markdown tables for the results, and the atomic write of the report file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import FLOOR, PEER, Row


@dataclass
class Section:
    """A titled markdown table with notes above it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines += [f"{n}" for n in self.notes]
        if self.notes:
            lines.append("")
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join(_align(c) for c in self.columns) + "|")
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"


TEXT_COLUMNS = {"system", "check", "notes", "cache"}


def _align(column: str) -> str:
    return "---" if column in TEXT_COLUMNS else "---:"


def fmt_time(seconds: float | None) -> str:
    """A duration in ms with three significant digits."""
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms:.0f} ms"


def _ratio(t: float | None, base: float | None) -> str:
    return "-" if t is None or not base else f"{t / base:.2f}x"


def _best(rows: Sequence[Row], kind: str) -> float | None:
    meds = [r.median for r in rows if r.kind == kind and r.median is not None]
    return min(meds) if meds else None


COLUMNS = ["system", "median", "min", "max", "runs", "/ fastest peer", "/ floor", "check", "notes"]


def timing_section(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> Section:
    """One row per system: median, min, max, runs, ratios to the fastest peer and to the floor."""
    peer, floor = _best(rows, PEER), _best(rows, FLOOR)
    body = []
    for r in rows:
        t = r.median
        note = r.note if r.status == "ok" else f"{r.status.upper()}: {r.note}"
        body.append([
            r.system, fmt_time(t), fmt_time(min(r.times) if r.times else None),
            fmt_time(max(r.times) if r.times else None), str(len(r.times)),
            _ratio(t, peer), _ratio(t, floor),
            r.check if r.status == "ok" else "-", note,
        ])
    return Section(title, COLUMNS, body, list(notes))


def document(title: str, header: Sequence[str], sections: Sequence[Section],
             preamble: Sequence[str] = ()) -> str:
    """The whole report as markdown."""
    parts = [f"# {title}", "", *header, "", *preamble]
    if preamble:
        parts.append("")
    parts += [s.markdown() for s in sections]
    return "\n".join(parts).rstrip() + "\n"


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write text to path via a temporary file in the same directory and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
