"""The reference backend: runs a graph node by node with each op's NumPy kernel."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import BackendError, GraphcError
from graphc.ir.graph import Graph, Node, Value


def last_uses(graph: Graph) -> dict[int, list[Value]]:
    """For each node index, the values whose last reader it is (freed right after it)."""
    last: dict[Value, int] = {}
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            last[v] = i
    keep = set(graph.outputs) | {v for _, v in graph.updates}
    table: dict[int, list[Value]] = {}
    for v, i in last.items():
        if v not in keep:
            table.setdefault(i, []).append(v)
    return table


def run_node(node: Node, args: list[np.ndarray]) -> list[np.ndarray]:
    """One node's results; kernel failures name the node and the user's line."""
    try:
        if node.body is not None:
            out = run_graph(node.body, args)
        else:
            out = node.op.kernel(*args, **node.attrs)
    except GraphcError:
        raise
    except Exception as e:  # a kernel's own error, e.g. an index out of range
        raise BackendError(f"{node.describe()}: {type(e).__name__}: {e}") from None
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(o) for o in outs]


def run_graph(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluate ``graph`` on inputs (parameters read from their cells), freeing as it goes."""
    env: dict[Value, np.ndarray] = dict(zip(graph.inputs, inputs, strict=True))
    env.update((p, p.param.value) for p in graph.params if p.param is not None)
    frees = last_uses(graph)
    for i, node in enumerate(graph.nodes):
        results = run_node(node, [env[v] for v in node.inputs])
        env.update(zip(node.outputs, results, strict=True))
        for v in frees.get(i, ()):
            env.pop(v, None)
    return [env[v] for v in graph.outputs] + [env[v] for _, v in graph.updates]


class Interpreter:
    """Executable for the numpy backend."""

    def __init__(self, graph: Graph, **options: object) -> None:
        self.graph = graph

    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]:
        with np.errstate(all="ignore"):  # inf/nan propagate as in NumPy, without warnings
            return run_graph(self.graph, inputs)
