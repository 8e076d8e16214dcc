"""Backends: each turns a Graph into an Executable; they import support, ir, ops and analysis
only (never a pass, the frontend or each other's internals)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from graphc.analysis.memory import MemoryPlan
from graphc.ir.errors import BackendError, GraphcError
from graphc.ir.graph import Graph

# the views of a compiled graph, and which backend has each ("graph": every backend)
STAGES: dict[str, str | None] = {"graph": None, "llvm": "llvm", "llvm-opt": "llvm", "asm": "llvm"}


class Executable(Protocol):
    """A compiled graph: run(inputs, dims) -> outputs followed by update values; and what
    runs, for inspection (JAX's Compiled stage object is the model)."""

    profile_enabled: bool  # compiled with profile=True: kernel_seconds() counts every call

    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]: ...

    def kernel_seconds(self, dims: dict[str, int] | None = None) -> list[float]:
        """Seconds spent in each node so far (profile=True), in graph order."""
        ...

    def ir(self, stage: str = "graph", dims: dict[str, int] | None = None) -> str:
        """The text of ``stage`` (a key of STAGES) for ``dims`` (default: the last run's)."""
        ...

    def memory_plan(self, dims: dict[str, int]) -> MemoryPlan:
        """Where every value lives when the graph runs with ``dims``."""
        ...

    def report(self) -> list[Any]:
        """One entry per compiled binding of the symbolic dims, in compile order."""
        ...


def stage_error(backend: str, stage: str) -> GraphcError:
    """The error for a view this backend does not have."""
    if stage not in STAGES:
        return GraphcError(f"unknown stage {stage!r}; expected a pass name or one of "
                           f"{', '.join(STAGES)}")
    return GraphcError(f"ir({stage!r}) needs backend='{STAGES[stage]}'; this function runs on "
                       f"backend='{backend}'")


def _numpy(graph: Graph, **options: object) -> Executable:
    from graphc.backends.numpy.interpreter import Interpreter

    return Interpreter(graph, **options)


def _llvm(graph: Graph, **options: object) -> Executable:
    from graphc.backends.llvm.executable import compile_graph

    return compile_graph(graph, **options)


BACKENDS: dict[str, Callable[..., Executable]] = {"numpy": _numpy, "llvm": _llvm}

# The keyword options each backend understands; anything else is an error, never ignored.
# A backend that learns an option adds it here (and the test of unknown options follows).
OPTIONS: dict[str, tuple[str, ...]] = {
    "numpy": ("check_numerics", "memory_plan", "profile"),
    "llvm": ("check_numerics", "opt_level", "profile", "share_kernels", "threads"),
}


def check_options(backend: str, options: Iterable[str], also: Sequence[str] = ()) -> None:
    """BackendError for a backend name or option the backend does not understand, listing the
    valid ones (``also``: the options the caller handles itself, e.g. the pass manager's)."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; expected one of {sorted(BACKENDS)}")
    valid = sorted({*OPTIONS[backend], *also})
    for name in options:
        if name in valid:
            continue
        where = [b for b, names in OPTIONS.items() if name in names]
        hint = difflib.get_close_matches(name, valid, n=1)
        what = (f"is not supported by backend {backend!r} (backend {where[0]!r} has it)" if where
                else f"is unknown (did you mean {hint[0]!r}?)" if hint else "is unknown")
        raise BackendError(f"option {name!r} {what}; the options for backend {backend!r} are "
                           f"{', '.join(valid)}")


def compile_for(backend: str, graph: Graph, **options: object) -> Executable:
    """Compile ``graph`` with the named backend."""
    check_options(backend, options)
    return BACKENDS[backend](graph, **options)
