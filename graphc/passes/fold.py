"""fold: evaluate nodes whose operands are all constants, with the reference kernels.

Results larger than FOLD_LIMIT elements are left alone so constants do not balloon (folding
``broadcast_to(2.0, [1024, 1024])`` would put a megabyte literal into the IR). Nodes reading
placeholders or parameters are never folded: only constants feed a folded node. Constants left
dead by folding are removed. Folding is one forward walk (a Rewriter), not a rule of the
rewrite engine: it folds multi-result nodes too (split), and in one walk every node already sees
its folded operands, so no fixed point is needed.
"""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Node, make_node
from graphc.ops import core
from graphc.ops.evaluate import run_node
from graphc.passes.dce import dce
from graphc.passes.manager import register_pass
from graphc.passes.util import Rewriter, constant_value

FOLD_LIMIT = 4096  # elements per folded result


def _foldable(node: Node) -> bool:
    if node.op is core.constant or node.op.collective:
        return False  # a collective talks to the other ranks when the graph runs, not before
    if any(constant_value(v) is None for v in node.inputs):
        return False
    return all(t.is_static and _size(t.shape) <= FOLD_LIMIT for t in (v.type for v in node.outputs))


def _size(shape: tuple) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _evaluate(node: Node) -> list[np.ndarray] | None:
    args = [constant_value(v) for v in node.inputs]
    try:
        with np.errstate(all="ignore"):
            results = run_node(node, args)  # type: ignore[arg-type]
    except GraphcError:
        return None  # a kernel error stays a runtime error, where it points at the user's line
    for v, r in zip(node.outputs, results, strict=True):
        if r.dtype != v.type.dtype.np or tuple(r.shape) != v.type.shape:
            return None
    return results


@register_pass("fold", regions=True)
def fold(graph: Graph) -> Graph:
    """Replace constant-operand nodes by ``constant`` nodes holding their results."""
    rw = Rewriter(graph)
    for n in rw.walk():
        results = _evaluate(n) if _foldable(n) else None
        if results is None:
            continue
        consts = [make_node(core.constant, [], {"value": np.array(r)}, n.loc) for r in results]
        for c in consts:
            rw.insert(c)
        rw.replace(n, [c.output for c in consts])
    return dce(rw.finish())  # the operands folded away are usually dead now
