"""Deterministic text form of a graph; ``parse(print_graph(g))`` prints identically.

    graph @name(%x: f32[B,64]) params(%w: f32[64,10]) -> (f32[B,10]) {
      %0 = matmul %x, %w : f32[B,10]  loc("model.py":12)
      %1 = sum %0 {axis = [1]} : f32[B]
      update %w = %3
      return %0
    }
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.types import DType, TensorType, as_dtype


def format_float(x: float, dtype: np.dtype = np.dtype(np.float64)) -> str:
    """Shortest text that reads back to the same float of ``dtype`` (always has . or e)."""
    text = str(dtype.type(x))
    if text in ("inf", "-inf", "nan"):
        return text
    return text if any(c in text for c in ".en") else text + ".0"


def format_array(arr: np.ndarray) -> str:
    """``dense<f32[2]: [1.0, 2.0]>``; one value when all are equal (a splat)."""
    t = TensorType(as_dtype(arr.dtype), tuple(arr.shape))
    flat = arr.reshape(-1)
    if flat.size and (arr.ndim == 0 or bool(np.all(flat == flat[0]))):
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
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    return str(value)


def format_loc(loc: Loc) -> str:
    if loc == UNKNOWN:
        return ""
    rule = f", {format_attr(loc.rule)}" if loc.rule else ""
    return f"  loc({format_attr(loc.file)}:{loc.line}{rule})"


class _Namer:
    """Gives arguments their own names and node results %0, %1, ... in order."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self.counter = 0

    def fresh(self, v: Value) -> str:
        self.names[v] = f"%{self.counter}"
        self.counter += 1
        return self.names[v]

    def __getitem__(self, v: Value) -> str:
        return self.names.get(v, "%<undefined>")


def _node_line(node: Node, namer: _Namer, indent: str) -> list[str]:
    results = ", ".join(namer.fresh(v) for v in node.outputs)
    operands = ", ".join(namer[v] for v in node.inputs)
    attrs = [f"{k} = {format_attr(v)}" for k, v in node.attrs.items() if not _is_default(node, k)]
    text = f"{indent}{results} = {node.op.name}"
    text += f" {operands}" if operands else ""
    text += f" {{{', '.join(attrs)}}}" if attrs else ""
    text += " : " + ", ".join(str(v.type) for v in node.outputs)
    if node.body is None:
        return [text + format_loc(node.loc)]
    return [text + " {", *_body_lines(node.body, namer, indent + "  "), indent + "}" + format_loc(node.loc)]


def _is_default(node: Node, key: str) -> bool:
    spec = node.op.attrs[key]
    value = node.attrs[key]
    return not isinstance(value, np.ndarray) and type(value) is type(spec.default) and value == spec.default


def _body_lines(body: Graph, namer: _Namer, indent: str) -> list[str]:
    args = []
    for i, a in enumerate(body.inputs):
        namer.names[a] = f"%a{i}" if not a.name else f"%{a.name}"
        args.append(f"{namer.names[a]}: {a.type}")
    lines = [f"{indent}^({', '.join(args)}):"]
    for n in body.nodes:
        lines += _node_line(n, namer, indent + "  ")
    lines.append(f"{indent}  yield {', '.join(namer[v] for v in body.outputs)}")
    return lines


def print_graph(graph: Graph) -> str:
    """The text IR of ``graph`` (deterministic)."""
    namer = _Namer()
    for a in graph.arguments:
        namer.names[a] = f"%{a.name}"
    sig = f"graph @{graph.name}({', '.join(f'%{a.name}: {a.type}' for a in graph.inputs)})"
    if graph.params:
        sig += f" params({', '.join(f'%{a.name}: {a.type}' for a in graph.params)})"
    sig += f" -> ({', '.join(str(v.type) for v in graph.outputs)}) {{"
    lines = [sig]
    for n in graph.nodes:
        lines += _node_line(n, namer, "  ")
    for p, v in graph.updates:
        lines.append(f"  update {namer[p]} = {namer[v]}")
    lines.append(f"  return {', '.join(namer[v] for v in graph.outputs)}".rstrip())
    lines.append("}")
    return "\n".join(lines) + "\n"
