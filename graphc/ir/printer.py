"""Deterministic text form of a graph; ``parse(print_graph(g))`` prints identically.

    graph @name(%x: f32[B,64]) params(%w: f32[64,10]) -> (f32[B,10]) {
      %0 = matmul %x, %w : f32[B,10]  loc("model.py":12)
      %1 = sum %0 {axis = [1]} : f32[B]
      update %w = %3
      return %0
    }
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.types import DType, TensorType, as_dtype

_F64 = np.dtype(np.float64)


def format_float(x: float, dtype: np.dtype = _F64) -> str:
    """Shortest text that reads back to the same float of ``dtype`` (always has . or e)."""
    text = str(dtype.type(x))
    if text in ("inf", "-inf", "nan"):
        return text
    return text if any(c in text for c in ".en") else text + ".0"


def format_array(arr: np.ndarray) -> str:
    """``dense<f32[2]: [1.0, 2.0]>``; one value when all are bitwise equal (a splat)."""
    t = TensorType(as_dtype(arr.dtype), tuple(arr.shape))
    flat = np.ascontiguousarray(arr).reshape(-1)
    # bitwise, so that -0.0 among 0.0 is kept and an all-nan array is a splat
    if flat.size and flat.tobytes() == np.full_like(flat, flat[0]).tobytes():
        return f"dense<{t}: {_scalar_text(flat[0])}>"
    return f"dense<{t}: [{', '.join(_scalar_text(v) for v in flat)}]>"


def _scalar_text(v: np.generic) -> str:
    if isinstance(v, np.bool_):
        return "true" if v else "false"
    if isinstance(v, np.floating):
        return format_float(v, v.dtype)
    return str(int(v))


def format_attr(value: Any) -> str:
    """One attribute value in the generic syntax."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, DType):
        return value.short
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, np.ndarray):
        return format_array(value)
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    return str(value)


def format_string(text: str) -> str:
    """A double-quoted string literal (backslash, quote, newline and tab escaped)."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_graph_name(name: str) -> str:
    """``@name``, quoted when the name is not an identifier."""
    return f"@{name}" if _IDENT.fullmatch(name) else "@" + format_string(name)


def format_loc(loc: Loc) -> str:
    """The `` loc("file":line)`` suffix of a node line; empty when unknown."""
    if loc == UNKNOWN:
        return ""
    rule = f", {format_attr(loc.rule)}" if loc.rule else ""
    return f"  loc({format_attr(loc.file)}:{loc.line}{rule})"


class _Printer:
    """Names arguments by their own names and node results %0, %1, ... in order; records
    the 1-based line of every node so the verifier can quote it."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self.counter = 0
        self.lines: list[str] = []
        self.line_of: dict[Node, int] = {}

    def fresh(self, v: Value) -> str:
        self.names[v] = f"%{self.counter}"
        self.counter += 1
        return self.names[v]

    def __getitem__(self, v: Value) -> str:
        return self.names.get(v, "%<undefined>")

    def graph(self, graph: Graph) -> None:
        for a in graph.arguments:
            self.names[a] = f"%{a.name}"
        sig = f"graph {format_graph_name(graph.name)}({_args(graph.inputs)})"
        if graph.params:
            sig += f" params({_args(graph.params)})"
        sig += f" -> ({', '.join(str(v.type) for v in graph.outputs)}) {{"
        self.lines.append(sig)
        for n in graph.nodes:
            self.node(n, "  ")
        for p, v in graph.updates:
            self.lines.append(f"  update {self[p]} = {self[v]}")
        self.lines.append(f"  return {', '.join(self[v] for v in graph.outputs)}".rstrip())
        self.lines.append("}")

    def node(self, node: Node, indent: str) -> None:
        self.line_of.setdefault(node, len(self.lines) + 1)
        operands = ", ".join(self[v] for v in node.inputs)
        results = ", ".join(self.fresh(v) for v in node.outputs)
        attrs = [f"{k} = {format_attr(v)}" for k, v in node.attrs.items()
                 if not _is_default(node, k)]
        text = f"{indent}{results} = {node.op.name}"
        text += f" {operands}" if operands else ""
        text += f" {{{', '.join(attrs)}}}" if attrs else ""
        text += " : " + ", ".join(str(v.type) for v in node.outputs)
        if node.body is None:
            self.lines.append(text + format_loc(node.loc))
            return
        self.lines.append(text + " {")
        self.body(node.body, indent + "  ")
        self.lines.append(indent + "}" + format_loc(node.loc))

    def body(self, body: Graph, indent: str) -> None:
        args = []
        for i, a in enumerate(body.inputs):
            self.names[a] = f"%{a.name}" if a.name else f"%a{i}"
            args.append(f"{self.names[a]}: {a.type}")
        self.lines.append(f"{indent}^({', '.join(args)}):")
        for n in body.nodes:
            self.node(n, indent + "  ")
        self.lines.append(f"{indent}  yield {', '.join(self[v] for v in body.outputs)}".rstrip())


def _args(values: list[Value]) -> str:
    return ", ".join(f"%{a.name}: {a.type}" for a in values)


def _is_default(node: Node, key: str) -> bool:
    spec = node.op.attrs.get(key)
    value = node.attrs[key]
    if spec is None or isinstance(value, np.ndarray):
        return False
    return type(value) is type(spec.default) and value == spec.default


def print_graph(graph: Graph) -> str:
    """The text IR of ``graph`` (deterministic)."""
    return render(graph)[0]


def render(graph: Graph) -> tuple[str, dict[Node, int]]:
    """The text IR and the 1-based line of each node in it (the verifier quotes lines)."""
    printer = _Printer()
    printer.graph(graph)
    return "\n".join(printer.lines) + "\n", printer.line_of


_NAMES: dict[int, tuple[Graph, dict[Value, str]]] = {}  # the last graph named (reports ask often)


def value_names(graph: Graph) -> dict[Value, str]:
    """The text IR's name of every value (``%x`` for arguments, ``%0``, ``%1``... for results,
    bodies included): the one numbering every report uses."""
    cached = _NAMES.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    printer = _Printer()
    printer.graph(graph)
    _NAMES.clear()
    _NAMES[id(graph)] = (graph, printer.names)
    return printer.names
