"""Fused bodies compiled for one binding of shapes: the body's scalar ops run over whole
arrays, each yield's producing op writes into its result buffer, and other ops write into
temporaries of the same shape that died at that op (or allocate when there is none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import ops
from graphc.analysis.liveness import liveness
from graphc.backends.numpy.outkernels import OUT, UFUNCS
from graphc.ir.graph import Graph, Node, Value
from graphc.ops import core

Op = Callable[[list[Any], Sequence[np.ndarray]], None]
Shape = tuple[int, ...]


class BodyProgram:
    """A body as a list of closures ``op(env, outs)`` for fixed argument shapes.

    ``owned`` lists arguments the body may overwrite once they are dead (a product computed
    into a temporary, say); other arguments are never written.
    """

    def __init__(self, body: Graph, arg_shapes: Sequence[Shape], owned: set[int]) -> None:
        self.slot: dict[Value, int] = {a: i for i, a in enumerate(body.inputs)}
        self.shape: dict[Value, Shape] = dict(zip(body.inputs, arg_shapes, strict=True))
        self.template: list[Any] = [None] * len(body.inputs)
        self.owned = {v for i, v in enumerate(body.inputs) if i in owned}
        self.last = liveness(body).last  # yielded values: alive to the end
        # a yield's producing op writes the result; a yielded constant is copied (broadcast)
        producer = {v.node: k for k, v in reversed(list(enumerate(body.outputs)))
                    if v.node is not None and v.node.op is not core.constant}
        self.ops: list[Op] = []
        for j, n in enumerate(body.nodes):
            self._add(j, n, producer.get(n))
        self.copies = [(k, self.slot[v]) for k, v in enumerate(body.outputs)
                       if v.node is None or producer.get(v.node) != k]

    def _add(self, j: int, n: Node, k: int | None) -> None:
        out = n.outputs[0]
        self.slot[out] = len(self.template)
        if n.op is core.constant:  # evaluated once
            self.template.append(np.asarray(n.attrs["value"]))
            self.shape[out] = ()
            return
        self.template.append(None)
        shapes = [self.shape[v] for v in n.inputs]
        self.shape[out] = shapes[0] if n.op is ops.full_like else np.broadcast_shapes(*shapes)
        ins = [self.slot[v] for v in n.inputs]
        if k is not None:
            self.ops.append(_into_out(n, ins, self.slot[out], k))
            return
        reuse = self._dead_temp(j, n)
        if reuse is not None and n.op in OUT:
            self.ops.append(_into_temp(n, ins, self.slot[out], self.slot[reuse]))
        else:
            self.ops.append(_fresh(n, ins, self.slot[out]))
        self.owned.add(out)

    def _dead_temp(self, j: int, n: Node) -> Value | None:
        """An owned operand that dies here with the result's shape and dtype."""
        out = n.outputs[0]
        for v in n.inputs:
            if (v in self.owned and self.last[v] == j and self.shape[v] == self.shape[out]
                    and v.type.dtype == out.type.dtype):
                self.owned.discard(v)
                return v
        return None

    def run(self, args: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        """Evaluate into ``outs`` (one buffer per yield, of the full result shape)."""
        env = list(self.template)
        env[: len(args)] = args
        for op in self.ops:
            op(env, outs)
        for k, slot in self.copies:
            np.copyto(outs[k], env[slot], casting="unsafe")


def _writer(n: Node, ins: list[int]) -> Callable[[list[Any], np.ndarray], None]:
    """``write(env, out)``: ``n``'s result written into ``out``. Plain ufuncs are called
    directly: body ops run on small arrays too, where each Python call is a fair share."""
    uf = UFUNCS.get(n.op)
    if uf is not None and len(ins) == 2:
        a, b = ins
        return lambda env, out: uf(env[a], env[b], out=out)
    if uf is not None and len(ins) == 1:
        (a,) = ins
        return lambda env, out: uf(env[a], out=out)
    fn, kernel, attrs = OUT.get(n.op), n.op.kernel, n.attrs
    if fn is not None:
        return lambda env, out: fn(out, *[env[i] for i in ins], **attrs)
    return lambda env, out: np.copyto(out, kernel(*[env[i] for i in ins], **attrs),
                                      casting="unsafe")


def _into_out(n: Node, ins: list[int], o: int, k: int) -> Op:
    write = _writer(n, ins)

    def op(env: list[Any], outs: Sequence[np.ndarray]) -> None:
        write(env, outs[k])
        env[o] = outs[k]

    return op


def _into_temp(n: Node, ins: list[int], o: int, t: int) -> Op:
    write = _writer(n, ins)

    def op(env: list[Any], outs: Sequence[np.ndarray]) -> None:
        write(env, env[t])
        env[o] = env[t]

    return op


def _fresh(n: Node, ins: list[int], o: int) -> Op:
    kernel, attrs = n.op.kernel, n.attrs

    def op(env: list[Any], outs: Sequence[np.ndarray]) -> None:
        env[o] = np.asarray(kernel(*[env[i] for i in ins], **attrs))

    return op
