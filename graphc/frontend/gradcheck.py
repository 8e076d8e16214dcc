"""gc.check_grad: symbolic gradients against central finite differences in float64.

Two forms, as in JAX's check_grads and PyTorch's gradcheck:

    gc.check_grad(lambda x, w: gc.sum(gc.tanh(x @ w)), [x0, w0])   # a function of Tensors
    gc.check_grad(loss, [w, b], {x: xb, y: yb})                      # a cost in a built graph

The second form copies the slice of the graph the cost needs at float64 (parameters become
inputs fed with their current values), so the check measures graphc's own rules, not float32
rounding. A failure raises GradCheckError whose report names the worst entry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.frontend.function import function
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GradError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.types import DType, TensorType, float64
from graphc.passes.autodiff import gradients


@dataclass(frozen=True)
class GradEntry:
    """One compared gradient entry."""

    wrt: str
    index: tuple[int, ...]
    numeric: float
    symbolic: float

    @property
    def abs_error(self) -> float:
        """|numeric - symbolic|."""
        return abs(self.numeric - self.symbolic)

    @property
    def rel_error(self) -> float:
        """The absolute error over the larger magnitude (0 when both are 0)."""
        scale = max(abs(self.numeric), abs(self.symbolic))
        return self.abs_error / scale if scale > 0 else 0.0

    def __str__(self) -> str:
        where = f"{self.wrt}[{', '.join(map(str, self.index))}]"
        return (f"d cost / d {where}: numeric {self.numeric:.6g}, symbolic {self.symbolic:.6g}, "
                f"abs error {self.abs_error:.3g}, relative error {self.rel_error:.3g}")


@dataclass(frozen=True)
class GradCheckReport:
    """The outcome: ``ok``, the worst entry, and how many entries were compared."""

    ok: bool
    worst: GradEntry | None
    checked: int
    rtol: float
    atol: float

    def __str__(self) -> str:
        head = "gradient check passed" if self.ok else "gradient check FAILED"
        tol = f"(atol={self.atol:g}, rtol={self.rtol:g}, {self.checked} entries)"
        return f"{head} {tol}" + (f"; worst entry {self.worst}" if self.worst else "")


class GradCheckError(GradError):
    """A symbolic gradient disagrees with finite differences; ``.report`` has the details."""

    def __init__(self, report: GradCheckReport) -> None:
        super().__init__(str(report))
        self.report = report


# --- building the float64 graph -----------------------------------------------------------


def _f64_attr(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    if isinstance(value, DType) and value.is_float:
        return float64
    return value


def _f64(v: Value) -> TensorType:
    return v.type.with_dtype(float64) if v.type.dtype.is_float else v.type


def _promote(graph: Graph, cost: Value, wrt: Sequence[Value]) -> tuple[Graph, dict[Value, Value]]:
    """The nodes ``cost`` needs, rebuilt at float64; the arguments used become inputs."""
    nodes = graph.needed([cost])
    used = {v for n in nodes for v in n.inputs} | {cost, *wrt}
    out = Graph(f"{graph.name}_f64")
    vmap = {a: out.add_input(a.name or "arg", _f64(a)) for a in graph.arguments if a in used}
    _rebuild(nodes, out, vmap)
    return out, vmap


def _rebuild(nodes: Sequence[Node], out: Graph, vmap: dict[Value, Value]) -> None:
    """Append float64 copies of ``nodes`` to ``out`` (region bodies promoted too)."""
    for n in nodes:
        if n.body is not None and not n.op.region_body:
            raise GradError(f"{n.describe()}: check_grad runs on graphs before fusion")
        body = _promote_body(n.body) if n.body is not None else None
        attrs = {k: _f64_attr(v) for k, v in n.attrs.items()}
        new = out.add_node(n.op, [vmap[v] for v in n.inputs], attrs, n.loc, body)
        vmap.update(zip(n.outputs, new.outputs, strict=True))


def _promote_body(body: Graph) -> Graph:
    out = Graph(body.name)
    vmap = {a: out.add_input(a.name or "arg", _f64(a)) for a in body.inputs}
    _rebuild(body.nodes, out, vmap)
    out.outputs = [vmap[v] for v in body.outputs]
    return out


# --- the comparison -----------------------------------------------------------------------


def _numeric(run: Callable[[list[np.ndarray]], float], feeds: list[np.ndarray], k: int,
             eps: float) -> np.ndarray:
    x = feeds[k]
    out = np.empty(x.shape, np.float64)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + eps
        plus = run(feeds)
        x[i] = keep - eps
        minus = run(feeds)
        x[i] = keep
        out[i] = (plus - minus) / (2 * eps)
    return out


def _compare(name: str, num: np.ndarray, sym: np.ndarray, rtol: float, atol: float):
    """(worst entry, its error in units of the tolerance) for one gradient."""
    if num.size == 0:
        return None, 0.0
    ratio = np.abs(num - sym) / (atol + rtol * np.abs(num))
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # nan in either is a failure
    i = np.unravel_index(int(np.argmax(ratio)), num.shape)
    return GradEntry(name, tuple(int(j) for j in i), float(num[i]), float(sym[i])), float(ratio[i])


def _check(graph: Graph, cost: Value, wrt: list[Value], feeds: list[np.ndarray],
           eps: float, rtol: float, atol: float) -> GradCheckReport:
    grads = gradients(graph, cost, wrt, disconnected="zero")
    ins = [Tensor(v, graph) for v in graph.inputs]
    # the reference interpreter on the graph as built: this checks the rules, not the passes
    cost_fn = function(ins, Tensor(cost, graph), passes=[])
    symbolic = function(ins, [Tensor(g, graph) for g in grads], passes=[])(*feeds)
    worst, worst_ratio, checked = None, -1.0, 0
    for w, sym in zip(wrt, symbolic, strict=True):
        k = graph.inputs.index(w)
        num = _numeric(lambda f: float(cost_fn(*f)), feeds, k, eps)
        entry, ratio = _compare(w.name or f"arg{k}", num, np.asarray(sym), rtol, atol)
        checked += num.size
        if entry is not None and ratio > worst_ratio:
            worst, worst_ratio = entry, ratio
    return GradCheckReport(worst_ratio <= 1.0, worst, checked, rtol, atol)


def _feed(a: Any) -> np.ndarray:
    arr = np.array(a)  # a private copy: the check perturbs it in place
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def _from_function(fn: Callable[..., Tensor], args: Sequence[Any]):
    graph = Graph("check_grad")
    names = [p for p in inspect.signature(fn).parameters][: len(args)]
    names += [f"arg{i}" for i in range(len(names), len(args))]
    feeds = [_feed(a) for a in args]
    with graph:
        ins = [graph.add_input(n, _type_of(f)) for n, f in zip(names, feeds, strict=True)]
        cost = fn(*(Tensor(v, graph) for v in ins))
    if not isinstance(cost, Tensor):
        raise GradError(f"the function must return a scalar cost Tensor, got {cost!r}")
    wrt = [v for v in ins if v.type.dtype.is_float]
    return graph, cost.ir, wrt, feeds


def _type_of(a: np.ndarray) -> TensorType:
    return TensorType.of(a.dtype, a.shape)


def _from_graph(cost: Tensor, wrt: Sequence[Tensor], feeds: Mapping[Tensor, Any]):
    for t in wrt:
        if t.graph is not cost.graph or not t.ir.is_argument:
            raise GradError(f"check_grad differentiates w.r.t. placeholders and parameters of "
                            f"the cost's graph; got {t!r}")
    graph, vmap = _promote(cost.graph, cost.ir, [t.ir for t in wrt])
    given = {t.ir: _feed(a) for t, a in feeds.items()}
    values = []
    for a in (a for a in cost.graph.arguments if a in vmap):
        if a in given:
            values.append(given[a])
        elif a.param is not None:
            values.append(_feed(a.param.value))
        else:
            raise GradError(f"check_grad needs a value for placeholder {a.name!r} in feeds")
    return graph, vmap[cost.ir], [vmap[t.ir] for t in wrt], values


def check_grad(
    fn_or_cost: Callable[..., Tensor] | Tensor,
    args_or_wrt: Sequence[Any],
    feeds: Mapping[Tensor, Any] | None = None,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    raise_on_failure: bool = True,
) -> GradCheckReport:
    """Compare symbolic gradients with central differences in float64; returns the report."""
    if isinstance(fn_or_cost, Tensor):
        graph, cost, wrt, values = _from_graph(fn_or_cost, list(args_or_wrt), feeds or {})
    elif callable(fn_or_cost):
        graph, cost, wrt, values = _from_function(fn_or_cost, list(args_or_wrt))
    else:
        raise GradError(f"check_grad takes a function or a cost Tensor, got {fn_or_cost!r}")
    report = _check(graph, cost, wrt, values, eps, rtol, atol)
    if raise_on_failure and not report.ok:
        raise GradCheckError(report)
    return report
