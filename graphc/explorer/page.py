"""One self-contained HTML page about a compiled Function: no network, script and style inline,
so it opens from disk (file://) and can be attached to a bug report."""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any

from graphc.explorer import collect, svg
from graphc.explorer.memory import memory_bars
from graphc.support.files import atomic_write


def _asset(name: str) -> str:
    return resources.files("graphc.explorer").joinpath(name).read_text(encoding="utf-8")


def _json_script(data: Any) -> str:
    """JSON inside a <script> element: "</" is escaped so no string can close the element."""
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="data">{text}</script>'


def build_page(fn: Any, history: dict[str, list[float]] | None = None,
               profile: dict[int, float] | None = None,
               dims: dict[str, int] | None = None) -> str:
    """The page's HTML. ``profile``: seconds per call by node index (colours the graph);
    ``history``: training curves by name; ``dims``: bindings for the memory plan (default:
    the function's last call)."""
    last = getattr(fn, "last_profile", None)
    if profile is None and last is not None:
        profile = last.times()
    infos, final_ir, names = collect.graph_nodes(fn.graph)
    kernels, kernel_note = collect.llvm_kernels(fn, dims)
    by_node = collect.kernel_names(kernels)
    for info in infos:
        info.kernel = by_node.get(info.id)
        if profile is not None and info.id.startswith("n"):
            info.time = profile.get(int(info.id[1:]))
    steps = collect.pipeline_steps(getattr(fn, "passes", None))
    sections = [
        ("pipeline", "Pipeline", _pipeline_html(steps)),
        ("fusion", "Fusion", _fusion_html(fn)),
        ("memory", "Memory", _memory_html(fn, names, dims)),
        ("kernels", "Kernels", _kernels_html(kernels, kernel_note, profile)),
        ("ir", "Final IR", _ir_html(final_ir)),
    ]
    if last is not None:
        sections.insert(0, ("profile", "Profile", f'<pre class="code">{escape(str(last))}</pre>'))
    if history:
        sections.insert(0, ("training", "Training", svg.curves_svg(history)))
    data = {"nodes": {i.id: i.json() for i in infos},
            "steps": [{"ir": s["ir"], "marks": s["marks"]} for s in steps]}
    return _document(fn, infos, sections, data)


def _document(fn: Any, infos: list[collect.NodeInfo], sections: list[tuple[str, str, str]],
              data: dict[str, Any]) -> str:
    name = escape(fn.graph.name)
    ops = sum(1 for i in infos if i.id.startswith("n"))
    timed = any(i.time is not None for i in infos)
    tabs = "".join(f'<button class="tab" data-tab="{key}">{label}</button>'
                   for key, label, _ in sections)
    bodies = "".join(f'<section class="pane" id="tab-{key}">{html}</section>'
                     for key, _, html in sections)
    legend = ('<span class="legend">colour: time per call (yellow to red)</span>' if timed
              else '<span class="legend">colour: op family</span>')
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>graphc explorer: @{name}</title><style>{_asset('page.css')}</style></head>"
        f'<body><header><h1>@{name}</h1><span class="sum">{ops} nodes, '
        f"{escape(type(fn.executable).__name__)}</span></header>"
        f'<main><section id="graphpane"><div class="tools"><button id="fit">fit</button>'
        f'<button id="zin">+</button><button id="zout">&minus;</button>{legend}</div>'
        f"{svg.graph_svg(infos)}</section>"
        f'<aside id="details"><p class="hint">Click a node: its type, attributes, IR line and '
        f"source location show here. Drag to pan, wheel to zoom.</p></aside></main>"
        f'<nav id="tabs">{tabs}</nav>{bodies}{_json_script(data)}'
        f"<script>{_asset('page.js')}</script></body></html>\n")


def _pipeline_html(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return '<p class="hint">compiled without a pass manager: no pipeline to show</p>'
    items = []
    for k, s in enumerate(steps):
        counts = "" if s["before"] is None else f'{s["before"]} &rarr; {s["after"]} nodes'
        mark = "changed" if s["changed"] else "unchanged"
        items.append(f'<li class="step {mark if k else ""}" data-step="{k}">'
                     f'<b>{escape(s["name"])}</b> <span class="ty">{s["ms"]:.2f} ms '
                     f"{counts} {mark if k else ''}</span></li>")
    total = sum(s["ms"] for s in steps)
    return (f'<div class="stepper"><ol id="steps">{"".join(items)}</ol>'
            f'<p class="ty">total {total:.2f} ms; changed lines are highlighted</p></div>'
            f'<pre id="stepir" class="code"></pre>')


def _fusion_html(fn: Any) -> str:
    try:
        report = fn.fusion_report()
    except Exception as e:  # compiled without a pass manager
        return f'<p class="hint">{escape(str(e))}</p>'
    data = collect.fusion_data(report, fn.graph)
    groups = "".join(_linked("li", ", ".join(g["ops"]), g["nodes"], f'<b>{g["kind"]}</b>: ',
                             f' <span class="ty">{escape(g["loc"])}</span>')
                     for g in data["groups"])
    bounds = "".join(_linked("li", f'{b["producer"]}  =>  {b["consumer"]}', b["nodes"], "",
                             f': <i>{escape(b["reason"])}</i>')
                     for b in data["boundaries"])
    return (f'<p>{data["nodes_before"]} nodes before fusion; {len(data["groups"])} fused '
            f"kernels. Click an entry to show its nodes.</p><h3>fused</h3><ul>{groups}</ul>"
            f'<h3>not fused</h3><ul>{bounds or "<li>(none)</li>"}</ul>')


def _linked(tag: str, text: str, nodes: list[str], before: str, after: str) -> str:
    return (f'<{tag} class="link" data-nodes="{" ".join(nodes)}">{before}'
            f"<code>{escape(text)}</code>{after}</{tag}>")


def _memory_html(fn: Any, names: dict, dims: dict[str, int] | None) -> str:
    try:
        plan = fn.memory_plan(dims)
    except Exception as e:  # no dims bound yet
        return f'<p class="hint">no memory plan: {escape(str(e))}</p>'
    bars, steps, peak = memory_bars(plan, names)
    bound = ", ".join(f"{k}={v}" for k, v in sorted(plan.dims.items())) or "static shapes"
    return (f"<p>memory plan for {escape(bound)}: arena {plan.arena_bytes} bytes, peak "
            f"{plan.peak_bytes} bytes (without reuse {plan.unplanned_bytes}). Bars: buffers over "
            f"the nodes they are live; blue arena, green parameters written in place, orange "
            f"outputs, grey fresh. Click a bar for the node that writes it.</p>"
            f"{svg.memory_svg(bars, steps, peak)}")


def _kernels_html(kernels: list[dict[str, Any]], note: str,
                  profile: dict[int, float] | None) -> str:
    if not kernels:
        return f'<p class="hint">{escape(note or "numpy backend: no compiled kernels")}</p>'
    out = []
    for k in kernels:
        link = (f' <a class="link" data-nodes="{k["node"]}">show node {k["node"][1:]}</a>'
                if k["node"] else "")
        seconds = (profile or {}).get(int(k["node"][1:])) if k["node"] else None
        link += f' <b>{seconds * 1e6:.1f} us</b>' if seconds is not None else ""
        asm = f'<h4>assembly</h4><pre class="code">{escape(k["asm"])}</pre>' if k["asm"] else ""
        out.append(f'<details class="kernel"><summary><code>{escape(k["name"])}</code>{link}'
                   f' <span class="ty">{k["ir"].count(chr(10)) + 1} IR lines</span></summary>'
                   f'<h4>LLVM IR</h4><pre class="code">{escape(k["ir"])}</pre>{asm}</details>')
    return "".join(out)


def _ir_html(text: str) -> str:
    lines = "".join(f'<span id="L{k}">{escape(line)}</span>\n'
                    for k, line in enumerate(text.splitlines(), start=1))
    return f'<pre id="finalir" class="code">{lines}</pre>'


def write_page(path: str, fn: Any, **options: Any) -> str:
    """Write the page to ``path`` atomically; returns ``path``."""
    atomic_write(path, build_page(fn, **options).encode("utf-8"))
    return path
