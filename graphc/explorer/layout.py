"""A layered (Sugiyama-style) layout of a DAG with boxes of different sizes, top to bottom.

Layers come from the longest path from the sources (networkx's topological order); arguments
sit just above their first reader. The order within a layer comes from a few barycentre
sweeps, and x positions are pulled towards the centres of the neighbours without overlaps.
Good enough for graphs of a few hundred nodes, and linear-ish in their size.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx

GAP_X = 24.0  # between boxes of one layer
GAP_Y = 44.0  # between layers (room for the edges)
SWEEPS = 6


@dataclass
class Box:
    """A laid-out box: top-left corner and size."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


def layered(nodes: Sequence[Hashable], edges: Sequence[tuple[Hashable, Hashable]],
            sizes: dict[Hashable, tuple[float, float]]) -> tuple[dict[Hashable, Box], float, float]:
    """Boxes for ``nodes`` (each ``sizes[n]`` = (w, h)) and the total width and height."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((u, v) for u, v in edges if u != v)
    layer_of = _layers(g)
    layers = _orders(g, layer_of)
    xs = _place_x(g, layers, sizes)
    boxes: dict[Hashable, Box] = {}
    y = 0.0
    for row in layers:
        height = max((sizes[n][1] for n in row), default=0.0)
        for n in row:
            w, h = sizes[n]
            boxes[n] = Box(xs[n], y + (height - h) / 2, w, h)
        y += height + GAP_Y
    left = min((b.x for b in boxes.values()), default=0.0)
    for b in boxes.values():
        b.x -= left
    width = max((b.x + b.w for b in boxes.values()), default=0.0)
    return boxes, width, max(y - GAP_Y, 0.0)


def _layers(g: nx.DiGraph) -> dict[Hashable, int]:
    """Longest path from a source; a source with readers moves down to just above the first."""
    layer: dict[Hashable, int] = {}
    for n in nx.topological_sort(g):
        layer[n] = max((layer[p] + 1 for p in g.predecessors(n)), default=0)
    for n in g.nodes:
        if g.in_degree(n) == 0 and g.out_degree(n) > 0:
            layer[n] = max(min(layer[s] for s in g.successors(n)) - 1, 0)
    return layer


def _orders(g: nx.DiGraph, layer_of: dict[Hashable, int]) -> list[list[Hashable]]:
    """Nodes per layer, ordered by barycentre sweeps (down, then up, repeated)."""
    depth = max(layer_of.values(), default=-1) + 1
    layers: list[list[Hashable]] = [[] for _ in range(depth)]
    for n in g.nodes:  # insertion order: graph order, a decent start
        layers[layer_of[n]].append(n)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        rows = range(1, depth) if down else range(depth - 2, -1, -1)
        for i in rows:
            ref = layers[i - 1] if down else layers[i + 1]
            pos = {n: k / max(len(ref), 1) for k, n in enumerate(ref)}
            near = g.predecessors if down else g.successors
            layers[i] = _by_barycentre(layers[i], pos, near)
    return layers


def _by_barycentre(row: list[Hashable], pos: dict[Hashable, float], near) -> list[Hashable]:
    def key(item: tuple[int, Hashable]) -> float:
        k, n = item
        seen = [pos[m] for m in near(n) if m in pos]
        return sum(seen) / len(seen) if seen else k / max(len(row), 1)

    return [n for _, n in sorted(enumerate(row), key=key)]


def _place_x(g: nx.DiGraph, layers: list[list[Hashable]],
             sizes: dict[Hashable, tuple[float, float]]) -> dict[Hashable, float]:
    """Left x of each box: packed, then pulled towards the neighbours' centres."""
    x: dict[Hashable, float] = {}
    for row in layers:
        cursor = 0.0
        for n in row:
            x[n] = cursor
            cursor += sizes[n][0] + GAP_X
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        near = g.predecessors if down else g.successors
        for row in layers if down else reversed(layers):
            _pull(row, x, sizes, near)
    return x


def _pull(row: list[Hashable], x: dict[Hashable, float],
          sizes: dict[Hashable, tuple[float, float]], near) -> None:
    """Move each box towards its neighbours' mean centre, keeping the order and the gaps: the
    mean of a left-to-right and a right-to-left packing (both keep the gaps, so their mean
    does too, and neither drifts to one side)."""
    want = {}
    for n in row:
        centres = [x[m] + sizes[m][0] / 2 for m in near(n)]
        want[n] = (sum(centres) / len(centres) - sizes[n][0] / 2) if centres else x[n]
    left, edge = {}, -float("inf")
    for n in row:
        left[n] = max(want[n], edge)
        edge = left[n] + sizes[n][0] + GAP_X
    right, edge = {}, float("inf")
    for n in reversed(row):
        right[n] = min(want[n], edge - sizes[n][0] - GAP_X)
        edge = right[n]
    for n in row:
        x[n] = (left[n] + right[n]) / 2
