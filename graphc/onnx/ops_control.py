"""Converters: control flow. Scan maps onto gc.scan (the body converted while gc.scan traces
it); If with a condition known at import time imports the branch taken (ops_shape)."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.api import constant
from graphc.frontend.loop import scan
from graphc.frontend.tensor import Tensor
from graphc.onnx.table import NodeContext, converts


def _uniform(ctx: NodeContext, name: str, count: int) -> int:
    """The one value of a per-input attribute list (axes, directions); others unsupported."""
    values = set(ctx.attr(name) or [0] * count)
    if len(values) > 1:
        raise ctx.fail(f"Scan with mixed {name} {sorted(values)} is not supported")
    return values.pop() if values else 0


@converts("Scan")
def _scan(ctx: NodeContext, *ins: Tensor) -> list[Tensor]:
    if ctx.opset < 9:
        raise ctx.fail("Scan before opset 9 (with a sequence_lens input) is not supported")
    body, m = ctx.attr("body"), ctx.attr("num_scan_inputs")
    n = len(ins) - m
    for name in ("scan_input_axes", "scan_output_axes"):
        if _uniform(ctx, name, m) != 0:
            raise ctx.fail(f"Scan {name} other than 0 is not supported")
    reverse = bool(_uniform(ctx, "scan_input_directions", m))
    # ONNX stacks outputs in iteration order (direction 1: reversed); gc.scan puts each
    # step's y at its input's index, so the two differ exactly when the directions do
    flip = reverse != bool(_uniform(ctx, "scan_output_directions", len(body.output) - n))
    names = [i.name for i in body.input]

    def step(carry: Any, xs: Any) -> tuple[list[Tensor], list[Tensor] | None]:
        outs = ctx.subgraph(body, dict(zip(names, [*carry, *(xs or ())], strict=True)))
        return list(outs[:n]), (list(outs[n:]) or None)

    final, ys = scan(step, list(ins[:n]), list(ins[n:]) or None, reverse=reverse)
    return [*final, *(_flip0(ctx, y) if flip else y for y in ys or [])]


def _flip0(ctx: NodeContext, y: Tensor) -> Tensor:
    steps = y.shape[0]
    if not isinstance(steps, int):
        raise ctx.fail("Scan with reversed output order needs a static number of steps")
    return fn.take(y, constant(np.arange(steps - 1, -1, -1, dtype=np.int64)), axis=0)
