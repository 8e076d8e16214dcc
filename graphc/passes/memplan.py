"""Memory planning: liveness, buffer reuse in one arena, in-place updates (an analysis).

``plan_memory(graph, dims)`` gives every node result a home for the bound shapes:
- ``arena``: a buffer at an offset in one arena; buffers whose lifetimes do not overlap share
  bytes (first fit, 64-byte aligned), and an elementwise result may take over the buffer of an
  operand that dies at that node (in place);
- ``param``: a parameter update written into the parameter's own array (in place), when every
  other reader of the parameter runs before it;
- ``view``: shape and indexing ops may return views, so they own nothing and keep their
  operand's buffer alive as long as they live;
- ``output``: results and update values leave the call, so they get fresh memory per call;
- ``fresh``: whatever the backend cannot write into a given buffer (its kernel allocates).
Steps are node indices; a value is live from the node that makes it to its last reader.
Backends follow the plan; the ``memplan`` pass only checks that a plan can be made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.types import TensorType
from graphc.passes.manager import register_pass

ALIGN = 64
ALIAS_FAMILIES = ("shape", "indexing")
PLANNED_FAMILIES = ("elementwise", "reduce", "linalg", "fused", "nn")
EPILOGUE_OPS = ("fused_matmul", "fused_conv2d")


def _aligned(n: int) -> int:
    return (max(n, 1) + ALIGN - 1) // ALIGN * ALIGN


def nbytes(t: TensorType, dims: dict[str, int]) -> int:
    """Bytes of a value of type ``t`` for the bound dims."""
    return int(np.prod(t.concrete(dims), dtype=np.int64)) * t.dtype.np.itemsize


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
    """The plan for one binding of the symbolic dims."""

    graph: Graph
    dims: dict[str, int]
    slots: dict[Value, Slot] = field(default_factory=dict)
    arena_bytes: int = 0
    peak_bytes: int = 0
    unplanned_bytes: int = 0  # every result in its own allocation, nothing freed
    decisions: list[str] = field(default_factory=list)

    def slot(self, v: Value) -> Slot | None:
        return self.slots.get(v)

    def __str__(self) -> str:
        return format_plan(self)


# --- which nodes may write where -------------------------------------------------------------


def _alias(node: Node) -> bool:
    return node.op.family in ALIAS_FAMILIES


def _planned(node: Node) -> bool:
    return node.op.family in PLANNED_FAMILIES and len(node.outputs) >= 1


def inplace_inputs(node: Node, k: int = 0) -> list[int]:
    """Operands whose buffer result ``k`` may take over (same type; overwritten safely)."""
    out = node.outputs[k].type
    same = [i for i, v in enumerate(node.inputs) if v.type == out]
    if node.op.elementwise:
        return same
    if node.body is None or node.op.name == "fused_reduce":
        return []
    offset = 1 if node.op.name in EPILOGUE_OPS else 0  # body argument 0 is the product
    safe = body_inplace_args(node.body, k)
    return [i for i in same if i >= 2 * offset and i - offset in safe]


def body_inplace_args(body: Graph, k: int) -> set[int]:
    """Body arguments that no body op reads after the op yielding result ``k``."""
    target = body.outputs[k]
    if target.node is None or target.node.op.name == "constant":
        return set()
    last_op = body.nodes.index(target.node)
    yielded = set(body.outputs)
    out = set()
    for i, a in enumerate(body.inputs):
        readers = [j for j, n in enumerate(body.nodes) if a in n.inputs]
        if a not in yielded and all(j <= last_op for j in readers):
            out.add(i)
    return out


# --- liveness ----------------------------------------------------------------------------------


def _lifetimes(graph: Graph) -> tuple[dict[Value, int], dict[Value, int], dict[Value, Value]]:
    """Definition step, last-use step and alias root of every value."""
    end_step = len(graph.nodes)
    start = {a: -1 for a in graph.arguments}
    root: dict[Value, Value] = {a: a for a in graph.arguments}
    for i, n in enumerate(graph.nodes):
        for v in n.outputs:
            start[v] = i
            root[v] = root[n.inputs[0]] if _alias(n) and n.inputs else v
    last = dict(start)
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            last[root[v]] = max(last[root[v]], i)
            last[v] = max(last[v], i)
    for v in list(graph.outputs) + [v for _, v in graph.updates]:
        last[root[v]] = last[v] = end_step
    for v, r in root.items():  # a view keeps its owner alive
        last[r] = max(last[r], last[v])
    return start, last, root


# --- the planner ---------------------------------------------------------------------------


class _Planner:
    def __init__(self, graph: Graph, dims: dict[str, int],
                 can_write: Callable[[Node], bool]) -> None:
        self.graph, self.dims, self.can_write = graph, dims, can_write
        self.start, self.last, self.root = _lifetimes(graph)
        self.plan = MemoryPlan(graph, dict(dims))
        self.escaping = {self.root[v] for v in graph.outputs} | {
            self.root[v] for _, v in graph.updates}
        self.update_of = {v: p for p, v in graph.updates}

    def run(self) -> MemoryPlan:
        for i, n in enumerate(self.graph.nodes):
            for k, v in enumerate(n.outputs):
                self.plan.slots[v] = self._place(i, n, k, v)
        self._pack()
        self._measure()
        return self.plan

    def _place(self, i: int, n: Node, k: int, v: Value) -> Slot:
        size = nbytes(v.type, self.dims)
        if n.op.name == "constant":
            return Slot("constant", size, i, self.last[v])
        if _alias(n):
            return Slot("view", 0, i, self.last[v], root=self.root[v])
        if not (_planned(n) and self.can_write(n)):
            return Slot("output" if v in self.escaping else "fresh", size, i, self.last[v])
        if v in self.update_of:
            slot = self._param_in_place(i, n, k, v, size)
            if slot is not None:
                return slot
        if v in self.escaping:
            return Slot("output", size, i, self.last[v])
        return self._arena_in_place(i, n, k, v, size) or Slot("arena", size, i, self.last[v])

    def _param_in_place(self, i: int, n: Node, k: int, v: Value, size: int) -> Slot | None:
        p = self.update_of[v]
        ok = (p in n.inputs and n.inputs.index(p) in inplace_inputs(n, k)
              and self.last[p] == i and p not in self.escaping_args() and v not in
              self.graph.outputs and n.inputs.count(p) == 1)
        if not ok:
            return None
        self.plan.decisions.append(f"{_name(self, v)} is written into parameter %{p.name} "
                                   "in place (its last reader)")
        return Slot("param", size, i, self.last[v], shares=p)

    def escaping_args(self) -> set[Value]:
        return {self.root[v] for v in self.graph.outputs}

    def _arena_in_place(self, i: int, n: Node, k: int, v: Value, size: int) -> Slot | None:
        for j in inplace_inputs(n, k):
            u = n.inputs[j]
            s = self.plan.slots.get(u)
            if s is None or s.kind != "arena" or self.last[u] != i or n.inputs.count(u) > 1:
                continue
            if any(o.shares is u for o in self.plan.slots.values()):
                continue  # another result of this node already took it over
            self.plan.decisions.append(f"{_name(self, v)} reuses {_name(self, u)} in place")
            return Slot("arena", size, i, self.last[v], shares=u)
        return None

    # -- packing: first fit over the live buffers --------------------------------------
    def _owners(self) -> dict[Value, tuple[int, int, int]]:
        """Arena buffers: owner value -> (bytes, first step, last step), in-place chains
        merged into their first owner."""
        owner: dict[Value, Value] = {}
        spans: dict[Value, list[int]] = {}
        for v, s in self.plan.slots.items():
            if s.kind != "arena":
                continue
            o = owner[s.shares] if s.shares is not None else v
            owner[v] = o
            span = spans.setdefault(o, [s.nbytes, s.start, s.end])
            span[2] = max(span[2], s.end)
        self.owner = owner
        return {o: (b, a, e) for o, (b, a, e) in spans.items()}

    def _pack(self) -> None:
        buffers = self._owners()
        placed: list[tuple[int, int, int, int]] = []  # offset, size, start, end
        offsets: dict[Value, int] = {}
        for o, (size, a, e) in sorted(buffers.items(), key=lambda kv: (kv[1][1], -kv[1][0])):
            offsets[o] = self._first_fit(placed, _aligned(size), a, e)
            placed.append((offsets[o], _aligned(size), a, e))
        for v, s in self.plan.slots.items():
            if s.kind == "arena":
                s.offset = offsets[self.owner[v]]
        self.plan.arena_bytes = max((off + size for off, size, _, _ in placed), default=0)

    @staticmethod
    def _first_fit(placed: list[tuple[int, int, int, int]], size: int, a: int, e: int) -> int:
        busy = sorted((off, off + sz) for off, sz, s, t in placed if s <= e and a <= t)
        offset = 0
        for lo, hi in busy:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        return offset

    def _measure(self) -> None:
        steps = range(len(self.graph.nodes))
        own = [s for v, s in self.plan.slots.items()
               if s.kind in ("fresh", "output", "constant") or (s.kind == "arena"
                                                                and s.shares is None)]
        self.plan.unplanned_bytes = sum(s.nbytes for s in self.plan.slots.values()
                                        if s.kind not in ("view", "constant"))
        fresh_peak = max((sum(s.nbytes for s in own if s.kind != "arena" and s.start <= i <= s.end)
                          for i in steps), default=0)
        self.plan.peak_bytes = self.plan.arena_bytes + fresh_peak


def _name(p: _Planner, v: Value) -> str:
    return value_names(p.graph).get(v, "%?")


_NAMES: dict[int, tuple[Graph, dict[Value, str]]] = {}


def value_names(graph: Graph) -> dict[Value, str]:
    """The text-IR names (%name for arguments, %0, %1 ... for results, bodies included)."""
    cached = _NAMES.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    names = {a: f"%{a.name}" for a in graph.arguments}
    counter = 0

    def walk(g: Graph) -> None:
        nonlocal counter
        for n in g.nodes:
            for v in n.outputs:
                names[v] = f"%{counter}"
                counter += 1
            if n.body is not None:
                walk(n.body)

    walk(graph)
    _NAMES.clear()
    _NAMES[id(graph)] = (graph, names)
    return names


def plan_memory(graph: Graph, dims: dict[str, int] | None = None,
                can_write: Callable[[Node], bool] | None = None) -> MemoryPlan:
    """The memory plan of ``graph`` for the bound ``dims``; ``can_write(node)`` says whether the
    backend can write that node's results into given buffers (default: every planned op)."""
    return _Planner(graph, dict(dims or {}), can_write or (lambda n: True)).run()


def format_plan(plan: MemoryPlan) -> str:
    """Buffer lifetimes, reuse decisions and peak bytes, as text."""
    names = value_names(plan.graph)
    bound = ", ".join(f"{k}={v}" for k, v in sorted(plan.dims.items())) or "static shapes"
    lines = [f"memory plan for @{plan.graph.name} ({bound})",
             f"  arena: {plan.arena_bytes} bytes; peak: {plan.peak_bytes} bytes "
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


@register_pass("memplan")
def memplan(graph: Graph) -> Graph:
    """Check that the graph can be planned (static dims bound to 1); the IR is unchanged."""
    symbols = {s for v in graph.values() for s in v.type.symbols()}
    plan_memory(graph, dict.fromkeys(symbols, 1))
    return graph
