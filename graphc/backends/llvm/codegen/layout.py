"""Where every value of a graph lives at run time, for one binding of the symbolic dims.

The argument block passed to the entry function is ``[inputs..., params..., outputs..., arena]``.
Inputs and params are the caller's arrays; a node whose result is a graph output writes straight
into the output array; a parameter update is computed straight into the parameter's array when
that is safe (graphc.analysis.memory decides, under this backend's Policy: the producer runs
after every other reader of the old value and writes each element after reading it), otherwise
into the arena and copied over at the end. Everything else lives in the arena, placed by the
same planner; per-thread kernel scratch follows the buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from graphc import ops
from graphc.analysis.memory import MemoryPlan, Policy, plan_memory
from graphc.backends.llvm.codegen.views import Alias, place_views
from graphc.backends.llvm.irgen.loops import contiguous_strides
from graphc.backends.llvm.kernels.table import KERNEL, SCALAR, SCRATCH
from graphc.ir.graph import Graph, Node, Value


@dataclass(frozen=True)
class Buffer:
    """A buffer: an argument slot ('arg'), an arena offset ('arena') or a constant ('const')."""

    kind: str
    index: int = 0


@dataclass
class Layout:
    """Buffers of every value, copies to make, and the sizes the runtime must provide."""

    shapes: dict[Value, tuple[int, ...]]
    where: dict[Value, Buffer] = field(default_factory=dict)
    aliases: dict[Value, Alias] = field(default_factory=dict)
    first_copies: list[tuple[Value, int]] = field(default_factory=list)  # (value, output slot)
    last_copies: list[tuple[Value, Buffer]] = field(default_factory=list)  # (value, destination)
    plan: MemoryPlan | None = None
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


def plan(graph: Graph, dims: dict[str, int], threads: int = 1, numerics: bool = False) -> Layout:
    """Assign a buffer to every value of ``graph`` with ``dims`` bound (``numerics``: the code
    checks for NaN after each node, so parameters are only written at the end)."""
    shapes = {v: v.type.concrete(dims) for v in graph.values()}
    lay = Layout(
        shapes, n_inputs=len(graph.inputs), n_params=len(graph.params), n_outputs=len(graph.outputs)
    )
    for i, v in enumerate(graph.arguments):
        lay.where[v] = Buffer("arg", i)
    place_views(graph, lay)
    lay.plan = plan_memory(graph, dims, policy(lay, threads, numerics))
    _place_planned(lay.plan, lay)
    _place_updates(graph, lay)
    _place_outputs(graph, lay)
    lay.arena_bytes = lay.plan.arena_bytes
    lay.scratch_offset = lay.plan.scratch_offset
    lay.scratch_per_thread = lay.plan.scratch_per_thread
    return lay


def policy(lay: Layout, threads: int, numerics: bool = False) -> Policy:
    """This backend's memory policy once views are placed: every kernel writes into the buffer
    it is given; a result overwrites an operand only as a parameter update (a shared buffer
    costs the kernel its ``noalias`` pointers), never under ``numerics`` (a call stopped at a
    NaN must leave the parameters as they were); other update values are copied in at the end."""

    def in_place(node: Node, k: int, u: Value) -> bool:
        return lay.shapes[u] == lay.shapes[node.outputs[k]] and _writes_like_elementwise(node, u)

    def scratch(node: Node, dims: dict[str, int]) -> int:
        rule = SCRATCH.get(node.op)
        if rule is None:
            return 0
        return rule(node, [lay.shapes[v] for v in node.inputs],
                    [lay.shapes[v] for v in node.outputs])

    return Policy("llvm", writes=lambda n: True, view=lambda n: n.outputs[0] in lay.aliases,
                  in_place=in_place, reuse_operands=False, update_params=not numerics,
                  copy_updates=True, scratch=scratch, threads=threads)


def _writes_like_elementwise(node: Node, p: Value) -> bool:
    """Whether ``node`` may write its result over ``p`` while reading it (same index only)."""
    if (node.op in SCALAR and node.op not in KERNEL) or node.op.elementwise_body:
        return True
    if node.op.anchor is ops.matmul:  # w - lr * (a @ b): the GEMM accumulates into w
        from graphc.backends.llvm.kernels.fused import axpy_form

        form = axpy_form(node)
        return form is not None and node.inputs[form[1]] is p and node.inputs[:2].count(p) == 0
    return False


_KIND_LOC = {
    "arena": lambda s, n: Buffer("arena", s.offset),
    "constant": lambda s, n: Buffer("const", id(n)),
}


def _place_planned(mp: MemoryPlan, lay: Layout) -> None:
    """Arena offsets, constants and in-place parameter updates from the plan (views are
    aliases already; outputs are placed by _place_outputs)."""
    for v, s in mp.slots.items():
        if s.kind in _KIND_LOC:
            lay.where[v] = _KIND_LOC[s.kind](s, v.node)
        elif s.kind == "param":
            lay.where[v] = lay.where[s.shares]  # type: ignore[index]


def _place_updates(graph: Graph, lay: Layout) -> None:
    for p, v in graph.updates:
        if lay.where.get(v) != lay.where[p]:
            lay.last_copies.append((v, lay.where[p]))


def _place_outputs(graph: Graph, lay: Layout) -> None:
    base = lay.n_inputs + lay.n_params
    for k, v in enumerate(graph.outputs):
        slot = Buffer("arg", base + k)
        if v.node is None:
            lay.first_copies.append((v, base + k))  # before any parameter is overwritten
        elif v in lay.where:
            lay.last_copies.append((v, slot))
        else:
            lay.where[v] = slot
