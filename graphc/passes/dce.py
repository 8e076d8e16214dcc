"""dce: drop nodes that no result or parameter update depends on."""

from __future__ import annotations

from graphc.ir.graph import Graph
from graphc.passes.manager import register_pass


@register_pass("dce", regions=True)
def dce(graph: Graph) -> Graph:
    """Remove dead nodes (graph arguments stay: they are the signature)."""
    live = set(graph.needed())
    graph.nodes = [n for n in graph.nodes if n in live]
    return graph
