"""Example inputs for every op of the catalogue, shared by every table-driven test.

Each op has one or more Case entries: a builder of input arrays (from a seeded Generator) and
the attributes. The shape-rule, text round-trip, gradient and backend-parity tests all walk
CASES; test_catalogue_is_covered fails when a registered op has no case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Builder = Callable[[np.random.Generator], list[np.ndarray]]


@dataclass
class Case:
    """One way to call an op: inputs made by ``make(rng)``, attributes ``attrs``."""

    op: str
    make: Builder
    attrs: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    # inputs (by position) to differentiate in the gradient test; None: every float input
    grad_inputs: tuple[int, ...] | None = None
    # an independent NumPy computation of the result(s) from the input arrays, if given
    ref: Callable[..., Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}" if self.label else self.op


def f32(
    *shape: int, low: float = -2.0, high: float = 2.0
) -> Callable[[np.random.Generator], np.ndarray]:
    """A builder of a uniform float32 array."""
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def all_cases() -> list[Case]:
    from tests.op_cases import collective, math, nn, random, scan, shape

    return (math.CASES + shape.CASES + nn.CASES + random.CASES + scan.CASES
            + collective.CASES)
