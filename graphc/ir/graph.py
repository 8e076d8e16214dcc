"""Value, Node and Graph: the SSA IR every stage of graphc shares."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphc.ir.errors import DTypeError, GraphcError, ShapeError
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.types import TensorType

if TYPE_CHECKING:
    import networkx as nx

    from graphc.ir.opdef import OpDef

_ids = itertools.count()


class Param:
    """A named, mutable parameter cell; graphs made by passes share it with the original."""

    def __init__(self, name: str, value: np.ndarray | None) -> None:
        self.name = name
        self.value = value  # None: not yet known (parsed from text), fed before running

    def __repr__(self) -> str:
        if self.value is None:
            return f"Param({self.name!r}, no value)"
        return f"Param({self.name!r}, {self.value.dtype}{list(self.value.shape)})"


class Value:
    """One SSA value: a graph argument (input or parameter) or a node's result."""

    __slots__ = ("type", "node", "index", "name", "param", "uid")

    def __init__(
        self,
        type: TensorType,
        node: Node | None = None,
        index: int = 0,
        name: str | None = None,
        param: Param | None = None,
    ) -> None:
        self.type = type
        self.node = node
        self.index = index
        self.name = name
        self.param = param
        self.uid = next(_ids)

    @property
    def is_argument(self) -> bool:
        """Whether this is a graph input or parameter rather than a node result."""
        return self.node is None

    def __repr__(self) -> str:
        label = self.name or (self.node.op.name if self.node else "?")
        return f"<Value {label}: {self.type}>"


class Node:
    """One op application: inputs, validated attributes, results, source location."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "loc", "body", "uid")

    def __init__(
        self,
        op: OpDef,
        inputs: Sequence[Value],
        attrs: dict[str, Any],
        out_types: Sequence[TensorType],
        loc: Loc = UNKNOWN,
        body: Graph | None = None,
    ) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.attrs = attrs
        self.outputs = [Value(t, self, i) for i, t in enumerate(out_types)]
        self.loc = loc
        self.body = body
        self.uid = next(_ids)

    @property
    def output(self) -> Value:
        """The single result of a one-result node."""
        if len(self.outputs) != 1:
            raise GraphcError(f"{self.op.name} has {len(self.outputs)} results, not one")
        return self.outputs[0]

    def describe(self) -> str:
        """'op (file:line)' for error messages."""
        return f"{self.op.name} at {self.loc}"

    def __repr__(self) -> str:
        return f"<Node {self.op.name} at {self.loc}>"


_building: list[Graph] = []


class Graph:
    """An ordered SSA list of nodes with named inputs, parameters, results and updates."""

    def __init__(self, name: str = "main") -> None:
        self.name = name
        self.inputs: list[Value] = []
        self.params: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self.updates: list[tuple[Value, Value]] = []  # (parameter argument, new value)

    # -- building ----------------------------------------------------------------------
    def __enter__(self) -> Graph:
        _building.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _building.remove(self)

    def add_input(self, name: str, type: TensorType) -> Value:
        """Append a placeholder argument; names are unique among arguments."""
        self._check_new_name(name)
        v = Value(type, name=name)
        self.inputs.append(v)
        return v

    def add_param(self, param: Param, type: TensorType) -> Value:
        """Append a parameter argument holding ``param``."""
        self._check_new_name(param.name)
        v = Value(type, name=param.name, param=param)
        self.params.append(v)
        return v

    def _check_new_name(self, name: str) -> None:
        if any(a.name == name for a in self.arguments):
            raise GraphcError(f"graph @{self.name} already has an argument named {name!r}")

    def add_node(
        self,
        op: OpDef,
        inputs: Sequence[Value],
        attrs: dict[str, Any] | None = None,
        loc: Loc = UNKNOWN,
        body: Graph | None = None,
    ) -> Node:
        """Validate attributes, infer result types, append; errors name op and location."""
        node = make_node(op, inputs, attrs or {}, loc, body)
        self.nodes.append(node)
        return node

    # -- queries -----------------------------------------------------------------------
    @property
    def arguments(self) -> list[Value]:
        """Inputs, then parameters: the graph's signature order."""
        return self.inputs + self.params

    @property
    def roots(self) -> list[Value]:
        """What the graph computes: its results, then its parameter update values."""
        return list(self.outputs) + [v for _, v in self.updates]

    def needed(self, roots: Sequence[Value] | None = None) -> list[Node]:
        """The nodes ``roots`` (default: the graph's roots) depend on, in graph order."""
        seen: set[Node] = set()
        stack = [v.node for v in (self.roots if roots is None else roots) if v.node is not None]
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(v.node for v in n.inputs if v.node is not None)
        return [n for n in self.nodes if n in seen]

    def values(self) -> Iterator[Value]:
        """Every value: arguments, then node results in order."""
        yield from self.arguments
        for n in self.nodes:
            yield from n.outputs

    def users(self) -> dict[Value, list[Node]]:
        """For each value, the nodes that read it (in order)."""
        table: dict[Value, list[Node]] = {v: [] for v in self.values()}
        for n in self.nodes:
            for v in n.inputs:
                table.setdefault(v, []).append(n)
        return table

    def param_by_name(self, name: str) -> Value:
        """The parameter argument called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise GraphcError(f"graph @{self.name} has no parameter {name!r}")

    def input_by_name(self, name: str) -> Value:
        """The input argument called ``name``."""
        for p in self.inputs:
            if p.name == name:
                return p
        raise GraphcError(f"graph @{self.name} has no input {name!r}")

    def to_networkx(self) -> nx.MultiDiGraph:
        """Nodes and arguments as a networkx MultiDiGraph (edges carry the value)."""
        import networkx as nx

        g = nx.MultiDiGraph(name=self.name)
        for a in self.arguments:
            g.add_node(a, label=f"%{a.name}: {a.type}", kind="argument")
        for n in self.nodes:
            g.add_node(n, label=n.op.name, kind="node", loc=str(n.loc))
            for i, v in enumerate(n.inputs):
                g.add_edge(v.node if v.node is not None else v, n, value=v, operand=i)
        return g

    def __str__(self) -> str:
        from graphc.ir.printer import print_graph

        return print_graph(self)

    def __repr__(self) -> str:
        return f"<Graph @{self.name}: {len(self.nodes)} nodes>"


def current_graph() -> Graph | None:
    """The innermost graph of an active ``with graph:`` block."""
    return _building[-1] if _building else None


def make_node(
    op: OpDef,
    inputs: Sequence[Value],
    attrs: dict[str, Any],
    loc: Loc = UNKNOWN,
    body: Graph | None = None,
) -> Node:
    """A detached node with checked attributes and inferred result types."""
    in_types = [v.type for v in inputs]
    try:
        attrs = op.check_attrs(attrs, in_types)
        extra = (body,) if body is not None else ()
        out_types = op.infer(in_types, attrs, *extra)
    except (ShapeError, DTypeError) as e:
        operands = ", ".join(str(t) for t in in_types)
        raise type(e)(f"{op.name}({operands}) at {loc}: {e}") from None
    except GraphcError as e:
        raise type(e)(f"{op.name} at {loc}: {e}") from None
    return Node(op, inputs, attrs, out_types, loc, body)
