"""The memory planner: where every node result lives, for one binding of the symbolic dims.

One planner for every backend; a backend says what it can do through a ``Policy`` (which node
results it writes into buffers it is given, which it returns as views, which operand a result
may overwrite) and the planner decides the rest (tinygrad's ``_can_plan`` is the model). Kinds:
- ``arena``: a buffer at an offset in one arena; buffers whose lifetimes do not overlap share
  bytes (``packing``), and a result may take over the buffer of an operand that dies at that
  node (in place) where the policy allows;
- ``param``: a parameter update written into the parameter's own array (in place), when every
  other reader of the parameter runs before it;
- ``view``: the result shares operand 0's memory, so it owns nothing and keeps the owner alive;
- ``output``: results (and, unless the policy copies them, update values) leave the call, so
  they get memory of their own per call;
- ``constant``: the value is part of the program;
- ``fresh``: whatever the backend cannot write into a given buffer (its kernel allocates).
Steps are node indices (``liveness``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from graphc.analysis.liveness import Liveness, liveness
from graphc.analysis.packing import Interval, align_up, pack
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.printer import value_names
from graphc.ir.types import TensorType


def nbytes(t: TensorType, dims: dict[str, int]) -> int:
    """Bytes of a value of type ``t`` for the bound dims."""
    return int(np.prod(t.concrete(dims), dtype=np.int64)) * t.dtype.np.itemsize


@dataclass(frozen=True)
class Policy:
    """What one backend can do with memory.

    ``writes(node)``: the backend writes the node's results into buffers the plan gives it;
    ``view(node)``: the node's result is a view of its operand 0 (owns no memory);
    ``in_place(node, k, u)``: result ``k`` may be written over operand ``u`` while the node
    reads it; ``reuse_operands``: arena results may take over a dying operand's buffer (else
    only parameter updates are written in place); ``update_params``: update values may be
    written into their parameter's array; ``copy_updates``: an update value that cannot
    be written into its parameter stays in the arena and is copied there after the call (else it
    leaves as an array of its own); ``scratch(node, dims)``: bytes of per-thread scratch the
    node's kernel needs, reserved after the buffers, once per thread.
    """

    name: str
    writes: Callable[[Node], bool]
    view: Callable[[Node], bool]
    in_place: Callable[[Node, int, Value], bool]
    reuse_operands: bool = True
    update_params: bool = True
    copy_updates: bool = False
    scratch: Callable[[Node, dict[str, int]], int] | None = None
    threads: int = 1


@dataclass
class Slot:
    """Where one value lives: kind, arena offset, lifetime, and the value it shares with."""

    kind: str
    nbytes: int
    start: int
    end: int
    offset: int | None = None
    shares: Value | None = None  # in place: the operand whose buffer this result takes over
    root: Value | None = None  # views: the value that owns the memory


@dataclass
class MemoryPlan:
    """The plan for one binding of the symbolic dims, as one backend runs it."""

    graph: Graph
    dims: dict[str, int]
    backend: str = "generic"
    slots: dict[Value, Slot] = field(default_factory=dict)
    arena_bytes: int = 0  # buffers, then scratch_per_thread for each thread
    scratch_offset: int = 0
    scratch_per_thread: int = 0
    peak_bytes: int = 0
    unplanned_bytes: int = 0  # every result in its own allocation, nothing freed
    decisions: list[str] = field(default_factory=list)

    def slot(self, v: Value) -> Slot | None:
        return self.slots.get(v)

    def __str__(self) -> str:
        return format_plan(self)


# --- the reference rules: which results may overwrite which operands --------------------------

ALIAS_FAMILIES = ("shape", "indexing")  # NumPy kernels of these may return views
PLANNED_FAMILIES = ("elementwise", "reduce", "linalg", "fused", "nn")


def inplace_inputs(node: Node, k: int = 0) -> list[int]:
    """Operands whose buffer result ``k`` may take over (same type; each element read before
    it is written): any operand of an elementwise op; of a fused node, the body arguments no
    body op reads after the op yielding result ``k``."""
    out = node.outputs[k].type
    same = [i for i, v in enumerate(node.inputs) if v.type == out]
    if node.op.elementwise:
        return same
    if node.body is None or not (node.op.elementwise_body or node.op.anchor is not None):
        return []
    offset = 1 if node.op.anchor is not None else 0  # body argument 0 is the product
    safe = body_inplace_args(node.body, k)
    return [i for i in same if i >= 2 * offset and i - offset in safe]


def body_inplace_args(body: Graph, k: int) -> set[int]:
    """Body arguments that no body op reads after the op yielding result ``k``."""
    target = body.outputs[k]
    if target.node is None or target.node.op.constant_like:
        return set()
    last_op = body.nodes.index(target.node)
    yielded = set(body.outputs)
    out = set()
    for i, a in enumerate(body.inputs):
        readers = [j for j, n in enumerate(body.nodes) if a in n.inputs]
        if a not in yielded and all(j <= last_op for j in readers):
            out.add(i)
    return out


def _reference_in_place(node: Node, k: int, u: Value) -> bool:
    return node.inputs.index(u) in inplace_inputs(node, k)


REFERENCE = Policy(
    "reference",
    writes=lambda n: n.op.family in PLANNED_FAMILIES and len(n.outputs) >= 1,
    view=lambda n: n.op.family in ALIAS_FAMILIES,
    in_place=_reference_in_place,
)


# --- the planner -------------------------------------------------------------------------------


class _Planner:
    def __init__(self, graph: Graph, dims: dict[str, int], policy: Policy) -> None:
        self.graph, self.dims, self.policy = graph, dims, policy
        self.live: Liveness = liveness(graph, policy.view)
        self.plan = MemoryPlan(graph, dict(dims), policy.name)
        root = self.live.root
        self.returned = {root[v] for v in graph.outputs}
        self.leaving = self.returned | (
            set() if policy.copy_updates else {root[v] for _, v in graph.updates})
        self.update_of = {v: p for p, v in graph.updates}
        self.taken: set[Value] = set()

    def run(self) -> MemoryPlan:
        for i, n in enumerate(self.graph.nodes):
            for k, v in enumerate(n.outputs):
                self.plan.slots[v] = self._place(i, n, k, v)
        self._pack()
        self._scratch()
        self._measure()
        return self.plan

    def _slot(self, kind: str, i: int, v: Value, size: int, **more: Value) -> Slot:
        return Slot(kind, size, i, self.live.last[v], **more)

    def _place(self, i: int, n: Node, k: int, v: Value) -> Slot:
        size = nbytes(v.type, self.dims)
        if n.op.constant_like:
            return self._slot("constant", i, v, size)
        if n.inputs and self.policy.view(n):
            return self._slot("view", i, v, 0, root=self.live.root[v])
        if not self.policy.writes(n):
            return self._slot("output" if v in self.leaving else "fresh", i, v, size)
        if v in self.update_of and self.policy.update_params:
            slot = self._param_in_place(i, n, k, v, size)
            if slot is not None:
                return slot
        if v in self.leaving:
            return self._slot("output", i, v, size)
        return self._arena_in_place(i, n, k, v, size) or self._slot("arena", i, v, size)

    def _param_in_place(self, i: int, n: Node, k: int, v: Value, size: int) -> Slot | None:
        p = self.update_of[v]
        if p in self.returned or v in self.graph.outputs or self.live.last[p] > i:
            return None  # the old value is still needed (or leaves the call)
        if self._reads(n, p) and not self._overwrites(n, k, p):
            return None
        self.plan.decisions.append(f"{self._name(v)} is written into parameter %{p.name} "
                                   "in place (its last reader)")
        return self._slot("param", i, v, size, shares=p)

    def _arena_in_place(self, i: int, n: Node, k: int, v: Value, size: int) -> Slot | None:
        if not self.policy.reuse_operands:
            return None
        for u in dict.fromkeys(n.inputs):
            s = self.plan.slots.get(u)
            if s is None or s.kind != "arena" or self.live.last[u] != i or u in self.taken:
                continue
            if not self._overwrites(n, k, u):
                continue
            self.taken.add(u)  # another result of this node may not take it over too
            self.plan.decisions.append(f"{self._name(v)} reuses {self._name(u)} in place")
            return self._slot("arena", i, v, size, shares=u)
        return None

    def _reads(self, n: Node, owner: Value) -> bool:
        """Whether ``n`` reads ``owner``'s memory (itself or through a view)."""
        return any(self.live.root[u] is owner for u in n.inputs)

    def _overwrites(self, n: Node, k: int, u: Value) -> bool:
        """Whether result ``k`` may be written over ``u``: ``n`` reads u's memory as operand u
        alone (once, not also through a view) and the backend allows it."""
        readers = [w for w in n.inputs if self.live.root[w] is u]
        return readers == [u] and self.policy.in_place(n, k, u)

    def _name(self, v: Value) -> str:
        return value_names(self.graph).get(v, "%?")

    def _pack(self) -> None:
        """First fit over the arena buffers, in-place chains merged into their first owner."""
        owner: dict[Value, Value] = {}
        spans: dict[Value, list[int]] = {}
        for v, s in self.plan.slots.items():
            if s.kind != "arena":
                continue
            o = owner[v] = owner[s.shares] if s.shares is not None else v
            span = spans.setdefault(o, [s.nbytes, s.start, s.end])
            span[2] = max(span[2], s.end)
        offsets, total = pack([Interval(o, b, a, e) for o, (b, a, e) in spans.items()])
        for v, o in owner.items():
            self.plan.slots[v].offset = offsets[o]
        self.plan.arena_bytes = self.plan.scratch_offset = total

    def _scratch(self) -> None:
        rule = self.policy.scratch
        if rule is None:
            return
        need = max((rule(n, self.dims) for n in self.graph.nodes), default=0)
        self.plan.scratch_per_thread = align_up(need)
        self.plan.arena_bytes += self.policy.threads * self.plan.scratch_per_thread

    def _measure(self) -> None:
        slots = self.plan.slots.values()
        own = [s for s in slots if s.kind in ("fresh", "output", "constant")]
        self.plan.unplanned_bytes = sum(s.nbytes for s in slots
                                        if s.kind not in ("view", "constant"))
        fresh_peak = max((sum(s.nbytes for s in own if s.start <= i <= s.end)
                          for i in range(len(self.graph.nodes))), default=0)
        self.plan.peak_bytes = self.plan.arena_bytes + fresh_peak


def plan_memory(graph: Graph, dims: dict[str, int] | None = None,
                policy: Policy = REFERENCE) -> MemoryPlan:
    """The memory plan of ``graph`` for the bound ``dims`` under a backend's ``policy``."""
    return _Planner(graph, dict(dims or {}), policy).run()


def format_plan(plan: MemoryPlan) -> str:
    """Buffer lifetimes, reuse decisions and peak bytes, as text."""
    names = value_names(plan.graph)
    bound = ", ".join(f"{k}={v}" for k, v in sorted(plan.dims.items())) or "static shapes"
    scratch = (f" (scratch {plan.scratch_per_thread} bytes per thread at "
               f"{plan.scratch_offset})" if plan.scratch_per_thread else "")
    lines = [f"memory plan for @{plan.graph.name} ({bound}), {plan.backend} backend",
             f"  arena: {plan.arena_bytes} bytes{scratch}; peak: {plan.peak_bytes} bytes "
             f"(without reuse: {plan.unplanned_bytes} bytes)",
             "  value     kind      bytes   live    offset  note"]
    for v, s in plan.slots.items():
        live = f"{s.start}..{'end' if s.end >= len(plan.graph.nodes) else s.end}"
        off = "" if s.offset is None else str(s.offset)
        note = f"in place of {names.get(s.shares, '?')}" if s.shares is not None else ""
        note = note or (f"view of {names.get(s.root, '?')}" if s.root is not None else "")
        lines.append(f"  {names.get(v, '?'):<9} {s.kind:<8} {s.nbytes:>7}  {live:<7} "
                     f"{off:>7}  {note}".rstrip())
    lines.append("  decisions:")
    lines += [f"    {d}" for d in plan.decisions] or ["    (no in-place updates)"]
    return "\n".join(lines) + "\n"
