"""gc.summary: a table of a graph's parameters with shapes and element counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph

__all__ = ["Summary", "summary"]


@dataclass(frozen=True)
class Row:
    """One parameter: its name, type text and element count."""

    name: str
    type: str
    count: int


@dataclass(frozen=True)
class Summary:
    """Rows of parameters and their total; ``str()`` is the printed table."""

    rows: tuple[Row, ...]

    @property
    def total(self) -> int:
        """Elements over every listed parameter."""
        return sum(r.count for r in self.rows)

    def __str__(self) -> str:
        wn = max([len("parameter"), *(len(r.name) for r in self.rows)])
        wt = max([len("type"), *(len(r.type) for r in self.rows)])
        head = f"{'parameter':<{wn}}  {'type':<{wt}}  {'count':>12}"
        lines = [head, "-" * len(head)]
        lines += [f"{r.name:<{wn}}  {r.type:<{wt}}  {r.count:>12,}" for r in self.rows]
        lines += ["-" * len(head), f"{'total':<{wn}}  {'':<{wt}}  {self.total:>12,}"]
        return "\n".join(lines)


def summary(graph_or_params: Graph | Sequence[Tensor]) -> Summary:
    """The parameters of a graph (all of them, optimizer state and RNG keys included) or of a
    list of parameter Tensors (e.g. a layer's ``params``), in creation order."""
    if isinstance(graph_or_params, Graph):
        values = list(graph_or_params.params)
    else:
        values = []
        for t in graph_or_params:
            if not isinstance(t, Tensor) or t.ir.param is None:
                raise GraphcError(f"summary lists parameters, got {t!r}")
            values.append(t.ir)
    rows = []
    for v in values:
        if not all(isinstance(d, int) for d in v.type.shape):
            raise GraphcError(f"parameter {v.name!r} has a symbolic shape {v.type}")
        rows.append(Row(str(v.name), str(v.type), math.prod(v.type.shape)))
    return Summary(tuple(rows))
