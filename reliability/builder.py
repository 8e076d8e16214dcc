"""The state of a random graph being built: its values (with magnitude bounds), its leaves
(placeholders and at most one parameter) and their feeds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import graphc as gc

MAX_ELEMENTS = 2048
BIG = 30.0  # magnitude above which a value is squashed before growing ops


@dataclass(eq=False)  # compared by identity: Tensor == builds an elementwise node
class Val:
    """A tensor of the graph and a rough bound on its magnitude (to keep values finite)."""

    t: gc.Tensor
    bound: float

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.t.shape)


@dataclass
class RandomGraph:
    """A built graph: its placeholders, the outputs to compare (results, loss, gradients),
    and at most one parameter updated by a gradient step (with its initial value)."""

    graph: gc.Graph
    inputs: list[gc.Tensor]
    outputs: list[gc.Tensor]
    feeds: list[np.ndarray]
    steps: list[str] = field(default_factory=list)
    updates: list[tuple[gc.Tensor, gc.Tensor]] = field(default_factory=list)
    initial: list[np.ndarray] = field(default_factory=list)  # the updated parameters' values

    def reset(self) -> None:
        """Give every updated parameter its initial value again."""
        for (p, _), value in zip(self.updates, self.initial, strict=True):
            p.value = value.copy()


class Builder:
    """The state of one random graph being built (inside ``with graph``)."""

    def __init__(self, rng: np.random.Generator, dtype: str) -> None:
        self.rng, self.dtype = rng, dtype
        self.pool: list[Val] = []
        self.leaves: list[gc.Tensor] = []  # placeholders and the parameter: d loss / d each
        self.inputs: list[gc.Tensor] = []
        self.feeds: list[np.ndarray] = []
        self.param: tuple[gc.Tensor, np.ndarray] | None = None
        self.steps: list[str] = []

    # -- leaves and picks ------------------------------------------------------------------
    def leaf(self, shape: tuple[int, ...]) -> Val:
        """A new placeholder, or (once per graph, half the time) a parameter."""
        value = self.rng.uniform(-2.0, 2.0, shape).astype(self.dtype)
        if self.param is None and self.rng.random() < 0.5:
            t = gc.parameter(f"p{len(self.leaves)}", value.copy())
            self.param = (t, value)
        else:
            t = gc.placeholder(f"x{len(self.leaves)}", shape, self.dtype)
            self.inputs.append(t)
            self.feeds.append(value)
        self.leaves.append(t)
        return self.add(t, 2.0)

    def add(self, t: gc.Tensor, bound: float) -> Val:
        v = Val(t, min(float(bound), 1e30))
        if int(np.prod(v.shape)) <= MAX_ELEMENTS:
            self.pool.append(v)
        return v

    def pick(self, rank: int | None = None) -> Val:
        cands = [v for v in self.pool if rank is None or len(v.shape) == rank]
        if not cands:
            return self.leaf(self.shape(rank if rank is not None else 2))
        recent = cands[-4:] if self.rng.random() < 0.7 else cands
        return recent[int(self.rng.integers(len(recent)))]

    def shape(self, rank: int) -> tuple[int, ...]:
        """Mostly tiny dims; sometimes (rank <= 2) up to 47, past vector widths and GEMM tiles."""
        high = 48 if rank <= 2 and self.rng.random() < 0.2 else 6
        return tuple(int(d) for d in self.rng.integers(1, high, rank))

    def tame(self, v: Val, limit: float = BIG) -> Val:
        """v, or tanh(v) when its magnitude estimate exceeds ``limit``."""
        return v if v.bound <= limit else Val(gc.tanh(v.t), 1.0)

    def partner(self, a: Val) -> Val:
        """A value whose shape broadcasts with a's: from the pool, or a new leaf."""
        fits = [v for v in self.pool if v is not a and broadcasts(v.shape, a.shape)]
        if fits and self.rng.random() < 0.6:
            return fits[int(self.rng.integers(len(fits)))]
        shape = list(a.shape)
        for i in range(len(shape)):
            if self.rng.random() < 0.3:
                shape[i] = 1
        drop = int(self.rng.integers(0, len(shape) + 1)) if self.rng.random() < 0.3 else 0
        return self.leaf(tuple(shape[drop:]))

    def const_like(self, shape: tuple[int, ...]) -> gc.Tensor:
        return gc.constant(self.rng.uniform(-1.0, 1.0, shape).astype(self.dtype))


def broadcasts(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(small, big) == big
    except ValueError:
        return False
