"""Loops: ``scan``, a node whose body region runs once per step along axis 0 of its sequences.

Operands, in order: ``carries`` initial carries, ``sequences`` tensors scanned along axis 0,
then the captured tensors (weights the body reads every step). The body takes one argument per
operand (a carry, one step's slice of a sequence, a capture) and yields the new carries, then
one value per step output ``y``. The node's results: the final carries, then each ``y``
stacked on a new axis 0 of length T (``length``, or the sequences' leading dim, possibly
symbolic so one compile serves every length). ``reverse`` runs the steps from T-1 down to 0
(the stacked outputs stay indexed by step). The NumPy kernel runs the body once per step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.ir.errors import DTypeError, GraphcError, ShapeError
from graphc.ir.graph import Graph, Node, make_node
from graphc.ir.opdef import Attrs, AttrSpec, OpDef, register
from graphc.ir.types import TensorType
from graphc.ops.evaluate import run_node
from graphc.ops.loop_grad import scan_vjp

__all__ = ["scan"]

Types = Sequence[TensorType]


def split(items: Sequence, attrs: Attrs) -> tuple[list, list, list]:
    """Operands (or body arguments) as (carries, sequences, captures)."""
    nc, ns = attrs["carries"], attrs["sequences"]
    return list(items[:nc]), list(items[nc:nc + ns]), list(items[nc + ns:])


def _canon(in_types: Types, attrs: Attrs) -> Attrs:
    nc, ns = attrs["carries"], attrs["sequences"]
    if nc < 0 or ns < 0 or nc + ns > len(in_types):
        raise GraphcError(f"{nc} carries and {ns} sequences for {len(in_types)} operands")
    _, seqs, _ = split(in_types, attrs)
    for i, t in enumerate(seqs):
        if t.rank == 0:
            raise ShapeError(f"sequence {i} is a scalar ({t}); it is scanned along axis 0")
    lead = {t.shape[0] for t in seqs}
    if len(lead) > 1:
        dims = ", ".join(f"sequence {i}: {t}" for i, t in enumerate(seqs))
        raise ShapeError(f"the sequences' leading dims differ ({dims}); they must be equal")
    if seqs and seqs[0].shape[0] == 0 and not attrs["length"]:
        raise ShapeError(f"sequence 0 ({seqs[0]}) has length 0; a scan needs a step (or "
                         "length=0 given explicitly)")
    length = attrs["length"]
    if len(length) > 1 or (not seqs and not length):
        raise ShapeError("scan needs sequences or one length")
    if seqs and length and length[0] != seqs[0].shape[0]:
        raise ShapeError(f"length {length[0]} differs from the sequences' leading dim "
                         f"{seqs[0].shape[0]}")
    return {**attrs, "length": length or (seqs[0].shape[0],)}


def _check_args(body: Graph, in_types: Types, attrs: Attrs) -> None:
    carries, seqs, caps = split(in_types, attrs)
    want = carries + [TensorType(t.dtype, t.shape[1:]) for t in seqs] + caps
    if len(body.inputs) != len(want):
        raise GraphcError(f"the body takes {len(body.inputs)} arguments; expected {len(want)} "
                          f"({len(carries)} carries, {len(seqs)} sequence steps, "
                          f"{len(caps)} captures)")
    for i, (a, t) in enumerate(zip(body.inputs, want, strict=True)):
        if a.type != t:
            raise (DTypeError if a.type.dtype != t.dtype else ShapeError)(
                f"body argument {i} is {a.type}; expected {t}")


def check_carries(have: Types, want: Types) -> None:
    """A carry must keep its type from step to step: a clear error naming the element."""
    for i, (h, w) in enumerate(zip(have, want, strict=True)):
        if h != w:
            err = DTypeError if h.dtype != w.dtype else ShapeError
            raise err(f"carry {i} changes type in the body: it enters as {w} and the body "
                      f"returns {h}; a carry keeps its type")


def _rule(in_types: Types, attrs: Attrs, body: Graph | None = None) -> list[TensorType]:
    if body is None:
        raise GraphcError("needs a body '{ ^(...): ... yield ... }'")
    _check_args(body, in_types, attrs)
    nc = attrs["carries"]
    if len(body.outputs) < nc:
        raise GraphcError(f"the body yields {len(body.outputs)} values for {nc} carries")
    carries = list(in_types[:nc])
    check_carries([v.type for v in body.outputs[:nc]], carries)
    (length,) = attrs["length"]
    ys = [TensorType(v.type.dtype, (length, *v.type.shape)) for v in body.outputs[nc:]]
    return carries + ys


def run_body(body: Graph, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One step: the body's nodes by their reference kernels (nested regions included)."""
    env = dict(zip(body.inputs, args, strict=True))
    for n in body.nodes:
        env.update(zip(n.outputs, run_node(n, [env[v] for v in n.inputs]), strict=True))
    return [env[v] for v in body.outputs]


def _kernel(*arrays: np.ndarray, body: Graph, carries: int, sequences: int,
            length: tuple, reverse: bool, checkpoint: bool) -> tuple[np.ndarray, ...]:
    attrs = {"carries": carries, "sequences": sequences}
    carry, seqs, caps = split(arrays, attrs)
    steps = seqs[0].shape[0] if seqs else length[0]
    if not isinstance(steps, int | np.integer):
        raise ShapeError(f"scan length {steps} is not bound by any sequence")
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    ys: list[list[np.ndarray]] = [[None] * steps for _ in body.outputs[carries:]]  # type: ignore
    for t in order:
        out = run_body(body, [*carry, *(s[t] for s in seqs), *caps])
        carry = [np.asarray(c, a.dtype) for c, a in zip(out[:carries], arrays, strict=False)]
        for k, y in enumerate(out[carries:]):
            ys[k][t] = y
    stacked = [_stack(col, v.type, steps) for col, v in zip(ys, body.outputs[carries:],
                                                           strict=True)]
    return tuple(np.array(c) for c in carry) + tuple(stacked)


def _stack(col: list[np.ndarray], t: TensorType, steps: int) -> np.ndarray:
    if steps == 0:
        if not t.is_static:
            raise ShapeError(f"a length-0 scan cannot size its step output {t}")
        return np.empty((0, *t.shape), t.dtype.np)
    return np.stack(col).astype(t.dtype.np, copy=False)


def _bound(shapes: Sequence[tuple[int, ...]], attrs: Attrs) -> None:
    _, seqs, _ = split(shapes, attrs)
    if seqs and seqs[0][0] == 0:
        raise ShapeError("the scanned sequences have length 0; a scan needs at least one step")


def _cost(node, ins, outs) -> float:
    """The body's ops once per step (shapes inside the body are per step)."""
    steps = ins[node.attrs["carries"]][0] if node.attrs["sequences"] else node.attrs["length"][0]
    total = 0.0
    for n in node.body.nodes:
        rule = n.op.cost
        shape_of = [v.type.shape if v.type.is_static else () for v in n.inputs]
        out_of = [v.type.shape if v.type.is_static else () for v in n.outputs]
        total += rule(n, shape_of, out_of) if rule else 0.0
    return total * (steps if isinstance(steps, int) else 1)


def _prune(node: Node, used: Sequence[int]) -> tuple[Node, dict[int, int]] | None:
    """The scan without the stacked outputs nobody reads (carries always stay)."""
    nc = node.attrs["carries"]
    keep = list(range(nc)) + [k for k in used if k >= nc]
    if len(keep) == len(node.outputs):
        return None
    old = node.body
    body = Graph(old.name)  # type: ignore[union-attr]
    body.inputs, body.nodes = list(old.inputs), list(old.nodes)  # type: ignore[union-attr]
    body.outputs = [old.outputs[k] for k in keep]  # type: ignore[union-attr]
    new = make_node(node.op, node.inputs, dict(node.attrs), node.loc, body)
    return new, {k: i for i, k in enumerate(keep)}


def _captures(node: Node) -> range:
    return range(node.attrs["carries"] + node.attrs["sequences"], len(node.inputs))


scan = register(OpDef(
    "scan", "loop", _rule, _kernel, arity=None, has_body=True, region_body=True,
    attrs={"carries": AttrSpec("int"), "sequences": AttrSpec("int"),
           "length": AttrSpec("dims", ()), "reverse": AttrSpec("bool", False),
           "checkpoint": AttrSpec("bool", False)},
    canon=_canon, vjp=scan_vjp, cost=_cost, check_bound=_bound, prune=_prune,
    invariant_args=_captures,
    doc="a loop: the body once per step along axis 0, carries threaded through",
))
