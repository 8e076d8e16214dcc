"""Numerics checking: the first node that makes NaN from NaN-free operands, named by the
user's line (inside a fused node, the body op that did it; bodies keep the user's lines).

Backends share it: the numpy backend checks each node as it runs; the llvm backend's code flags
the first node whose results have NaN (from NaN-free operands) and then asks ``first_nan``,
which evaluates the graph with the reference kernels, for the exact culprit.
"""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import NumericsError
from graphc.ir.graph import Graph, Node, Value
from graphc.ops.evaluate import run_node
from graphc.ops.shape import runtime_dims


def has_nan(a: np.ndarray) -> bool:
    """Whether a float array holds a NaN."""
    return a.dtype.kind == "f" and bool(np.isnan(a).any())


def check_numerics(node: Node, args: list[np.ndarray], results: list[np.ndarray]) -> None:
    """Raise at a node that makes NaN from NaN-free inputs, naming the user's line."""
    if any(has_nan(a) for a in args):
        return
    for v, r in zip(node.outputs, results, strict=True):
        if has_nan(r):
            # a scalar fused body names its culprit op; a scan names the scan's line
            scalar_body = node.body is not None and not node.op.region_body
            raise nan_error(node, v, _body_culprit(node, args) if scalar_body else None)


def nan_error(node: Node, value: Value, culprit: Node | None = None) -> NumericsError:
    """The error for ``node`` making NaN in ``value`` (``culprit``: the body op that did)."""
    return NumericsError(f"{(culprit or node).describe()} produced NaN in {value.type}")


def _body_culprit(node: Node, args: list[np.ndarray]) -> Node | None:
    """The first op inside a fused node's body that makes NaN."""
    anchor = node.op.anchor
    if anchor is not None:  # body argument 0 is the anchor op's result on operands 0-1
        args = [np.asarray(anchor.kernel(args[0], args[1], **node.attrs)), *args[2:]]
    env = dict(zip(node.body.inputs, args, strict=True))  # type: ignore[union-attr]
    for n in node.body.nodes:  # type: ignore[union-attr]
        out = np.asarray(n.op.kernel(*(env[v] for v in n.inputs), **n.attrs))
        if has_nan(out) and not any(has_nan(env[v]) for v in n.inputs):
            return n
        env[n.outputs[0]] = out
    return None


def first_nan(graph: Graph, inputs: list[np.ndarray], params: list[np.ndarray],
              dims: dict[str, int]) -> None:
    """Evaluate ``graph`` with the reference kernels, raising NumericsError at the first node
    that makes NaN from NaN-free operands (nothing if none does)."""
    env: dict[Value, np.ndarray] = dict(zip(graph.inputs, inputs, strict=True))
    env.update(zip(graph.params, params, strict=True))
    with np.errstate(all="ignore"), runtime_dims(dims):
        for node in graph.nodes:
            args = [env[v] for v in node.inputs]
            results = run_node(node, args)
            check_numerics(node, args, results)
            env.update(zip(node.outputs, results, strict=True))
