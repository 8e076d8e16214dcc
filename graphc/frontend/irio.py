"""gc.save_ir: write a graph's program (its results and updates) as a .gir file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from graphc.frontend.function import Function, _check_outputs, _check_updates, _one_graph
from graphc.frontend.tensor import Tensor
from graphc.ir import files
from graphc.ir.clone import extract
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph


def save_ir(
    what: Graph | Function,
    path: str | os.PathLike[str],
    outputs: Tensor | Sequence[Tensor] | None = None,
    updates: Sequence[tuple[Tensor, Tensor]] | None = None,
) -> None:
    """Write ``what`` as text IR to ``path`` atomically.

    A Function writes the program it runs. A graph built with the API has no results of its
    own: name them with ``outputs=`` (a Tensor or a list) and ``updates=`` (parameter, new value)
    pairs; the file then holds the placeholders and the parameters and nodes they need.
    """
    if isinstance(what, Function):
        if outputs is not None or updates is not None:
            raise GraphcError("gc.save_ir of a Function writes its own program; outputs= and "
                              "updates= apply to a Graph")
        return files.save_ir(what.graph, path)
    if not isinstance(what, Graph):
        raise GraphcError(f"gc.save_ir writes a gc.Graph or a compiled Function, got {what!r}")
    if outputs is None and updates is None:
        if not what.outputs and not what.updates:
            raise GraphcError(
                f"graph @{what.name} has no results, so the file would compute nothing: pass "
                "them, gc.save_ir(g, path, outputs=[y], updates=[(w, w_new)]), or save a "
                "compiled function, gc.save_ir(fn, path)"
            )
        return files.save_ir(what, path)
    return files.save_ir(_program(what, outputs, updates), path)


def _program(graph: Graph, outputs: Any, updates: Any) -> Graph:
    """The slice of ``graph`` computing ``outputs`` and ``updates``; every placeholder stays."""
    single = isinstance(outputs, Tensor)
    outs = _check_outputs([outputs] if single else list(outputs or ()))
    pairs = _check_updates(updates)
    tensors = outs + [t for pair in pairs for t in pair]
    if _one_graph(tensors) is not graph:
        raise GraphcError(f"the outputs and updates to save belong to another graph than "
                          f"@{graph.name}")
    return extract(graph, graph.inputs, [t.ir for t in outs], [(p.ir, v.ir) for p, v in pairs])
