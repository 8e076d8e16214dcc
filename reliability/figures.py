"""One section's figures (cases, failures, details) and the table all sections print as."""

from __future__ import annotations

import datetime
import platform
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Figures:
    """What one section measured: ``failures`` must be 0; ``details`` are extra counts."""

    section: str
    what: str
    cases: int = 0
    failures: int = 0
    seed: int | None = None
    details: dict[str, object] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # every failure, one line each
    seconds: float = 0.0

    def fail(self, message: str) -> None:
        """Count one failure and keep its description."""
        self.failures += 1
        self.log.append(" ".join(message.split())[:400])


def table(results: list[Figures], shown: int = 10) -> str:
    """A Markdown table of every section, then each one's first ``shown`` failures."""
    lines = ["| section | what | cases | failures | details | seed | time |",
             "|---|---|---:|---:|---|---:|---:|"]
    for r in results:
        details = ", ".join(f"{k}: {_fmt(v)}" for k, v in r.details.items())
        seed = "" if r.seed is None else str(r.seed)
        lines.append(f"| {r.section} | {r.what} | {r.cases} | {r.failures} | {details} | "
                     f"{seed} | {r.seconds:.0f} s |")
    for r in results:
        if r.log:
            lines += ["", f"{r.section}: {min(shown, len(r.log))} of {len(r.log)} failures:"]
            lines += [f"- {e}" for e in r.log[:shown]]
    return "\n".join(lines) + "\n"


def _fmt(v: object) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.3g}"
    return str(v)


def document(results: list[Figures], command: str) -> str:
    """RESULTS.md: when, where, the command, then the table."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host = f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}"
    return (f"# graphc reliability figures\n\nRun {when} (Python {host}) with:\n\n"
            f"    {command}\n\n" + table(results))
