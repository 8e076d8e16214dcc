"""``gc.scan``: a loop traced once into a body region (JAX's ``lax.scan`` semantics).

``fn(carry, x) -> (new_carry, y)`` is called once on body arguments; tensors of enclosing graphs
it reads (weights, parameters) become explicit captured operands of the scan node, so the body
only ever uses its own values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc.frontend import api
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value
from graphc.ir.loc import user_loc
from graphc.ir.types import TensorType
from graphc.ops import loop

__all__ = ["scan"]


class _Trace:
    """A body being traced: which outer values it captured, as which body arguments."""

    def __init__(self, body: Graph, outer: Graph) -> None:
        self.body = body
        self.outer = outer
        self.parent: _Trace | None = api.current_trace()  # the body enclosing this scan, if any
        self.captures: dict[Value, Value] = {}

    def capture(self, t: Tensor) -> Tensor:
        """The body's handle on outer tensor ``t`` (an argument made on first use)."""
        if t.graph is self.body:
            return t
        if t.graph is not self.outer and self.parent is not None:
            t = self.parent.capture(t)  # from further out: into the enclosing body first
        if t.graph is not self.outer:
            return t  # another graph altogether: apply() reports it
        arg = self.captures.get(t.ir)
        if arg is None:
            arg = Value(t.type, name=f"w{len(self.captures)}")
            self.captures[t.ir] = arg
        return Tensor(arg, self.body)


def _flat(tree: Any, what: str) -> tuple[list[Tensor], bool]:
    """Tensors of a Tensor or a tuple/list of Tensors; whether it was a single Tensor."""
    if isinstance(tree, Tensor):
        return [tree], True
    if isinstance(tree, (tuple, list)) and all(isinstance(t, Tensor) for t in tree):
        return list(tree), False
    raise GraphcError(f"scan {what} must be a Tensor or a tuple/list of Tensors, "
                      f"got {type(tree).__name__} at {user_loc()}")


def _pack(items: list[Tensor], single: bool) -> Any:
    return items[0] if single else tuple(items)


def _outer_graph(tensors: list[Tensor]) -> Graph:
    graphs = {id(t.graph): t.graph for t in tensors}
    if len(graphs) > 1:
        names = ", ".join(f"@{g.name}" for g in graphs.values())
        raise GraphcError(f"scan at {user_loc()}: init and xs come from different graphs "
                          f"({names})")
    return tensors[0].graph if tensors else api.default_graph()


def _trace(fn: Callable, trace: _Trace, carry_t: list[Tensor], xs_t: list[Tensor],
           single: tuple[bool, bool], has_xs: bool) -> tuple[list[Tensor], list[Tensor], bool]:
    body = trace.body
    cs = [Tensor(body.add_input(f"c{i}", t.type), body) for i, t in enumerate(carry_t)]
    xa = [Tensor(body.add_input(f"x{i}", TensorType(t.dtype, t.shape[1:])), body)
          for i, t in enumerate(xs_t)]
    api.push_trace(trace)
    try:
        with body:
            out = fn(_pack(cs, single[0]), _pack(xa, single[1]) if has_xs else None)
    finally:
        api.pop_trace(trace)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise GraphcError(f"scan body at {user_loc()} must return (new_carry, y), got "
                          f"{type(out).__name__}")
    new_carry, y = out
    new_c, _ = _flat(new_carry, "new carry")
    if len(new_c) != len(cs):
        raise GraphcError(f"scan at {user_loc()}: the body returns {len(new_c)} carries for "
                          f"{len(cs)} in init; the carry keeps its structure")
    ys, y_single = ([], True) if y is None else _flat(y, "y")
    return [trace.capture(t) for t in new_c], [trace.capture(t) for t in ys], y_single


def scan(fn: Callable, init: Any, xs: Any = None, length: int | str | None = None,
         reverse: bool = False, checkpoint: bool = False) -> tuple[Any, Any]:
    """Loop ``fn(carry, x) -> (new_carry, y)`` over axis 0 of ``xs`` (or ``length`` steps);
    returns ``(final_carry, ys)`` with the ys stacked on a new axis 0 (None if fn returns no y).

    ``init``: a Tensor or a tuple/list of Tensors, whose types the body must keep; ``xs``: a
    Tensor, a tuple/list of Tensors (equal leading dims) or None with ``length``;
    ``checkpoint``: gradients recompute the body per step from the saved carries instead of
    saving the body's values for every step."""
    carry_t, single_c = _flat(init, "init")
    xs_t, single_x = ([], True) if xs is None else _flat(xs, "xs")
    outer = _outer_graph(carry_t + xs_t)
    trace = _Trace(Graph("scan_body"), outer)
    new_c, ys, single_y = _trace(fn, trace, carry_t, xs_t, (single_c, single_x), xs is not None)
    try:
        loop.check_carries([t.type for t in new_c], [t.type for t in carry_t])
    except GraphcError as e:
        raise type(e)(f"scan at {user_loc()}: {e}") from None
    trace.body.outputs = [t.ir for t in new_c + ys]
    trace.body.inputs += list(trace.captures.values())
    attrs = {"carries": len(carry_t), "sequences": len(xs_t), "reverse": reverse,
             "checkpoint": checkpoint}
    if length is not None:
        attrs["length"] = (length,)
    operands = [t.ir for t in carry_t + xs_t] + list(trace.captures)
    node = outer.add_node(loop.scan, operands, attrs, user_loc(), trace.body)
    outs = [Tensor(v, outer) for v in node.outputs]
    final = _pack(outs[:len(carry_t)], single_c)
    stacked = outs[len(carry_t):]
    return final, (None if not ys else _pack(stacked, single_y))
