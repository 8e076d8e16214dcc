"""The ``memplan`` pass: checks that a graph can be memory-planned (graphc.analysis.memory,
with static dims bound to 1); the IR is unchanged. Backends plan for the dims they run with."""

from __future__ import annotations

from graphc.analysis.memory import plan_memory
from graphc.ir.graph import Graph
from graphc.passes.manager import register_pass


@register_pass("memplan")
def memplan(graph: Graph) -> Graph:
    """Check that the graph can be planned; the IR is unchanged."""
    symbols = {s for v in graph.values() for s in v.type.symbols()}
    plan_memory(graph, dict.fromkeys(symbols, 1))
    return graph
