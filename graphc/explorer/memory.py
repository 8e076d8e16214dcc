"""The memory plan as bars for the timeline chart: each buffer over the nodes it is live."""

from __future__ import annotations

from typing import Any

from graphc.analysis.packing import first_fit
from graphc.ir.graph import Value

DRAWN = ("arena", "param", "output", "fresh")


def memory_bars(plan: Any, names: dict[Value, str]) -> tuple[list[dict[str, Any]], int,
                                                               tuple[int, int]]:
    """(bars, node count, (peak step, live bytes there)) of a MemoryPlan. Arena buffers sit at
    their offsets; the others (parameters written in place, outputs, fresh allocations) are
    packed first-fit above the arena."""
    steps = len(plan.graph.nodes)
    bars: list[dict[str, Any]] = []
    outside: list[tuple[int, int, int]] = []  # y, bytes, (start, end) packed above the arena
    for v, s in plan.slots.items():
        if s.kind not in DRAWN or s.nbytes == 0:
            continue
        end = min(s.end, steps - 1)
        if s.kind == "arena":
            y = s.offset or 0
        else:
            y = plan.arena_bytes + first_fit(outside, s.nbytes, s.start, end)
            outside.append((y - plan.arena_bytes, s.nbytes, s.start, end))
        name = names.get(v, "%?")
        note = f", in place of {names.get(s.shares, '?')}" if s.shares is not None else ""
        bars.append({"node": f"n{s.start}", "kind": s.kind, "bytes": s.nbytes, "y": y,
                     "start": max(s.start, 0), "end": end,
                     "title": f"{name}: {s.kind}, {s.nbytes} bytes, live {s.start}..{end}{note}"})
    return bars, steps, _peak(bars, steps)


def _peak(bars: list[dict[str, Any]], steps: int) -> tuple[int, int]:
    """The step with the most bytes live (buffers sharing an address counted once; updates
    written into a parameter's own array take no new memory)."""
    best = (0, 0)
    for step in range(steps):
        live = {(b["y"], b["bytes"]) for b in bars
                if b["start"] <= step <= b["end"] and b["kind"] != "param"}
        total = sum(n for _, n in live)
        if total > best[1]:
            best = (step, total)
    return best
