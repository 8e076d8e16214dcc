"""Backends: each turns a Graph into an Executable; they import only ir and ops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from graphc.analysis.memory import MemoryPlan
from graphc.ir.errors import BackendError
from graphc.ir.graph import Graph


class Executable(Protocol):
    """A compiled graph: run(inputs, dims) -> outputs followed by update values."""

    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]: ...

    def memory_plan(self, dims: dict[str, int]) -> MemoryPlan: ...


def _numpy(graph: Graph, **options: object) -> Executable:
    from graphc.backends.numpy.interpreter import Interpreter

    return Interpreter(graph, **options)


def _llvm(graph: Graph, **options: object) -> Executable:
    from graphc.backends.llvm.executable import compile_graph

    return compile_graph(graph, **options)


BACKENDS: dict[str, Callable[..., Executable]] = {"numpy": _numpy, "llvm": _llvm}


def compile_for(backend: str, graph: Graph, **options: object) -> Executable:
    """Compile ``graph`` with the named backend."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; expected one of {sorted(BACKENDS)}")
    return BACKENDS[backend](graph, **options)
