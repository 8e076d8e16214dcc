"""Per-kernel profiles of a compiled Function: where the time of a call goes.

A backend compiled with ``profile=True`` times each node's kernel (llvm: cycle counters around
each kernel call in the entry function; numpy: a timer around each node) and reports the
seconds spent so far per node index (``kernel_seconds``). ``profile_calls`` runs a function a
few times and reads those timers around each call; ``Profile`` turns the samples into rows
with FLOPs (each op's cost rule), bytes moved, achieved rates, the share of the call and a
roofline hint against this machine's measured peaks.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np

from graphc.backends.llvm.toolchain.machine import Peaks, peaks
from graphc.explorer.collect import graph_nodes
from graphc.ir.graph import Graph, Node


def node_cost(node: Node, dims: dict[str, int]) -> tuple[float, int]:
    """(FLOPs, bytes read and written) of one application of ``node`` for ``dims``."""
    ins = [v.type.concrete(dims) for v in node.inputs]
    outs = [v.type.concrete(dims) for v in node.outputs]
    flops = node.op.cost(node, ins, outs) if node.op.cost is not None else 0.0
    if node.op.view or node.op.constant_like:
        return flops, 0
    moved = sum(prod(s) * v.type.dtype.np.itemsize
                for s, v in zip(ins + outs, node.inputs + node.outputs, strict=True))
    return flops, moved


@dataclass
class Row:
    """One kernel (one node of the graph that runs) in a profile."""

    index: int
    name: str  # its results and op as fn.ir() prints them: "%3, %4 fused_matmul"
    group: str  # a fused node's body ops
    loc: str
    calls: int
    total: float  # seconds over all calls
    median: float  # seconds per call
    flops: float
    bytes: int

    @property
    def gflops(self) -> float:
        return self.flops / self.median / 1e9 if self.median > 0 else 0.0

    @property
    def gbs(self) -> float:
        return self.bytes / self.median / 1e9 if self.median > 0 else 0.0

    def bound(self, machine: Peaks) -> tuple[str, float]:
        """("compute" or "memory", achieved share of that peak)."""
        if self.median <= 0 or (self.flops == 0 and self.bytes == 0):
            return "-", 0.0
        if self.bytes == 0 or self.flops / self.bytes > machine.ridge:
            return "compute", self.flops / self.median / machine.flops
        return "memory", self.bytes / self.median / machine.bytes


@dataclass
class Profile:
    """Per-kernel times of a function's calls, with costs and a roofline hint per kernel."""

    graph_name: str
    backend: str
    dims: dict[str, int]
    rows: list[Row]
    walls: list[float] = field(default_factory=list)  # seconds per profiled call (if known)
    machine: Peaks | None = None
    call_kernels: list[float] = field(default_factory=list)  # kernel seconds in each call

    @property
    def kernel_seconds(self) -> float:
        """Median seconds per call summed over the kernels."""
        return sum(r.median for r in self.rows)

    @property
    def wall(self) -> float:
        """Median wall seconds of a profiled call (0 when only counters were read)."""
        return statistics.median(self.walls) if self.walls else 0.0

    @property
    def coverage(self) -> float:
        """Kernel time over wall time per call (what the timers see of a call)."""
        return self.kernel_seconds / self.wall if self.wall else 0.0

    @property
    def fastest_coverage(self) -> float:
        """Kernel time over wall time in the fastest call: on a busy machine the median call
        also holds time the process waited for a CPU between kernels."""
        if not self.walls:
            return 0.0
        k = min(range(len(self.walls)), key=self.walls.__getitem__)
        return self.call_kernels[k] / self.walls[k]

    def times(self) -> dict[int, float]:
        """Median seconds per call by node index (the explorer colours nodes with it)."""
        return {r.index: r.median for r in self.rows}

    def __str__(self) -> str:
        return format_profile(self)


def build_profile(graph: Graph, backend: str, dims: dict[str, int], samples: list[list[float]],
                  walls: list[float], calls: int | None = None) -> Profile:
    """A Profile from per-call seconds per node (``samples[call][node]``); with ``calls``,
    ``samples`` holds one row of totals over that many calls instead."""
    infos = {i.id: i for i in graph_nodes(graph)[0]}
    rows = []
    for i, node in enumerate(graph.nodes):
        per_call = [s[i] for s in samples]
        total = sum(per_call)
        if calls is not None:
            n, median = calls, total / max(calls, 1)
        else:
            n, median = len(per_call), statistics.median(per_call) if per_call else 0.0
        info = infos[f"n{i}"]
        name = info.ir.split(" = ", 1)[0] + " " + node.op.name
        flops, moved = node_cost(node, dims)
        rows.append(Row(i, name, ", ".join(b["op"] for b in info.body), info.loc, n, total,
                        median, flops, moved))
    rows.sort(key=lambda r: -r.median)  # the median: one call the OS interrupted moves no row
    return Profile(graph.name, backend, dict(dims), rows, walls, peaks(),
                   [sum(s) for s in samples] if calls is None else [])


def format_profile(p: Profile, limit: int | None = None) -> str:
    """The profile as a table, slowest kernel (median per call) first."""
    bound = ", ".join(f"{k}={v}" for k, v in sorted(p.dims.items())) or "static shapes"
    step = p.wall or p.kernel_seconds
    head = [f"profile of @{p.graph_name} ({p.backend}, {bound}): {p.rows[0].calls if p.rows else 0}"
            f" calls, kernels {p.kernel_seconds * 1e3:.3f} ms per call"]
    if p.wall:
        head[0] += (f" of {p.wall * 1e3:.3f} ms wall ({p.coverage:.0%} covered; "
                    f"{p.fastest_coverage:.0%} in the fastest call)")
    if p.machine is not None:
        head.append(f"machine peaks: {p.machine.flops / 1e9:.1f} GFLOP/s, "
                    f"{p.machine.bytes / 1e9:.1f} GB/s ({p.machine.how})")
    table = [("node", "group", "calls", "total ms", "median us", "share", "GFLOP/s", "GB/s",
              "bound", "% peak", "source")]
    for r in p.rows[:limit] if limit else p.rows:
        kind, share = r.bound(p.machine) if p.machine else ("-", 0.0)
        table.append((r.name, r.group, str(r.calls), f"{r.total * 1e3:.3f}",
                      f"{r.median * 1e6:.1f}",
                      f"{r.median / step:.1%}" if step else "-", f"{r.gflops:.2f}",
                      f"{r.gbs:.2f}", kind, f"{share:.0%}" if kind != "-" else "-", r.loc))
    return "\n".join(head + _columns(table)) + "\n"


def _columns(table: list[tuple[str, ...]]) -> list[str]:
    widths = [min(max(len(row[k]) for row in table), 40) for k in range(len(table[0]))]
    right = {2, 3, 4, 5, 6, 7, 9}
    lines = []
    for row in table:
        cells = [(c[:37] + "...") if len(c) > 40 else c for c in row]
        lines.append("  ".join(c.rjust(w) if k in right else c.ljust(w)
                               for k, (c, w) in enumerate(zip(cells, widths, strict=True)))
                     .rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def profile_calls(run: Callable[[], Any], read: Callable[[], list[float]], repeat: int,
                  warmup: int = 1) -> tuple[list[list[float]], list[float]]:
    """Call ``run`` ``warmup`` + ``repeat`` times; per timed call, the seconds each node's
    timer gained (``read()`` returns the running totals) and the call's wall time."""
    for _ in range(warmup):
        run()
    samples, walls = [], []
    for _ in range(repeat):
        before = read()
        start = time.perf_counter()
        run()
        walls.append(time.perf_counter() - start)
        samples.append([b - a for a, b in zip(before, read(), strict=True)])
    return samples, walls


def saved_params(graph: Graph) -> list[tuple[Any, np.ndarray]]:
    """Copies of the parameter values (a profiled training step must not train the model)."""
    return [(p.param, p.param.value.copy()) for p in graph.params
            if p.param is not None and p.param.value is not None]


def restore_params(saved: list[tuple[Any, np.ndarray]]) -> None:
    """Put the saved values back (into the arrays the backend may have updated in place)."""
    for cell, value in saved:
        if cell.value is not None and cell.value.shape == value.shape:
            np.copyto(cell.value, value)
        else:
            cell.value = value
