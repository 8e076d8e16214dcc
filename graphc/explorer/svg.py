"""The pictures of the explorer page as SVG text, drawn in Python (the page's script only
pans, zooms and reacts to clicks): the graph, the memory plan timeline, training curves."""

from __future__ import annotations

from html import escape
from typing import Any

from graphc.explorer.collect import NodeInfo
from graphc.explorer.layout import Box, layered

CHAR = 7.2  # px per character of the 12px monospace labels
ROW = 15.0
PAD = 8.0
CHIP_H = 18.0


def _text_width(*texts: str) -> float:
    return max(len(t) for t in texts) * CHAR + 2 * PAD


def _label(info: NodeInfo) -> tuple[str, str]:
    """(first line, second line) of a box: results and op, then result types."""
    if info.id.startswith("a"):
        return info.op, info.types[0]
    results = info.ir.split(" = ", 1)[0] if " = " in info.ir else ""
    return f"{results} {info.op}".strip(), ", ".join(info.types)


# -- the graph -------------------------------------------------------------------------------
def graph_svg(infos: list[NodeInfo]) -> str:
    """The graph as nested SVG groups (id ``vp`` is the pan/zoom viewport)."""
    sizes: dict[str, tuple[float, float]] = {}
    bodies: dict[str, tuple[dict[int, Box], float, float]] = {}
    for info in infos:
        w, h = _text_width(*_label(info)), 2 * ROW + 6
        if info.body:
            bodies[info.id] = _body_layout(info)
            _, bw, bh = bodies[info.id]
            w, h = max(w, bw + 2 * PAD), h + bh + PAD
        sizes[info.id] = (w, h)
    edges = [(src, info.id) for info in infos for src in info.inputs]
    boxes, width, height = layered([i.id for i in infos], edges, sizes)
    top = max((i.time for i in infos if i.time is not None), default=None)
    parts = [_edges_svg(infos, boxes)]
    parts += [_node_svg(info, boxes[info.id], bodies.get(info.id), top) for info in infos]
    return (f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" '
            f'data-w="{width:.0f}" data-h="{height:.0f}"><g id="vp">'
            + "".join(parts) + "</g></svg>")


BODY_W = 240.0  # a fused node's ops wrap in rows this wide (the body IR shows the data flow)


def _body_layout(info: NodeInfo) -> tuple[dict[int, Box], float, float]:
    """A fused node's body ops as chips in rows, in IR order."""
    chips: dict[int, Box] = {}
    x = y = width = 0.0
    for k, b in enumerate(info.body):
        w = len(b["op"]) * CHAR + PAD
        if x > 0 and x + w > BODY_W:
            x, y = 0.0, y + CHIP_H + 4
        chips[k] = Box(x, y, w, CHIP_H)
        x += w + 4
        width = max(width, x - 4)
    return chips, width, (y + CHIP_H if chips else 0.0)


def _edges_svg(infos: list[NodeInfo], boxes: dict[str, Box]) -> str:
    out = []
    for info in infos:
        dst = boxes[info.id]
        for k, src_id in enumerate(info.inputs):
            src = boxes[src_id]
            x2 = dst.x + dst.w * (k + 1) / (len(info.inputs) + 1)
            x1, y1, y2 = src.cx, src.y + src.h, dst.y
            mid = (y1 + y2) / 2
            out.append(f'<path class="edge" data-from="{src_id}" data-to="{info.id}" '
                       f'd="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} '
                       f'{x2:.1f},{y2:.1f}"/>')
    return "".join(out)


def _node_svg(info: NodeInfo, box: Box, body: tuple[dict[int, Box], float, float] | None,
              slowest: float | None) -> str:
    top, second = _label(info)
    style = f' style="fill:{heat(info.time, slowest)}"' if info.time is not None else ""
    shape = "arg" if info.id.startswith("a") else "op"
    title = escape(info.ir + (f"\n{info.loc}" if info.loc else ""))
    out = [f'<g class="node {shape} fam-{info.family}" id="g-{info.id}" data-id="{info.id}" '
           f'transform="translate({box.x:.1f},{box.y:.1f})"><title>{title}</title>',
           f'<rect width="{box.w:.1f}" height="{box.h:.1f}" rx="{12 if shape == "arg" else 4}"'
           f'{style}/>',
           f'<text x="{PAD}" y="{ROW}">{escape(top)}</text>',
           f'<text class="ty" x="{PAD}" y="{2 * ROW}">{escape(second)}</text>']
    if body is not None:
        chips, bw, _ = body
        dx = (box.w - bw) / 2
        for k, chip in chips.items():
            b = info.body[k]
            out.append(f'<g class="chip" data-id="{info.id}" data-body="{k}" '
                       f'transform="translate({chip.x + dx:.1f},{chip.y + 2 * ROW + 10:.1f})">'
                       f'<title>{escape(b["ir"])}</title>'
                       f'<rect width="{chip.w:.1f}" height="{chip.h:.1f}" rx="3"/>'
                       f'<text x="{PAD / 2}" y="13">{escape(b["op"])}</text></g>')
    out.append("</g>")
    return "".join(out)


def heat(seconds: float | None, top: float | None = None) -> str:
    """A fill colour from pale yellow (no time) to red (the slowest node)."""
    if seconds is None:
        return "#eee"
    share = 0.0 if not top else min(seconds / top, 1.0)
    return f"hsl({60 - 60 * share:.0f},95%,{88 - 38 * share:.0f}%)"


# -- the memory plan -------------------------------------------------------------------------
MEM_W, MEM_H = 900.0, 280.0
KIND_CLASS = {"arena": "m-arena", "param": "m-param", "output": "m-output", "fresh": "m-fresh"}


def memory_svg(bars: list[dict[str, Any]], steps: int, peak: tuple[int, int]) -> str:
    """Buffers as bars over node order (x) and addresses (y: arena offset, then the buffers
    outside the arena stacked above it); the step of the largest live total marked."""
    top = max((b["y"] + b["bytes"] for b in bars), default=1) or 1
    sx, sy = MEM_W / max(steps + 1, 1), (MEM_H - 20) / top
    out = [f'<svg id="memsvg" xmlns="http://www.w3.org/2000/svg" viewBox="0 -4 {MEM_W + 90} '
           f'{MEM_H + 24}" width="{MEM_W + 90:.0f}" height="{MEM_H + 24:.0f}">']
    for b in bars:
        x, w = b["start"] * sx, max((b["end"] - b["start"] + 1) * sx, 1.5)
        y, h = MEM_H - (b["y"] + b["bytes"]) * sy, max(b["bytes"] * sy, 1.0)
        out.append(f'<rect class="mbar {KIND_CLASS.get(b["kind"], "m-fresh")}" '
                   f'data-id="{b["node"]}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}"><title>{escape(b["title"])}</title></rect>')
    step, live = peak
    px = (step + 0.5) * sx
    anchor = "end" if px > MEM_W * 0.6 else "start"  # keep the label inside the chart
    out.append(f'<line class="peak" x1="{px:.1f}" x2="{px:.1f}" y1="0" y2="{MEM_H}"/>'
               f'<text class="peaklabel" text-anchor="{anchor}" '
               f'x="{px + (-4 if anchor == "end" else 4):.1f}" y="12">peak {_mb(live)} at node '
               f'{step}</text>'
               f'<line class="axis" x1="0" x2="{MEM_W}" y1="{MEM_H}" y2="{MEM_H}"/>'
               f'<text class="ty" x="0" y="{MEM_H + 16}">node 0</text>'
               f'<text class="ty" x="{MEM_W - 60}" y="{MEM_H + 16}">node {steps - 1}</text>'
               f'<text class="ty" x="{MEM_W + 4}" y="12">{_mb(top)}</text></svg>')
    return "".join(out)


def _mb(n: float) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


# -- training curves -------------------------------------------------------------------------
CURVE_W, CURVE_H = 300.0, 160.0


def curves_svg(history: dict[str, list[float]]) -> str:
    """One small line chart per series, min and max written on the axis."""
    out = []
    for name, ys in history.items():
        if not ys:
            continue
        lo, hi = min(ys), max(ys)
        span = (hi - lo) or 1.0
        sx = CURVE_W / max(len(ys) - 1, 1)
        pts = " ".join(f"{k * sx:.1f},{CURVE_H - (y - lo) / span * (CURVE_H - 10) - 5:.1f}"
                       for k, y in enumerate(ys))
        out.append(f'<figure class="curve"><figcaption>{escape(name)} (last {ys[-1]:.4g})'
                   f'</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
                   f'viewBox="-40 0 {CURVE_W + 50} {CURVE_H + 16}" width="{CURVE_W + 50:.0f}">'
                   f'<polyline class="line" points="{pts}"/>'
                   f'<text class="ty" x="-38" y="10">{hi:.3g}</text>'
                   f'<text class="ty" x="-38" y="{CURVE_H}">{lo:.3g}</text>'
                   f'<text class="ty" x="{CURVE_W - 40}" y="{CURVE_H + 14}">{len(ys)} points'
                   f'</text></svg></figure>')
    return "".join(out)
