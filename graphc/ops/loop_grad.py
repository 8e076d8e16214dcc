"""The gradient of ``scan``: a reverse scan whose body is the forward body's VJP.

Per step the backward body gets the carry cotangents and the captures' accumulated gradients
as its carries, and as sequences the step's saved forward values, the step's x and the
cotangents of the step's y. It yields the cotangents of the step's incoming carries, the
accumulated capture gradients, and as step outputs the gradients of x.

What the forward saves (its node gains stacked results): by default the body values the
backward reads (per-step residuals, stacked over T); with ``checkpoint`` only the carries at
the start of each step, from which the backward body recomputes the forward body (residual
memory O(carry) per step instead of O(body)).

The body is differentiated with the autodiff pass's ``gradients``, which the pass hands to
this rule (ops sit below passes and may not import them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphc.ir.clone import copy_node
from graphc.ir.emit import Emitter
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.types import TensorType

Differentiate = Callable[..., list[Value]]


def _float(vs: Sequence[Value]) -> list[int]:
    return [i for i, v in enumerate(vs) if v.type.dtype.is_float]


def _stacked(t: TensorType, length: object) -> TensorType:
    return TensorType(t.dtype, (length, *t.shape))


class _Backward:
    """Builds the backward body from the forward node ``fwd``."""

    def __init__(self, fwd: Node, differentiate: Differentiate) -> None:
        self.fwd, self.body = fwd, fwd.body  # type: ignore[assignment]
        self.nc, self.ns = fwd.attrs["carries"], fwd.attrs["sequences"]
        self.ny = len(fwd.outputs) - self.nc
        self.differentiate = differentiate
        self.g = Graph("scan_grad_body")
        self.vmap: dict[Value, Value] = {}

    def build(self, float_ys: list[int]) -> tuple[list[int], list[int], list[int]]:
        """The body; returns the float carries, sequences and captures it differentiates."""
        f_in = self.body.inputs
        carries, seqs, caps = f_in[:self.nc], f_in[self.nc:self.nc + self.ns], \
            f_in[self.nc + self.ns:]
        fc, fs, fw = _float(carries), _float(seqs), _float(caps)
        g = self.g
        self.gcarry = [g.add_input(f"gc{i}", carries[i].type) for i in fc]
        self.gacc = [g.add_input(f"gw{j}", caps[j].type) for j in fw]
        self.saved = [g.add_input(f"c{i}", v.type) for i, v in enumerate(carries)]
        self.xs = [g.add_input(f"x{k}", v.type) for k, v in enumerate(seqs)]
        outs = self.body.outputs
        self.gys = [g.add_input(f"gy{m}", outs[self.nc + m].type) for m in float_ys]
        self.caps = [g.add_input(f"w{j}", v.type) for j, v in enumerate(caps)]
        self.vmap.update(zip(f_in, self.saved + self.xs + self.caps, strict=True))
        for n in self.body.nodes:
            new = copy_node(n, [self.vmap[v] for v in n.inputs])
            g.nodes.append(new)
            self.vmap.update(zip(n.outputs, new.outputs, strict=True))
        self.forward_end = len(g.nodes)
        cost = self._cost(fc, float_ys)
        wrt = [self.saved[i] for i in fc] + [self.xs[k] for k in fs] + [self.caps[j] for j in fw]
        grads = self.differentiate(g, cost, wrt, disconnected="zero")
        gc, gx, gw = grads[:len(fc)], grads[len(fc):len(fc) + len(fs)], grads[len(fc) + len(fs):]
        e = Emitter(g, self.fwd.loc.derived("vjp(scan)"))
        acc = [e.add(a, w) for a, w in zip(self.gacc, gw, strict=True)]
        g.outputs = gc + acc + gx
        return fc, fs, fw

    def _cost(self, fc: list[int], float_ys: list[int]) -> Value:
        """sum(new_carry * its cotangent) + sum(y * its cotangent): its gradient is the VJP."""
        e = Emitter(self.g, self.fwd.loc.derived("vjp(scan)"))
        outs = [self.vmap[v] for v in self.body.outputs]
        pairs = [(outs[i], self.gcarry[n]) for n, i in enumerate(fc)]
        pairs += [(outs[self.nc + m], self.gys[n]) for n, m in enumerate(float_ys)]
        total = None
        for v, gv in pairs:
            term = e.sum(e.mul(v, gv), axis=None, keepdims=False)
            total = term if total is None else e.add(total, e.cast(term, dtype=total.type.dtype))
        if total is None:
            total = e.const(0.0, self.gcarry[0].type.dtype if self.gcarry else outs[0].type.dtype)
        return total

    def residuals(self) -> list[Value]:
        """Forward body values the gradient nodes read: they become per-step inputs."""
        fwd_of = {new: old for old, new in self.vmap.items()}
        grad_nodes = self.g.needed()
        cloned = set(self.g.nodes[:self.forward_end])
        wanted: dict[Value, None] = {}
        for n in grad_nodes:
            if n in cloned:
                continue
            for v in n.inputs:
                if v.node in cloned and not v.node.op.constant_like:  # constants: recomputed
                    wanted[fwd_of[v]] = None
        return list(wanted)

    def read_saved(self, residuals: list[Value]) -> list[Value]:
        """Make the gradient nodes read residuals as body arguments; the recomputation dies."""
        args = [Value(r.type, name=f"r{i}") for i, r in enumerate(residuals)]
        swap = {self.vmap[r]: a for r, a in zip(residuals, args, strict=True)}
        cloned = set(self.g.nodes[:self.forward_end])
        for n in self.g.nodes:
            if n not in cloned:
                n.inputs = [swap.get(v, v) for v in n.inputs]
        self.g.outputs = [swap.get(v, v) for v in self.g.outputs]
        live = set(self.g.needed())
        self.g.nodes = [n for n in self.g.nodes if n in live]
        return args


def _save(fwd: Node, values: list[Value]) -> list[Value]:
    """Make the forward node also yield ``values`` (stacked over the steps); their results."""
    body = Graph(fwd.body.name)  # type: ignore[union-attr]
    old = fwd.body
    body.inputs, body.nodes = list(old.inputs), list(old.nodes)  # type: ignore[union-attr]
    body.outputs = [*old.outputs, *values]  # type: ignore[union-attr]
    fwd.body = body  # a new region: graphs cloned earlier keep theirs
    (length,) = fwd.attrs["length"]
    start = len(fwd.outputs)
    fwd.outputs += [Value(_stacked(v.type, length), fwd, start + i) for i, v in enumerate(values)]
    return fwd.outputs[start:]


def scan_vjp(e: Emitter, node: Node, gouts: list[Value],
             differentiate: Differentiate) -> list[Value | None]:
    """Gradients of init, sequences and captures: one reverse scan (see the module doc)."""
    from graphc.ops.loop import scan  # loop imports this module

    nc, ns = node.attrs["carries"], node.attrs["sequences"]
    n_out = len(gouts)
    float_ys = [m for m in range(n_out - nc) if gouts[nc + m].type.dtype.is_float]
    bw = _Backward(node, differentiate)
    fc, fs, fw = bw.build(float_ys)
    body_in = node.body.inputs  # type: ignore[union-attr]
    saved_carries = _save(node, list(body_in[:nc]))
    residual_args: list[Value] = []
    saved_res: list[Value] = []
    if not node.attrs.get("checkpoint"):
        res = bw.residuals()
        residual_args = bw.read_saved(res)
        saved_res = _save(node, res)
    bw.g.inputs = [*bw.gcarry, *bw.gacc, *bw.saved, *bw.xs, *bw.gys, *residual_args, *bw.caps]
    seqs = node.inputs[nc:nc + ns]
    caps = node.inputs[nc + ns:]
    operands = [*(gouts[i] for i in fc), *(e.full_like(caps[j], value=0.0) for j in fw),
                *saved_carries, *seqs, *(gouts[nc + m] for m in float_ys), *saved_res, *caps]
    n_seq = len(saved_carries) + len(seqs) + len(float_ys) + len(saved_res)
    attrs = {"carries": len(fc) + len(fw), "sequences": n_seq, "length": node.attrs["length"],
             "reverse": not node.attrs["reverse"]}
    back = e.graph.add_node(scan, operands, attrs, e.loc, bw.g).outputs
    grads: list[Value | None] = [None] * len(node.inputs)
    for n, i in enumerate(fc):
        grads[i] = back[n]
    for n, j in enumerate(fw):
        grads[nc + ns + j] = back[len(fc) + n]
    for n, k in enumerate(fs):
        grads[nc + k] = back[len(fc) + len(fw) + n]
    return grads
