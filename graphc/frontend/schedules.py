"""Learning-rate schedules (gc.optim.schedules): step -> lr functions for an lr parameter.

An optimizer's ``lr`` may be a scalar graph parameter; set it from a schedule before each step::

    lr = gc.parameter("lr", 0.0)
    opt = gc.optim.AdamW(params, lr=lr)
    sched = gc.optim.schedules.warmup_cosine(3e-3, warmup=100, total=2000)
    for step in range(2000):
        lr.value = sched(step)   # or gc.optim.schedules.set_lr(lr, sched(step))
        train(...)

Steps count from 0. Each schedule is a plain function of the step, so a resumed run that knows
its step number gets the same rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError

Schedule = Callable[[int], float]

__all__ = ["constant", "cosine", "linear_warmup", "set_lr", "step", "warmup_cosine"]


def _positive(name: str, v: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise GraphcError(f"{name} must be a positive int, got {v!r}")


def constant(lr: float) -> Schedule:
    """lr at every step."""
    return lambda t: lr


def step(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """lr * gamma ** (t // step_size) (torch's StepLR)."""
    _positive("step_size", step_size)
    return lambda t: lr * gamma ** (t // step_size)


def cosine(lr: float, total: int, min_lr: float = 0.0) -> Schedule:
    """Cosine decay from lr at step 0 to min_lr at step ``total`` (then held)."""
    _positive("total", total)

    def at(t: int) -> float:
        frac = min(t, total) / total
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * frac))

    return at


def linear_warmup(lr: float | Schedule, warmup: int) -> Schedule:
    """A linear ramp lr * (t + 1) / warmup over the first ``warmup`` steps, then ``lr``
    (a number, or a schedule that then starts from its own step 0)."""
    _positive("warmup", warmup)
    after = lr if callable(lr) else constant(lr)
    peak = after(0)
    return lambda t: peak * (t + 1) / warmup if t < warmup else after(t - warmup)


def warmup_cosine(lr: float, warmup: int, total: int, min_lr: float = 0.0) -> Schedule:
    """Linear warmup to lr over ``warmup`` steps, then cosine decay to min_lr at ``total``."""
    if total <= warmup:
        raise GraphcError(f"total ({total}) must exceed warmup ({warmup})")
    return linear_warmup(cosine(lr, total - warmup, min_lr), warmup)


def set_lr(lr: Tensor, value: float) -> None:
    """Assign ``value`` to the scalar lr parameter ``lr`` (keeping its dtype)."""
    if not isinstance(lr, Tensor) or lr.ir.param is None or lr.shape != ():
        raise GraphcError(f"set_lr takes a scalar lr parameter, got {lr!r}")
    lr.value = np.asarray(value, lr.dtype.np)
