"""Kernels: the groups fusion forms, kept acyclic without rescanning the graph per candidate.

Nodes belong to groups through a union-find (merging relabels nothing). The groups carry a
topological order of the graph of kernels (``rank``: a group reading another ranks after it),
kept valid under merges in the manner of Pearce and Kelly's dynamic topological sort: merging
A and B (rank A < rank B) creates a cycle exactly when a path A -> X -> B leaves the pair, and
such an X ranks strictly between them, so the search visits only groups ranked between the two
(forward from A, stopping at B's rank). When the merge is safe, the groups in that window that
lead into B move before the merged group and those A leads to move after it, reusing their own
rank slots; nothing outside the window changes. Candidates are neighbours in the graph, so the
windows are short: the cost follows the distance between producer and consumer, not the size
of the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphc.ir.graph import Node, Value
from graphc.passes.fuse_build import Group, is_scalar_constant

SEARCH_LIMIT = 256  # groups one candidate may visit: bounds the pass at linear time
CYCLE = "would create a cycle (a path between them leaves the group)"
FAR = (f"too far apart to rule out a cycle cheaply (more than {SEARCH_LIMIT} kernels lie "
       "between them)")


class Kernels:
    """Groups of nodes (union-find) in a maintained topological order of the kernel graph."""

    def __init__(self, nodes: list[Node], users: dict[Value, list[Node]],
                 make: Callable[[Node], Group]) -> None:
        self.users = users
        self.slot: dict[Node, int] = {}
        self.parent: list[int] = []
        self.owner: list[Group] = []  # the group of each root slot
        self.rank: dict[int, float] = {}  # id(group) -> its place in the topological order
        self.dup_in: dict[Node, list[Group]] = {}  # node -> groups holding a copy of it
        self._reads: dict[int, tuple[list[Value], set[Value]]] = {}
        self._out: dict[int, list[tuple[Value, Node]]] = {}
        for i, n in enumerate(nodes):
            self._new_slot(n, make(n))
            self.rank[id(self[n])] = float(i)

    def _new_slot(self, n: Node, g: Group) -> None:
        self.slot[n] = len(self.parent)
        self.parent.append(len(self.parent))
        self.owner.append(g)

    def _find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def __getitem__(self, n: Node) -> Group:
        return self.owner[self._find(self.slot[n])]

    def groups(self, nodes: Iterable[Node]) -> list[Group]:
        """The distinct groups of ``nodes``, in order of first appearance."""
        return list({id(g): g for g in (self[n] for n in nodes)}.values())

    # -- what a group reads ------------------------------------------------------------
    def reads(self, g: Group) -> list[Value]:
        """The values g's kernel reads from outside it (cached until g changes)."""
        hit = self._reads.get(id(g))
        if hit is None:
            vals = reads(g)
            hit = self._reads[id(g)] = (vals, set(vals))
        return hit[0]

    def reads_value(self, g: Group, v: Value) -> bool:
        self.reads(g)
        return v in self._reads[id(g)][1]

    def changed(self, g: Group) -> None:
        """Forget what was cached about g (its members or copies changed)."""
        self._reads.pop(id(g), None)
        self._out.pop(id(g), None)

    def preds(self, g: Group) -> list[Group]:
        return list({id(h): h for h in (self[v.node] for v in self.reads(g)
                                        if v.node is not None)}.values())

    def succs(self, g: Group) -> list[Group]:
        out: dict[int, Group] = {}
        for v, u in self._edges_out(g):
            for h in (self[u], *self.dup_in.get(u, ())):
                if h is not g and id(h) not in out and self.reads_value(h, v):
                    out[id(h)] = h
        return list(out.values())

    def _edges_out(self, g: Group) -> list[tuple[Value, Node]]:
        """(value, reader) pairs by which g may feed another group (cached until g changes;
        a reader merged into g since is filtered when asked)."""
        hit = self._out.get(id(g))
        if hit is None:
            inside = set(g.members)
            hit = self._out[id(g)] = [
                (v, u) for n in g.members for v in n.outputs for u in self.users.get(v, ())
                if u not in inside or u in self.dup_in]
        return hit

    # -- merging -----------------------------------------------------------------------
    def merge(self, into: Group, other: Group) -> str | None:
        """Make ``other``'s members part of ``into``; or, when that would close a cycle among
        kernels (or the pair is too far apart to rule one out cheaply), change nothing and say
        why."""
        a, b = sorted((into, other), key=lambda g: self.rank[id(g)])
        before = self._window(b, a, forward=False)
        if isinstance(before, str):
            return before
        if before:  # paths into b pass between them: the pair goes after the last of those
            last = max(before, key=lambda g: self.rank[id(g)])
            after = self._window(a, last, forward=True, inclusive=False)
            if isinstance(after, str):
                return FAR
            self._reorder(before, into, after, [a])
        else:  # nothing between them leads into b: the pair can take a's place
            self.rank[id(into)] = self.rank[id(a)]
        self._union(into, other)
        return None

    def _window(self, start: Group, stop: Group, forward: bool,
                inclusive: bool = True) -> list[Group] | str:
        """Groups reachable from ``start`` (forward: successors, else predecessors) ranked
        strictly between start and stop; a reason instead if the search reaches ``stop``
        through them (when ``inclusive``) or visits more than SEARCH_LIMIT groups."""
        lo, hi = sorted((self.rank[id(start)], self.rank[id(stop)]))
        if not inclusive:  # stop is just a bound
            stop = start
        step = self.succs if forward else self.preds
        seen = {id(start), id(stop)}
        found: list[Group] = []
        stack = [g for g in step(start) if g is not stop]
        while stack:
            g = stack.pop()
            if id(g) in seen or not lo < self.rank[id(g)] < hi:
                continue
            seen.add(id(g))
            found.append(g)
            if len(found) > SEARCH_LIMIT:
                return FAR
            nxt = step(g)
            if any(h is stop for h in nxt):
                return CYCLE
            # the group ranked nearest to ``stop`` on top: a path to it, if any, comes soon
            stack.extend(sorted((h for h in nxt if id(h) not in seen),
                                key=lambda h: self.rank[id(h)], reverse=not forward))
        return found

    def _reorder(self, before: list[Group], merged: Group, after: list[Group],
                 pair: list[Group]) -> None:
        """Reuse the rank slots of these groups: ``before`` lowest, then the merged group, then
        ``after`` highest (so those only move later and the others only earlier). The window
        ends at the last of ``before``: a's descendants beyond it stay after the merged group.
        """
        key = self.rank.__getitem__
        slots = sorted(key(id(g)) for g in before + after + pair)
        before = sorted(before, key=lambda g: key(id(g)))
        after = sorted(after, key=lambda g: key(id(g)))
        for g, r in zip(before, slots, strict=False):
            self.rank[id(g)] = r
        for g, r in zip(after, slots[len(slots) - len(after):], strict=True):
            self.rank[id(g)] = r
        self.rank[id(merged)] = slots[len(before)]

    def _union(self, into: Group, other: Group) -> None:
        ri, ro = self._find(self.slot[into.members[0]]), self._find(self.slot[other.members[0]])
        if len(into.members) < len(other.members):  # extend the longer list
            into.members, other.members = other.members, into.members
        into.members.extend(other.members)
        other.members = []
        small, big = (ri, ro) if ri < ro else (ro, ri)
        self.parent[big] = small  # either way round: the root's owner becomes ``into``
        self.owner[small] = into
        self.rank.pop(id(other), None)
        self.changed(into)
        self.changed(other)

    # -- other edits -------------------------------------------------------------------
    def set_dup(self, g: Group, nodes: list[Node]) -> None:
        """g computes copies of ``nodes`` (producers duplicated into a reduction)."""
        for n in g.dup:
            self.dup_in[n] = [h for h in self.dup_in.get(n, []) if h is not g]
        g.dup = nodes
        for n in nodes:
            self.dup_in.setdefault(n, []).append(g)
            for v in n.inputs:  # its producers now feed g too
                if v.node is not None:
                    self.changed(self[v.node])
        self.changed(g)

    def eject(self, b: Node, make: Group) -> None:
        """Take ``b`` out of its group into ``make`` (its operands come from outside the group,
        so it ranks between them and the group)."""
        home = self[b]
        if len(home.members) > 1:
            home.members.remove(b)
        self.changed(home)
        self._new_slot(b, make)
        below = [self.rank[id(p)] for p in self.preds(make)]
        top = self.rank[id(home)]
        self.rank[id(make)] = (max(below) + top) / 2 if below else top - 0.5

    def sort_members(self, groups: list[Group], order: dict[Node, int]) -> None:
        for g in groups:
            g.members.sort(key=order.__getitem__)


def reads(g: Group) -> list[Value]:
    """The values a group's kernel reads from outside it (a duplicated producer's operands,
    not its result)."""
    inside = {v for n in g.members + g.dup for v in n.outputs}
    built = g.size > 1  # a fused node copies rank-0 constants into its body
    return list(dict.fromkeys(v for n in g.dup + g.members for v in n.inputs
                              if v not in inside and not (built and is_scalar_constant(v))))
