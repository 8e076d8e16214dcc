"""The reference evaluation of one node: its op's NumPy kernel (the NumPy backend, constant
folding and the numerics checks all evaluate nodes this way)."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import BackendError, GraphcError
from graphc.ir.graph import Node


def run_node(node: Node, args: list[np.ndarray]) -> list[np.ndarray]:
    """One node's results; kernel failures name the node and the user's line."""
    try:
        if node.body is not None:  # fused ops: the kernel evaluates the body
            out = node.op.kernel(*args, body=node.body, **node.attrs)
        else:
            out = node.op.kernel(*args, **node.attrs)
    except GraphcError:
        raise
    except Exception as e:  # a kernel's own error, e.g. an index out of range
        raise BackendError(f"{node.describe()}: {type(e).__name__}: {e}") from None
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(o) for o in outs]
