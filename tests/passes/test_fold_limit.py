"""fold's size limit at its boundary: a result of exactly FOLD_LIMIT elements is folded, one
element more is not."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.passes.fold import FOLD_LIMIT
from graphc.passes.manager import PASSES


def _broadcast(n: int) -> gc.Graph:
    return gc.parse(f"""graph @g() -> (f32[{n}]) {{
  %0 = constant {{value = dense<f32: 1.5>}} : f32
  %1 = broadcast_to %0 {{shape = [{n}]}} : f32[{n}]
  return %1
}}
""")


@pytest.mark.parametrize(("n", "folded"), [(FOLD_LIMIT, True), (FOLD_LIMIT + 1, False),
                                           (1, True)])
def test_fold_limit_boundary(n: int, folded: bool) -> None:
    g = PASSES["fold"](_broadcast(n))
    ops = [node.op.name for node in g.nodes]
    assert ops == (["constant"] if folded else ["constant", "broadcast_to"]), ops
    if folded:
        np.testing.assert_array_equal(g.nodes[0].attrs["value"], np.full(n, 1.5, np.float32))
