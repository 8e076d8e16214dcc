"""What the explorer page shows, gathered from a compiled Function as plain data.

A Function is read through its public methods only (``graph``, ``passes``, ``fusion_report()``,
``memory_plan()``, ``llvm_ir()``, ``asm()``), so this package imports nothing above the IR.
Node ids: ``n<i>`` for the i-th node of the graph that runs, ``a<j>`` for its arguments.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from graphc.ir.graph import Graph, Node, Value
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.printer import format_attr, render

_RESULTS = re.compile(r"^\s*(%[^=]+?) = ")


@dataclass
class NodeInfo:
    """One box of the picture: a node of the graph that runs, or an argument."""

    id: str
    op: str
    family: str
    ir: str  # its printed IR line (the header line of a node with a body)
    line: int  # 1-based line in the final IR
    loc: str
    types: list[str]
    attrs: dict[str, str] = field(default_factory=dict)
    body: list[dict[str, str]] = field(default_factory=list)  # op, ir, loc of body nodes
    inputs: list[str] = field(default_factory=list)  # ids of the producers, in operand order
    time: float | None = None  # seconds per call, when a profile exists
    kernel: str | None = None  # the llvm kernel's function name

    def json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}
        out["line"] = self.line
        return out


def _loc_text(loc: Loc) -> str:
    return "" if loc == UNKNOWN else str(loc)


def graph_nodes(graph: Graph) -> tuple[list[NodeInfo], str, dict[Value, str]]:
    """The boxes of ``graph`` (arguments first), its printed IR and the text name of each
    top-level result."""
    text, line_of = render(graph)
    lines = text.splitlines()
    ids: dict[Value, str] = {}
    names: dict[Value, str] = {}
    infos = []
    for j, a in enumerate(graph.arguments):
        ids[a] = names[a] = f"a{j}"
        names[a] = f"%{a.name}"
        kind = "input" if a in graph.inputs else "param"
        infos.append(NodeInfo(f"a{j}", f"%{a.name}", kind, f"%{a.name}: {a.type}", 1, "",
                              [str(a.type)]))
    for i, n in enumerate(graph.nodes):
        ir_line = lines[line_of[n] - 1].strip()
        m = _RESULTS.match(ir_line)
        for v, name in zip(n.outputs, (m.group(1) if m else "").split(", "), strict=False):
            names[v] = name
            ids[v] = f"n{i}"
        infos.append(_node_info(i, n, ir_line, line_of, lines, ids))
    return infos, text, names


def _node_info(i: int, n: Node, ir_line: str, line_of: dict[Node, int], lines: list[str],
               ids: dict[Value, str]) -> NodeInfo:
    attrs = {k: _short(format_attr(v)) for k, v in n.attrs.items()}
    body = [{"op": b.op.name, "ir": lines[line_of[b] - 1].strip(), "loc": _loc_text(b.loc)}
            for b in (n.body.nodes if n.body is not None else [])]
    return NodeInfo(f"n{i}", n.op.name, n.op.family, ir_line, line_of[n], _loc_text(n.loc),
                    [str(v.type) for v in n.outputs], attrs, body,
                    [ids[v] for v in n.inputs if v in ids])


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


# -- the pipeline ----------------------------------------------------------------------------
def pipeline_steps(passes: Any) -> list[dict[str, Any]]:
    """The IR before any pass, then after each: name, ms, node counts, and the 0-based
    indices of the lines that differ from the step before (what -print-changed shows)."""
    if passes is None:
        return []
    steps = [{"name": "input", "ms": 0.0, "before": None, "after": None, "changed": False,
              "ir": passes.input_ir, "marks": []}]
    for rec in passes.records:
        steps.append({"name": rec.name, "ms": round(rec.seconds * 1e3, 3),
                      "before": rec.nodes_before, "after": rec.nodes_after,
                      "changed": rec.changed, "ir": rec.ir,
                      "marks": changed_lines(steps[-1]["ir"], rec.ir)})
    return steps


def changed_lines(before: str, after: str) -> list[int]:
    """0-based indices of the lines of ``after`` that are new or changed against ``before``."""
    old, new = before.splitlines(), after.splitlines()
    marks: list[int] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            marks.extend(range(j1, j2))
    return marks


# -- fusion ----------------------------------------------------------------------------------
def fusion_data(report: Any, graph: Graph) -> dict[str, Any]:
    """The fusion report with each group and boundary linked to the node ids that hold the
    nodes it names (matched by op and source location: fusion copies both into bodies)."""
    index = _node_keys(graph)

    def ids(n: Node) -> list[str]:
        return index.get((n.op.name, str(n.loc)), [])

    groups = []
    for g in report.groups:
        if g.size <= 1:
            continue
        head = g.anchor or g.members[0]
        ops = [n.op.name for n in g.dup + g.members]
        groups.append({"kind": g.kind, "ops": ops, "loc": _loc_text(head.loc),
                       "nodes": ids(head)})
    boundaries = [{"producer": _desc(b.producer), "consumer": _desc(b.consumer),
                   "reason": b.reason, "nodes": list(dict.fromkeys(ids(b.producer)
                                                                   + ids(b.consumer)))}
                  for b in report.boundaries]
    return {"nodes_before": report.nodes_before, "groups": groups, "boundaries": boundaries}


def _desc(n: Node) -> str:
    types = ", ".join(str(v.type) for v in n.outputs)
    where = f" ({n.loc})" if n.loc != UNKNOWN else ""
    return f"{n.op.name} -> {types}{where}"


def _node_keys(graph: Graph) -> dict[tuple[str, str], list[str]]:
    """(op name, loc) -> ids of the top-level nodes that are or contain such a node."""
    index: dict[tuple[str, str], list[str]] = {}
    for i, n in enumerate(graph.nodes):
        keys = {(n.op.name, str(n.loc)), (n.op.name.removeprefix("fused_"), str(n.loc))}
        if isinstance(n.attrs.get("reduce"), str):
            keys.add((n.attrs["reduce"], str(n.loc)))
        keys |= {(b.op.name, str(b.loc)) for b in (n.body.nodes if n.body is not None else [])}
        for k in keys:
            index.setdefault(k, []).append(f"n{i}")
    return index


# -- llvm kernels ----------------------------------------------------------------------------
_DEFINE = re.compile(r'^define [^@]*@"?([^"(]+)"?\(')
_ASM_FUNC = re.compile(r"^\s*\.type\s+\"?([^\",]+)\"?,\s*@function")
_KERNEL_NODE = re.compile(r"^n(\d+)\.")
MAX_LINES = 3000  # per kernel and listing: a page stays small enough to attach to a report


def split_functions(text: str, start: re.Pattern[str]) -> dict[str, str]:
    """Function name -> its text, for LLVM IR (``define``) or assembly (``.type @function``)."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = start.match(line)
        if m:
            current = out.setdefault(m.group(1), [])
        if current is not None:
            current.append(line)
        if start is _DEFINE and line == "}":
            current = None
    return {name: _clip(lines) for name, lines in out.items()}


def _clip(lines: list[str]) -> str:
    if len(lines) <= MAX_LINES:
        return "\n".join(lines)
    return "\n".join(lines[:MAX_LINES] + [f"... ({len(lines) - MAX_LINES} more lines)"])


def llvm_kernels(fn: Any, dims: dict[str, int] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Per kernel function: its name, node id, LLVM IR and assembly; or a note why none.
    ``dims``: the binding to show (default: the last one compiled)."""
    try:
        ir_text, asm_text = fn.llvm_ir(**(dims or {})), fn.asm(**(dims or {}))
    except Exception as e:  # not compiled for any dims yet, or not the llvm backend
        return [], f"no LLVM kernels: {e}"
    asm = split_functions(asm_text, _ASM_FUNC)
    kernels = []
    for name, body in split_functions(ir_text, _DEFINE).items():
        m = _KERNEL_NODE.match(name)
        kernels.append({"name": name, "node": f"n{m.group(1)}" if m else None, "ir": body,
                        "asm": asm.get(name, "")})
    return kernels, ""


def kernel_names(kernels: list[dict[str, Any]]) -> dict[str, str]:
    """node id -> the name of its kernel function."""
    return {k["node"]: k["name"] for k in kernels if k["node"] is not None}
