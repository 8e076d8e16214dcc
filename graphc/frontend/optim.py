"""Optimizers (gc.optim): build the update expressions of one training step.

An optimizer is constructed on a list of parameter Tensors, like PyTorch's ``torch.optim``; its
state (momentum buffers, running averages, the step count for bias correction) lives in graph
parameters named ``<prefix>.<slot>.<param>`` (e.g. ``adam.m.fc1.w``, ``adam.step``), created at
construction, so it can be saved with ``gc.save(path, opt.state)``. ``opt.updates(cost)`` (or
``opt.updates(grads=...)``) returns the ``(parameter, new value)`` pairs for
``gc.function(..., updates=...)``: the new parameters and the new optimizer state together.

The formulas are the ones documented for torch.optim (SGD, Adagrad, RMSprop, Adam, AdamW).
``lr`` may be a Python float or a scalar float Tensor (e.g. a parameter you set between epochs
for a schedule). ``distributed=True`` (under ``mpiexec``) starts every rank from rank 0's
parameters and averages the gradients over the ranks in buckets before the update
(graphc.frontend.parallel); in one process it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend import parallel, schedules
from graphc.frontend.nn import parameter_in
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph

Updates = list[tuple[Tensor, Tensor]]
State = dict[str, Tensor]


def _check_params(params: Sequence[Any]) -> list[Tensor]:
    params = list(params)
    if not params:
        raise GraphcError("an optimizer needs at least one parameter")
    for p in params:
        if not isinstance(p, Tensor) or p.ir.param is None:
            raise GraphcError(f"optimizers update parameters (gc.parameter), got {p!r}")
        if not p.dtype.is_float:
            raise GraphcError(f"parameter {p.name!r} is {p.type}; only float parameters train")
    if len({id(p.ir) for p in params}) != len(params):
        raise GraphcError("a parameter is listed twice in the optimizer's params")
    if len({id(p.graph) for p in params}) != 1:
        raise GraphcError("an optimizer's parameters must all belong to one graph")
    return params


def _check_range(name: str, value: float, low: float, high: float = float("inf")) -> None:
    if not low <= value < high:
        raise GraphcError(f"{name} must be in [{low}, {high}), got {value}")


def _free_prefix(graph: Graph, base: str, suffixes: list[str]) -> str:
    """``base`` or ``base_1``, ``base_2``... so that no generated name is already taken."""
    taken = {a.name for a in graph.arguments}
    prefix, n = base, 0
    while any(f"{prefix}.{s}" in taken for s in suffixes):
        n += 1
        prefix = f"{base}_{n}"
    return prefix


class Optimizer:
    """Base class: parameter checks, state creation, and the updates list."""

    prefix = "opt"
    needs_step = False
    weight_decay = 0.0

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor, name: str | None,
                 distributed: bool = False) -> None:
        self.params = _check_params(params)
        self.distributed = bool(distributed)
        if self.distributed:  # every rank starts from rank 0's weights
            parallel.broadcast_parameters(self.params)
        self.graph = self.params[0].graph
        if not isinstance(lr, Tensor):
            _check_range("lr", lr, 0.0)
        elif lr.shape != () or not lr.dtype.is_float or lr.graph is not self.graph:
            raise GraphcError(f"a Tensor lr must be a float scalar of the parameters' graph, "
                              f"got {lr!r}")
        self.lr = lr
        self._create_state(name or self.prefix)

    # -- state -----------------------------------------------------------------------
    def slots(self) -> dict[str, float]:
        """State buffers per parameter: slot name -> initial fill value."""
        return {}

    def _create_state(self, base: str) -> None:
        slots = self.slots()
        names = [f"{s}.{p.name}" for s in slots for p in self.params]
        prefix = _free_prefix(self.graph, base, names + ["step"])
        self.name = prefix
        self.buffers: list[State] = []
        for p in self.params:
            made = {s: np.full_like(p.value, fill) for s, fill in slots.items()}
            self.buffers.append(
                {s: parameter_in(self.graph, f"{prefix}.{s}.{p.name}", v) for s, v in made.items()}
            )
        zero = np.zeros((), np.float32)
        self.step = parameter_in(self.graph, f"{prefix}.step", zero) if self.needs_step else None

    @property
    def state(self) -> State:
        """Every state parameter by name (for gc.save / gc.load)."""
        out = {b.name: b for bufs in self.buffers for b in bufs.values()}
        if self.step is not None:
            out[self.step.name] = self.step
        return out

    # -- updates ---------------------------------------------------------------------
    def updates(self, cost: Tensor | None = None, grads: Sequence[Tensor] | None = None) -> Updates:
        """(parameter, new value) pairs of one step, from ``cost`` (via gc.grad) or ``grads``."""
        grads = self._gradients(cost, grads)
        t = None if self.step is None else self.step + 1.0
        pairs: Updates = [] if t is None else [(self.step, t)]
        for p, g, bufs in zip(self.params, grads, self.buffers, strict=True):
            new_p, new_bufs = self.rule(p, g, bufs, t)
            pairs.append((p, new_p))
            pairs.extend((bufs[s], new_bufs[s]) for s in bufs)
        return pairs

    def _gradients(self, cost: Tensor | None, grads: Sequence[Tensor] | None) -> list[Tensor]:
        if (cost is None) == (grads is None):
            raise GraphcError("pass either a scalar cost or the list of gradients, not both")
        if cost is not None:
            from graphc.frontend.grad import grad

            grads = grad(cost, self.params)
        grads = list(grads)  # type: ignore[arg-type]
        if len(grads) != len(self.params):
            raise GraphcError(f"{len(grads)} gradients given for {len(self.params)} parameters")
        for p, g in zip(self.params, grads, strict=True):
            if not isinstance(g, Tensor) or g.type != p.type or g.graph is not self.graph:
                raise GraphcError(f"the gradient of {p.name!r} must be a {p.type} tensor of the "
                                  f"parameter's graph, got {g!r}")
        return parallel.average_gradients(grads) if self.distributed else grads

    def rule(self, p: Tensor, g: Tensor, bufs: State, t: Tensor | None) -> tuple[Tensor, State]:
        """The new parameter and new state buffers given gradient ``g`` and step ``t``."""
        raise NotImplementedError

    def _lr(self, p: Tensor) -> Tensor | float:
        return _like(self.lr, p)

    def _grad(self, p: Tensor, g: Tensor) -> Tensor:
        """``g`` with L2 weight decay added (torch.optim's coupled form; AdamW decouples it)."""
        return g + self.weight_decay * p if self.weight_decay else g


def _like(x: Tensor | float, p: Tensor) -> Tensor | float:
    """A scalar expression in ``p``'s dtype (step counters are float32)."""
    if isinstance(x, Tensor) and x.dtype != p.dtype:
        return fn.cast(x, p.dtype)
    return x


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay."""

    prefix = "sgd"

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, dampening: float = 0.0,
                 name: str | None = None, distributed: bool = False) -> None:
        _check_range("momentum", momentum, 0.0, 1.0)
        _check_range("weight_decay", weight_decay, 0.0)
        _check_range("dampening", dampening, 0.0, 1.0 + 1e-12)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise GraphcError("Nesterov momentum requires momentum > 0 and dampening = 0")
        self.momentum, self.nesterov = momentum, nesterov
        self.weight_decay, self.dampening = weight_decay, dampening
        self.needs_step = momentum > 0 and dampening > 0  # to tell the first step apart
        super().__init__(params, lr, name, distributed)

    def slots(self) -> dict[str, float]:
        return {"momentum": 0.0} if self.momentum > 0 else {}

    def rule(self, p: Tensor, g: Tensor, bufs: State, t: Tensor | None) -> tuple[Tensor, State]:
        g = self._grad(p, g)
        if not self.momentum:
            return p - self._lr(p) * g, {}
        mu, b = self.momentum, bufs["momentum"]
        if t is None:  # no dampening: mu * 0 + g == g, PyTorch's first-step value
            b_new = mu * b + g
        else:
            b_new = fn.where(t > 1.0, mu * b + (1.0 - self.dampening) * g, g)
        step = g + mu * b_new if self.nesterov else b_new
        return p - self._lr(p) * step, {"momentum": b_new}


class AdaGrad(Optimizer):
    """Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""

    prefix = "adagrad"

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, name: str | None = None,
                 distributed: bool = False) -> None:
        for key, value in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                           ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):
            _check_range(key, value, 0.0)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.initial = initial_accumulator_value
        self.needs_step = lr_decay > 0
        super().__init__(params, lr, name, distributed)

    def slots(self) -> dict[str, float]:
        return {"sum": self.initial}

    def rule(self, p: Tensor, g: Tensor, bufs: State, t: Tensor | None) -> tuple[Tensor, State]:
        g = self._grad(p, g)
        lr = self._lr(p)
        if t is not None:
            lr = lr / (1.0 + _like(t - 1.0, p) * self.lr_decay)
        total = bufs["sum"] + fn.square(g)
        return p - lr * g / (fn.sqrt(total) + self.eps), {"sum": total}


class RMSprop(Optimizer):
    """RMSprop with optional momentum and the centered variant."""

    prefix = "rmsprop"

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, name: str | None = None,
                 distributed: bool = False) -> None:
        _check_range("alpha", alpha, 0.0, 1.0 + 1e-12)
        _check_range("momentum", momentum, 0.0, 1.0)
        _check_range("eps", eps, 0.0)
        _check_range("weight_decay", weight_decay, 0.0)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered
        super().__init__(params, lr, name, distributed)

    def slots(self) -> dict[str, float]:
        table = {"square_avg": True, "grad_avg": self.centered, "momentum": self.momentum > 0}
        return {slot: 0.0 for slot, used in table.items() if used}

    def rule(self, p: Tensor, g: Tensor, bufs: State, t: Tensor | None) -> tuple[Tensor, State]:
        g = self._grad(p, g)
        a = self.alpha
        new = {"square_avg": a * bufs["square_avg"] + (1.0 - a) * fn.square(g)}
        v = new["square_avg"]
        if self.centered:
            new["grad_avg"] = a * bufs["grad_avg"] + (1.0 - a) * g
            v = v - fn.square(new["grad_avg"])
        step = g / (fn.sqrt(v) + self.eps)
        if self.momentum > 0:
            new["momentum"] = step = self.momentum * bufs["momentum"] + step
        return p - self._lr(p) * step, new


class Adam(Optimizer):
    """Adam with bias correction, optional L2 weight decay and the AMSGrad variant."""

    prefix = "adam"
    needs_step = True

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 name: str | None = None, distributed: bool = False) -> None:
        for key, beta in zip(("betas[0]", "betas[1]"), betas, strict=True):
            _check_range(key, beta, 0.0, 1.0)
        _check_range("eps", eps, 0.0)
        _check_range("weight_decay", weight_decay, 0.0)
        self.betas, self.eps, self.weight_decay, self.amsgrad = betas, eps, weight_decay, amsgrad
        super().__init__(params, lr, name, distributed)

    def slots(self) -> dict[str, float]:
        return {"m": 0.0, "v": 0.0, "vmax": 0.0} if self.amsgrad else {"m": 0.0, "v": 0.0}

    def _base(self, p: Tensor) -> Tensor:
        """The parameter the step starts from (AdamW shrinks it first)."""
        return p

    def rule(self, p: Tensor, g: Tensor, bufs: State, t: Tensor | None) -> tuple[Tensor, State]:
        b1, b2 = self.betas
        g = self._grad(p, g)
        new = {"m": b1 * bufs["m"] + (1.0 - b1) * g}
        new["v"] = v = b2 * bufs["v"] + (1.0 - b2) * fn.square(g)
        if self.amsgrad:
            new["vmax"] = v = fn.maximum(bufs["vmax"], v)
        t = _like(t, p)  # bias corrections in the parameter's precision
        m_hat = new["m"] / (1.0 - fn.pow(b1, t))
        v_hat = v / (1.0 - fn.pow(b2, t))
        return self._base(p) - self._lr(p) * m_hat / (fn.sqrt(v_hat) + self.eps), new


class AdamW(Adam):
    """Adam with decoupled weight decay: theta <- theta - lr * wd * theta before the step."""

    prefix = "adamw"

    def __init__(self, params: Sequence[Tensor], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 name: str | None = None, distributed: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, name, distributed)

    def _grad(self, p: Tensor, g: Tensor) -> Tensor:
        return g

    def _base(self, p: Tensor) -> Tensor:
        if not self.weight_decay:
            return p
        return p - self._lr(p) * self.weight_decay * p


Adagrad = AdaGrad  # PyTorch's spelling


def clip_grad_norm(grads: Sequence[Tensor], max_norm: float,
                   eps: float = 1e-6) -> tuple[list[Tensor], Tensor]:
    """(gradients scaled so their global L2 norm is at most ``max_norm``, the norm before),
    in the graph, as torch.nn.utils.clip_grad_norm_: scale = min(1, max_norm / (norm + eps))."""
    grads = list(grads)
    if not grads or max_norm <= 0:
        raise GraphcError("clip_grad_norm needs gradients and max_norm > 0")
    total = fn.sum(fn.square(grads[0]))
    for g in grads[1:]:
        total = total + _like(fn.sum(fn.square(g)), grads[0])
    norm = fn.sqrt(total)
    scale = fn.minimum(max_norm / (norm + eps), 1.0)
    return [g * _like(scale, g) for g in grads], norm


__all__ = ["SGD", "AdaGrad", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop",
           "clip_grad_norm", "schedules"]


def __dir__() -> list[str]:
    """dir(gc.optim) lists the optimizers, not the helpers this module imports."""
    return sorted(__all__)
