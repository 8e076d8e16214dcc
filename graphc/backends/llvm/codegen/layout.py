"""Where every value of a graph lives at run time, for one binding of the symbolic dims.

The argument block passed to the entry function is ``[inputs..., params..., outputs..., arena]``.
Inputs and params are the caller's arrays; a node whose result is a graph output writes straight
into the output array; a parameter update is computed straight into the parameter's array when
that is safe (an elementwise producer that runs after every other reader of the old value),
otherwise into the arena and copied over at the end. Everything else lives in the arena.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from graphc.backends.llvm.codegen import arena
from graphc.backends.llvm.codegen.views import Alias, place_views
from graphc.backends.llvm.irgen.loops import contiguous_strides
from graphc.backends.llvm.kernels.table import KERNEL, SCALAR, SCRATCH
from graphc.ir.graph import Graph, Node, Value
from graphc.ops import core

ELEMENTWISE_FUSED = ("fused",)


@dataclass(frozen=True)
class Loc:
    """A buffer: an argument slot ('arg'), an arena offset ('arena') or a constant ('const')."""

    kind: str
    index: int = 0


@dataclass
class Layout:
    """Buffers of every value, copies to make, and the sizes the runtime must provide."""

    shapes: dict[Value, tuple[int, ...]]
    where: dict[Value, Loc] = field(default_factory=dict)
    aliases: dict[Value, Alias] = field(default_factory=dict)
    first_copies: list[tuple[Value, int]] = field(default_factory=list)  # (value, output slot)
    last_copies: list[tuple[Value, Loc]] = field(default_factory=list)  # (value, destination)
    arena_bytes: int = 0
    scratch_offset: int = 0
    scratch_per_thread: int = 0
    n_inputs: int = 0
    n_params: int = 0
    n_outputs: int = 0

    @property
    def arena_slot(self) -> int:
        return self.n_inputs + self.n_params + self.n_outputs

    def nbytes(self, v: Value) -> int:
        return math.prod(self.shapes[v]) * v.type.dtype.np.itemsize

    def alias(self, v: Value) -> Alias:
        """Where ``v``'s elements are: its own dense buffer, or a view of another's."""
        if v in self.aliases:
            return self.aliases[v]
        return Alias(v, 0, contiguous_strides(self.shapes[v]))


def plan(graph: Graph, dims: dict[str, int], threads: int = 1) -> Layout:
    """Assign a buffer to every value of ``graph`` with ``dims`` bound."""
    shapes = {v: v.type.concrete(dims) for v in graph.values()}
    lay = Layout(
        shapes, n_inputs=len(graph.inputs), n_params=len(graph.params), n_outputs=len(graph.outputs)
    )
    for i, v in enumerate(graph.arguments):
        lay.where[v] = Loc("arg", i)
    for n in graph.nodes:
        if n.op is core.constant:
            lay.where[n.outputs[0]] = Loc("const", id(n))
    place_views(graph, lay)
    _place_updates(graph, lay)
    _place_outputs(graph, lay)
    _place_arena(graph, lay, threads)
    return lay


def _order(graph: Graph) -> dict[Node, int]:
    return {n: i for i, n in enumerate(graph.nodes)}


def _in_place_ok(graph: Graph, p: Value, v: Value, lay: Layout) -> bool:
    node = v.node
    if node is None or v in lay.where:
        return False
    if lay.shapes[p] != lay.shapes[v] or not _writes_like_elementwise(node, p):
        return False
    views = {u for u, a in lay.aliases.items() if a.root is p}
    if views & set(node.inputs):  # reads p through other strides: a write could land first
        return False
    order = _order(graph)
    readers = [n for n in graph.nodes if ({p} | views) & set(n.inputs) and n is not node]
    return all(order[n] < order[node] for n in readers)


def _writes_like_elementwise(node: Node, p: Value) -> bool:
    """Whether ``node`` may write its result over ``p`` while reading it (same index only)."""
    if (node.op in SCALAR and node.op not in KERNEL) or node.op.name in ELEMENTWISE_FUSED:
        return True
    if node.op.name == "fused_matmul":  # w - lr * (a @ b): the GEMM accumulates into w
        from graphc.backends.llvm.kernels.fused import axpy_form

        form = axpy_form(node)
        return form is not None and node.inputs[form[1]] is p and node.inputs[:2].count(p) == 0
    return False


def _place_updates(graph: Graph, lay: Layout) -> None:
    for p, v in graph.updates:
        slot = lay.where[p]
        if _in_place_ok(graph, p, v, lay):
            lay.where[v] = slot
        else:
            lay.last_copies.append((v, slot))


def _place_outputs(graph: Graph, lay: Layout) -> None:
    base = lay.n_inputs + lay.n_params
    for k, v in enumerate(graph.outputs):
        slot = Loc("arg", base + k)
        if v.node is None:
            lay.first_copies.append((v, base + k))  # before any parameter is overwritten
        elif v in lay.where:
            lay.last_copies.append((v, slot))
        else:
            lay.where[v] = slot


def _place_arena(graph: Graph, lay: Layout, threads: int) -> None:
    end = len(graph.nodes)
    last_use: dict[Value, int] = {}
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            last_use[v] = i
    for v, _ in lay.last_copies:
        last_use[v] = end
    for v, a in lay.aliases.items():  # a view keeps its root's buffer alive
        if v in last_use:
            last_use[a.root] = max(last_use.get(a.root, -1), last_use[v])
    intervals = []
    for i, n in enumerate(graph.nodes):
        for v in n.outputs:
            if v not in lay.where and v not in lay.aliases:
                intervals.append(arena.Interval(v, lay.nbytes(v), i, last_use.get(v, i)))
    offsets, total = arena.pack(intervals)
    for v, off in offsets.items():
        lay.where[v] = Loc("arena", off)  # type: ignore[index]
    lay.scratch_offset = total
    lay.scratch_per_thread = arena.align_up(_scratch_bytes(graph, lay))
    lay.arena_bytes = total + threads * lay.scratch_per_thread


def _scratch_bytes(graph: Graph, lay: Layout) -> int:
    need = 0
    for n in graph.nodes:
        rule = SCRATCH.get(n.op)
        if rule is not None:
            ins = [lay.shapes[v] for v in n.inputs]
            outs = [lay.shapes[v] for v in n.outputs]
            need = max(need, rule(n, ins, outs))
    return need
