"""Liveness: the step that makes each value and the last step that needs it.

Steps are node indices in graph order; arguments are made at step -1; graph outputs and update
values are needed until step ``len(graph.nodes)`` (they leave the call). A view (a result that
shares operand 0's memory) keeps the value owning that memory alive as long as it is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphc.ir.graph import Graph, Node, Value


@dataclass
class Liveness:
    """Per value: defining step, last step needed, and the value owning its memory."""

    start: dict[Value, int]
    last: dict[Value, int]
    root: dict[Value, Value]
    end: int  # the step after the last node: values alive there leave the call

    def leaving(self, graph: Graph) -> set[Value]:
        """Roots of the values that leave the call (outputs and update values)."""
        return {self.root[v] for v in graph.outputs} | {self.root[v] for _, v in graph.updates}


def liveness(graph: Graph, is_view: Callable[[Node], bool] = lambda n: False) -> Liveness:
    """Lifetimes of every value of ``graph``; ``is_view(node)`` says whether a node's result
    is a view of its operand 0 (it then owns no memory)."""
    end = len(graph.nodes)
    start = {a: -1 for a in graph.arguments}
    root: dict[Value, Value] = {a: a for a in graph.arguments}
    for i, n in enumerate(graph.nodes):
        view = bool(n.inputs) and is_view(n)
        for v in n.outputs:
            start[v] = i
            root[v] = root[n.inputs[0]] if view else v
    last = dict(start)
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            last[v] = max(last[v], i)
    for v in list(graph.outputs) + [v for _, v in graph.updates]:
        last[v] = end
    for v, r in root.items():  # a view keeps its owner alive
        last[r] = max(last[r], last[v])
    return Liveness(start, last, root, end)


def dying_after(graph: Graph) -> dict[int, list[Value]]:
    """For each step, the values needed for the last time there (free them after it)."""
    live = liveness(graph)
    table: dict[int, list[Value]] = {}
    for v, i in live.last.items():
        if live.start[v] < i < live.end:
            table.setdefault(i, []).append(v)
    return table
