"""fuse: elementwise chains into ``fused`` nodes, producers into reductions, epilogues into
matmul/conv2d; every boundary left between neighbours gets a reason for the fusion report.

Grouping is greedy in graph order: an elementwise node (or a broadcast_to: the fused node
reads the smaller operand, which broadcasts) joins the group of an elementwise producer of the
same result shape unless that would create a cycle among kernels (checked on the condensed
graph of groups). A reduction takes its elementwise producer group whole when the reduction is
its only reader, and a copy of it (up to DUPLICATE_LIMIT nodes) when the producer's result is
not stored for other readers anyway. A matmul/conv2d takes the elementwise group that is the
only reader of its result as an epilogue. softmax/log_softmax are expanded into primitives
first so that they fuse (max, fused_reduce(sum of exp), fused: three kernels). Kernels are
emitted in a topological order of the condensed graph that follows the original order of each
group's first node (Kahn's algorithm, which also proves the condensed graph acyclic).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.opdef import epilogue_op
from graphc.ir.printer import print_graph
from graphc.ir.types import broadcast_shapes
from graphc.ops import core
from graphc.passes.cse import cse
from graphc.passes.dce import dce
from graphc.passes.fuse_build import Group, build_group, expand
from graphc.passes.fuse_order import Kernels, reads
from graphc.passes.manager import register_pass
from graphc.passes.util import Rewriter

DUPLICATE_LIMIT = 8  # producer nodes a reduction may copy when they have other readers


def _elementwise(node: Node) -> bool:
    """Fusible per element: elementwise ops, fused groups, and broadcasts (the fused node's
    operands broadcast by themselves)."""
    return node.op.elementwise or node.op.elementwise_body or node.op.broadcast


def _weight(node: Node) -> int:
    """Ops a node stands for (a fused node counts its body)."""
    return len(node.body.nodes) if node.body is not None else 1


def _initial_group(n: Node) -> Group:
    return Group("elementwise" if _elementwise(n) else "single", [n])


def _shapes(g: Group) -> set[tuple]:
    """The result shapes of an elementwise group (merges keep them one shape, so the first
    member speaks for all)."""
    return {v.type.shape for v in g.members[0].outputs}



def _describe(node: Node) -> str:
    where = f" ({node.loc})" if node.loc.line else ""
    return f"{node.op.name} -> {', '.join(str(v.type) for v in node.outputs)}{where}"


@dataclass
class Boundary:
    """Two neighbouring nodes left in different kernels, and why."""

    producer: Node
    consumer: Node
    reason: str

    def __str__(self) -> str:
        return f"{_describe(self.producer)}  =>  {_describe(self.consumer)}: {self.reason}"


@dataclass
class FusionReport:
    """The kernels fusion formed and the reason for every unfused boundary."""

    groups: list[Group] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    nodes_before: int = 0

    def __str__(self) -> str:
        fused = [g for g in self.groups if g.size > 1]
        lines = [f"fusion: {self.nodes_before} nodes in {len(self.groups)} groups, "
                 f"{len(fused)} of them fused:"]
        for g in fused:
            ops = ", ".join(n.op.name for n in g.dup + g.members)
            dup = f", {len(g.dup)} copied" if g.dup else ""
            head = g.anchor or g.members[0]
            where = f"  ({head.loc})" if head.loc.line else ""
            lines.append(f"  {g.kind}: [{ops}{dup}]{where}")
        lines.append("not fused:")
        lines += [f"  {b}" for b in self.boundaries] or ["  (none)"]
        return "\n".join(lines) + "\n"


class Planner:
    """Assigns every node to a group; records why neighbours stayed apart."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.order = {n: i for i, n in enumerate(graph.nodes)}
        self.users = graph.users()
        self.group = Kernels(graph.nodes, self.users, _initial_group)
        self.escaping = set(graph.outputs) | {v for _, v in graph.updates}
        self.reasons: dict[tuple[Node, Node], str] = {}

    def _merge(self, into: Group, other: Group) -> str | None:
        """Merge unless that closes a cycle among kernels (then: why not; nothing changed)."""
        return self.group.merge(into, other)

    # -- phases ------------------------------------------------------------------------
    def plan(self) -> list[Group]:
        for n in self.graph.nodes:
            if _elementwise(n):
                self._join_producers(n)
            elif n.op.reduction:
                self._move_into_reduction(n)
        self._sort_members()
        for n in self.graph.nodes:
            if n.op.reduction and self.group[n].kind == "single":
                self._duplicate_into_reduction(n)
        self._rejoin()  # copies may have removed the readers that kept groups apart
        self._sort_members()
        for g in self._distinct():
            self._keep_domain(g)
        self._rejoin()  # and so may broadcasts moved out
        for n in self.graph.nodes:  # last: epilogues take whole, final groups
            if epilogue_op(n.op) is not None:
                self._fuse_epilogue(n)
        self._sort_members()
        return self._distinct()

    def _sort_members(self) -> None:
        """Members in graph order (merges append them in any order)."""
        self.group.sort_members(self._distinct(), self.order)

    def _rejoin(self) -> None:
        for n in self.graph.nodes:
            if _elementwise(n) and self.group[n].kind == "elementwise":
                self._join_producers(n)

    def _keep_domain(self, g: Group) -> None:
        """A fused node's shape comes from its operands: when absorbed broadcasts were all
        that gave the group its shape, they stay outside as ordinary nodes."""
        if g.epilogue or g.size == 1:
            return
        domain = (g.anchor.inputs[0] if g.kind == "reduce" else g.members[-1].outputs[0]).type
        shapes = [v.type.shape for v in self.group.reads(g)]
        if broadcast_shapes(*shapes) == domain.shape if shapes else domain.rank == 0:
            return
        inside = {v for n in g.members + g.dup for v in n.outputs}
        for b in [n for n in g.members + g.dup
                  if n.op.broadcast and n.inputs[0] not in inside]:
            self._eject(b)
            if b in g.dup:
                self.group.set_dup(g, [d for d in g.dup if d is not b])

    def _eject(self, b: Node) -> None:
        """Make ``b`` a kernel of its own (its operand comes from outside: no cycle)."""
        self.group.eject(b, Group("single", [b]))
        for u in self.users.get(b.outputs[0], ()):
            self.reasons[(b, u)] = "the broadcast gives the kernel its shape"

    def _join_producers(self, n: Node) -> None:
        for v in n.inputs:
            p = v.node
            if p is None or p.op is core.constant or self.group[p] is self.group[n]:
                continue
            pg, ng = self.group[p], self.group[n]
            reason = self._elementwise_refusal(pg, ng, p, n)
            reason = reason or self._merge(pg, ng)
            if reason:
                self.reasons.setdefault((p, n), reason)

    def _elementwise_refusal(self, pg: Group, ng: Group, p: Node, n: Node) -> str | None:
        if pg.kind != "elementwise" or ng.kind != "elementwise":
            return self._producer_reason(p) if pg.kind != "elementwise" else \
                f"consumer is part of a {ng.kind} kernel"
        shapes = _shapes(pg) | _shapes(ng)
        if len(shapes) > 1:
            show = " vs ".join(sorted("[" + ",".join(map(str, s)) + "]" for s in shapes))
            return f"shape mismatch ({show})"
        return None

    def _move_into_reduction(self, r: Node) -> None:
        """A reduction absorbs its elementwise producer group when it is the only reader."""
        src = r.inputs[0].node
        if src is None or self.group[src].kind != "elementwise":
            return
        g = self.group[src]
        escapes = any(v in self.escaping for n in g.members for v in n.outputs)
        if self._outside_readers(g) == [r] and not escapes:
            g.kind, g.anchor = "reduce", r
            refused = self._merge(g, self.group[r])
            assert not refused, "the only reader of a group cannot close a cycle through it"

    def _duplicate_into_reduction(self, r: Node) -> None:
        """A copy of a small producer group whose result would otherwise not be stored."""
        v, src = r.inputs[0], r.inputs[0].node
        if src is None or self.group[src].kind != "elementwise":
            if src is not None:
                self.reasons[(src, r)] = self._producer_reason(src)
            return
        stored = v in self.escaping or any(
            not _elementwise(u) and u is not r for u in self.users.get(v, ()))
        needed = self._needed(self.group[src], v)
        if all(n.op.broadcast for n in needed):
            return  # nothing to compute: the reduction reads the value as it is
        if stored or sum(_weight(n) for n in needed) > DUPLICATE_LIMIT:
            why = "is stored for other readers" if stored else "is too large to copy"
            self.reasons[(src, r)] = f"multiple consumers (the producer {why})"
            return
        self.group[r].kind, self.group[r].anchor = "reduce", r
        self.group.set_dup(self.group[r], needed)

    def _producer_reason(self, p: Node) -> str:
        return f"producer is {p.op.name}, not elementwise"

    def _outside_readers(self, g: Group) -> list[Node]:
        members = set(g.members)
        return list(dict.fromkeys(u for m in g.members for v in m.outputs
                                  for u in self.users.get(v, ()) if u not in members))

    def _needed(self, g: Group, v: Value) -> list[Node]:
        members, need, stack = set(g.members), set(), [v.node]
        while stack:
            n = stack.pop()
            if n in members and n not in need:
                need.add(n)
                stack.extend(x.node for x in n.inputs if x.node is not None)
        return [m for m in g.members if m in need]

    def _fuse_epilogue(self, m: Node) -> None:
        readers = self.users.get(m.outputs[0], [])
        # groups, not nodes: a reduction that copied a reader reads the product too
        groups = {id(h): h for u in readers for h in (self.group[u], *self.group.dup_in.get(u, ()))
                  if self.group.reads_value(h, m.outputs[0])}
        if not readers or m.outputs[0] in self.escaping:
            return
        first = readers[0]
        g = self.group[first]
        reason = None
        if len(groups) > 1:
            reason = "multiple consumers (the product is read outside the epilogue)"
        elif g.epilogue:
            reason = f"consumer is already the epilogue of another {g.anchor.op.name}"
        elif g.kind != "elementwise":
            reason = f"consumer is {first.op.name}, not elementwise"
        elif _shapes(g) != {m.outputs[0].type.shape}:
            reason = "shape mismatch (the epilogue broadcasts the product)"
        else:
            g.kind, g.anchor = m.op.name, m
            reason = self._merge(g, self.group[m])
            if reason:
                g.kind, g.anchor = "elementwise", None
        if reason:
            for u in readers:
                self.reasons.setdefault((m, u), reason)
            return

    def _distinct(self) -> list[Group]:
        return self.group.groups(self.graph.nodes)

    # -- report ------------------------------------------------------------------------
    def boundaries(self) -> list[Boundary]:
        out = []
        for n in self.graph.nodes:
            for v in dict.fromkeys(n.inputs):
                p = v.node
                if p is None or p.op is core.constant or self.group[p] is self.group[n]:
                    continue
                out.append(Boundary(p, n, self.reasons.get((p, n)) or self._why(p, n)))
        return out

    def _why(self, p: Node, n: Node) -> str:
        if self.group[n].dup and p in self.group[n].dup:
            return "duplicated into the reduction (the producer has other consumers)"
        if self.group[p].kind == "reduce" or p.op.reduction:
            return "producer is a reduction (its readers run after it completes)"
        if not _elementwise(n):
            return f"consumer is {n.op.name}, not elementwise"
        return f"producer is {p.op.name}, not elementwise"


def _condensed(groups: list[Group], group_of: Kernels) -> list[set[int]]:
    """Successors of each group in the graph of kernels (an edge: one reads the other)."""
    index = {id(g): i for i, g in enumerate(groups)}
    succ: list[set[int]] = [set() for _ in groups]
    for i, g in enumerate(groups):
        for v in reads(g):
            if v.node is not None:
                succ[index[id(group_of[v.node])]].add(i)
    return succ


def _ranked(succ: list[set[int]], first: list[int]) -> list[int]:
    """A topological order that always takes the ready group whose first node comes first
    (Kahn's algorithm; networkx's lexicographical sort, without importing networkx)."""
    indegree = [0] * len(succ)
    for targets in succ:
        for j in targets:
            indegree[j] += 1
    ready = [(first[i], i) for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    ranked: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        ranked.append(i)
        for j in succ[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, (first[j], j))
    if len(ranked) != len(succ):
        raise GraphcError("fusion formed a cycle among kernels (a bug in the fuse pass)")
    return ranked


def _emit(graph: Graph, planner: Planner, groups: list[Group]) -> Graph:
    order = planner.order
    first = [min(order[n] for n in g.members) for g in groups]
    ranked = _ranked(_condensed(groups, planner.group), first)
    read = {v for g in groups for v in reads(g)}
    escaping = set(graph.roots)
    rw = Rewriter(graph)  # the kernels' order is the ranking: no walk, every node inserted
    for i in ranked:
        g = groups[i]
        if g.size == 1 or (g.kind == "elementwise" and len(g.members) == 1):
            for n in g.members:
                rw.insert(n)
            continue
        yields = _yields(g, read | escaping)
        if not yields:  # every reader took a copy (duplicated into reductions): dead
            continue
        node = build_group(g, yields)
        rw.insert(node)
        rw.replace(yields, node.outputs)
    return rw.finish()


def _yields(g: Group, needed: set[Value]) -> list[Value]:
    if g.kind == "reduce":
        return [g.anchor.outputs[0]]  # type: ignore[union-attr]
    return [v for n in g.members if n is not g.anchor for v in n.outputs if v in needed]


def plan_fusion(graph: Graph) -> tuple[Planner, list[Group]]:
    """Group the nodes of ``graph`` (after softmax expansion, which is done in place)."""
    expand(graph)
    cse(graph)  # the expansion may repeat what the graph already computes (a user's max)
    dce(graph)  # dead readers must not keep neighbours apart
    planner = Planner(graph)
    return planner, planner.plan()


def explain_fusion(graph: Graph) -> FusionReport:
    """The fusion report for ``graph`` (not modified)."""
    from graphc.ir.clone import clone

    work = clone(graph)[0]
    n = len(work.nodes)
    planner, groups = plan_fusion(work)
    return FusionReport(groups, planner.boundaries(), n)


MAX_ROUNDS = 4  # fusing exposes new chances rarely and shallowly; this bounds the loop


@register_pass("fuse", regions=True)
def fuse(graph: Graph) -> Graph:
    """Replace each planned group by one fused node, repeating until nothing changes.

    One round can expose another chance (a copied producer leaves a group whose only reader
    is now a reduction), so a single round would not be idempotent."""
    text = print_graph(graph)
    for _ in range(MAX_ROUNDS):
        planner, groups = plan_fusion(graph)
        graph = dce(_emit(graph, planner, groups))  # constants copied into bodies may be dead
        new_text = print_graph(graph)
        if new_text == text:
            break
        text = new_text
    return graph
