"""The reference evaluation of one node (its op's NumPy kernel) and of a fused body (its ops'
kernels on whole arrays): the NumPy backend, constant folding and the fused ops' kernels all
evaluate this way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc.ir.errors import BackendError, GraphcError, ShapeError
from graphc.ir.graph import Graph, Node


def run_node(node: Node, args: list[np.ndarray]) -> list[np.ndarray]:
    """One node's results; kernel failures name the node and the user's line."""
    try:
        if node.body is not None:  # fused ops: the kernel evaluates the body
            out = node.op.kernel(*args, body=node.body, **node.attrs)
        else:
            out = node.op.kernel(*args, **node.attrs)
    except Exception as e:
        raise kernel_error(node, e) from None
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(o) for o in outs]


def kernel_error(node: Node, e: Exception) -> GraphcError:
    """A kernel's own error (an index out of range, an allocation too large) naming the node."""
    if isinstance(e, GraphcError):
        return e
    if isinstance(e, MemoryError):
        return ShapeError(f"{node.describe()}: more memory than this machine can allocate ({e})")
    return BackendError(f"{node.describe()}: {type(e).__name__}: {e}")


def evaluate_body(body: Graph, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The body's yielded values with each argument a whole array (ops broadcast)."""
    env = dict(zip(body.inputs, args, strict=True))
    for n in body.nodes:
        out = n.op.kernel(*(env[v] for v in n.inputs), **n.attrs)
        env[n.outputs[0]] = np.asarray(out)
    return [env[v] for v in body.outputs]
