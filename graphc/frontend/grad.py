"""``gc.grad`` and ``gc.jacobian``: the Tensor-facing forms of the autodiff pass."""

from __future__ import annotations

from collections.abc import Sequence

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GradError
from graphc.passes.autodiff import gradients, jacobian_value


def _as_tensor(x: object, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise GradError(f"{what} must be a graphc Tensor, got {type(x).__name__}")
    return x


def grad(cost: Tensor, wrt: Tensor | Sequence[Tensor], disconnected: str = "raise"):
    """Gradients of a scalar float ``cost``: a list for a list ``wrt``, a Tensor for a Tensor."""
    single = isinstance(wrt, Tensor)
    targets = [_as_tensor(t, "wrt") for t in ([wrt] if single else list(wrt))]
    cost = _as_tensor(cost, "cost")
    graph = cost.graph
    for t in targets:
        if t.graph is not graph:
            raise GradError(f"{t!r} belongs to graph @{t.graph.name}, the cost to @{graph.name}")
    values = gradients(graph, cost.ir, [t.ir for t in targets], disconnected)
    out = [Tensor(v, graph) for v in values]
    return out[0] if single else out


def jacobian(y: Tensor, x: Tensor) -> Tensor:
    """dy/dx of shape y.shape + x.shape, one reverse sweep per entry of y (static shape)."""
    y, x = _as_tensor(y, "y"), _as_tensor(x, "x")
    return Tensor(jacobian_value(y.graph, y.ir, x.ir), y.graph)
