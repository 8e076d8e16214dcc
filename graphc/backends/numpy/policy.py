"""What the numpy backend can do with memory (its Policy for graphc.analysis.memory).

The planned executor writes results with ``out=`` kernels and fused bodies into the buffers
the plan gives; every other kernel allocates. Shape and indexing kernels may return views.
Without the executor (``check_numerics=True`` or ``memory_plan=False``) every result is a
fresh array: the UNPLANNED policy describes that.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from graphc.analysis.memory import REFERENCE, Policy
from graphc.backends.numpy.outkernels import OUT
from graphc.ir.graph import Node


def can_write(node: Node) -> bool:
    """Nodes this backend writes into planned buffers: out= kernels and fused nodes."""
    return node.op in OUT or node.body is not None or node.op.elementwise


def planned(static: Collection[Node] = ()) -> Policy:
    """The executor's policy; ``static`` nodes are evaluated once, at compile time."""
    return replace(REFERENCE, name="numpy", writes=lambda n: (
        n not in static and REFERENCE.writes(n) and can_write(n)))


UNPLANNED = replace(REFERENCE, name="numpy, unplanned", writes=lambda n: False)
