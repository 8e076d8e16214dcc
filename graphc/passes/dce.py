"""dce: drop nodes that no result or parameter update depends on."""

from __future__ import annotations

from graphc.ir.graph import Graph
from graphc.passes.manager import register_pass
from graphc.passes.util import Rewriter


@register_pass("dce", regions=True)
def dce(graph: Graph) -> Graph:
    """Remove dead nodes (graph arguments stay: they are the signature), then the unread
    results of nodes whose op can drop them (``prune``: a scan's unread stacked outputs)."""
    live = set(graph.needed())
    graph.nodes = [n for n in graph.nodes if n in live]
    _prune_results(graph)
    return graph


def _prune_results(graph: Graph) -> None:
    read = {v for n in graph.nodes for v in n.inputs} | set(graph.roots)
    rw = Rewriter(graph)
    for node in rw.walk():
        used = [k for k, v in enumerate(node.outputs) if v in read]
        pruned = node.op.prune(node, used) if node.op.prune and len(used) < len(node.outputs) \
            else None
        if pruned is None:
            continue
        new, index = pruned
        rw.insert(new)
        rw.erase(node)
        rw.replace(node.outputs, [new.outputs[index[k]] if k in index else v
                                  for k, v in enumerate(node.outputs)])
    rw.finish()
