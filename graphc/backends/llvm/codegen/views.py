"""View values: transpose, broadcast_to, slice and (on dense data) reshape need no kernel.

Such a value becomes an Alias (root buffer, offset, strides) when every node that reads it
accepts strided inputs, so ``matmul(transpose(x), g)`` hands the GEMM column strides instead
of copying ``x``. Graph outputs and update values are always materialized.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphc import ops
from graphc.backends.llvm.irgen.loops import View, contiguous_strides
from graphc.backends.llvm.kernels.shape import sliced
from graphc.backends.llvm.kernels.table import KERNEL, SCALAR, VIEWS
from graphc.ir.graph import Graph, Node, Value

if TYPE_CHECKING:
    from graphc.backends.llvm.codegen.layout import Layout


@dataclass(frozen=True)
class Alias:
    """A value that is a strided view of another value's buffer (no kernel, no buffer)."""

    root: Value
    offset: int
    strides: tuple[int, ...]


# (input view, node, output shape) -> the output as a view, or None when it is not one
ViewRule = Callable[[View, Node, tuple[int, ...]], View | None]


def _dense_only(v: View, node: Node, shape: tuple[int, ...]) -> View | None:
    dense = all(
        s == c
        for d, s, c in zip(v.shape, v.strides, contiguous_strides(v.shape), strict=True)
        if d != 1
    )
    return v.with_layout(shape, contiguous_strides(shape)) if dense else None


RULES: dict[object, ViewRule] = {
    ops.transpose: lambda v, n, shape: v.permute(n.attrs["perm"]),
    ops.broadcast_to: lambda v, n, shape: v.broadcast(shape),
    ops.slice: lambda v, n, shape: sliced(v, n.attrs["begin"], n.attrs["end"], n.attrs["step"]),
    ops.reshape: _dense_only,
    ops.flatten: _dense_only,
    ops.expand_dims: _dense_only,
    ops.squeeze: _dense_only,
}


def accepts_views(node: Node) -> bool:
    """Whether ``node``'s kernel reads its inputs through arbitrary strides."""
    return (node.op in SCALAR and node.op not in KERNEL) or node.op in VIEWS


def place_views(graph: Graph, lay: Layout) -> None:
    """Turn view-op results into Aliases where every reader accepts strided inputs."""
    users = graph.users()
    pinned = set(graph.outputs) | {v for _, v in graph.updates} | {p for p, _ in graph.updates}
    for node in graph.nodes:
        rule = RULES.get(node.op)
        v = node.outputs[0]
        if rule is None or v in pinned or not all(accepts_views(u) for u in users.get(v, [])):
            continue
        src = node.inputs[0]
        base = lay.alias(src)
        seen = View(None, src.type.dtype, lay.shapes[src], base.strides, base.offset)
        out = rule(seen, node, lay.shapes[v])
        if out is not None:
            lay.aliases[v] = Alias(base.root, out.offset, out.strides)
