"""The reference backend: runs a graph node by node with each op's NumPy kernel."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from graphc.analysis.liveness import dying_after
from graphc.analysis.memory import MemoryPlan, plan_memory
from graphc.analysis.numerics import check_numerics
from graphc.backends.numpy.policy import UNPLANNED
from graphc.ir.errors import BackendError
from graphc.ir.graph import Graph, Value
from graphc.ir.printer import print_graph
from graphc.ops.evaluate import run_node
from graphc.ops.shape import runtime_dims


def run_graph(
    graph: Graph, inputs: list[np.ndarray], numerics: bool = False,
    times: list[float] | None = None,
) -> list[np.ndarray]:
    """Evaluate ``graph`` on inputs (parameters read from their cells), freeing as it goes."""
    env: dict[Value, np.ndarray] = dict(zip(graph.inputs, inputs, strict=True))
    env.update((p, _param_value(p)) for p in graph.params)
    frees = dying_after(graph)
    for i, node in enumerate(graph.nodes):
        args = [env[v] for v in node.inputs]
        start = time.perf_counter()
        results = run_node(node, args)
        if times is not None:
            times[i] += time.perf_counter() - start
        if numerics:
            check_numerics(node, args, results)
        env.update(zip(node.outputs, results, strict=True))
        for v in frees.get(i, ()):
            env.pop(v, None)
    return [env[v] for v in graph.outputs] + [env[v] for _, v in graph.updates]


def _param_value(p: Value) -> np.ndarray:
    if p.param is None or p.param.value is None:
        raise BackendError(f"parameter {p.name!r} has no value; feed it or assign .value")
    return p.param.value


@dataclass
class NumpyReport:
    """One dims binding of the planned executor."""

    dims: dict[str, int]
    arena_bytes: int

    def __str__(self) -> str:
        bound = ", ".join(f"{k}={v}" for k, v in sorted(self.dims.items()))
        return f"numpy executor [{bound}]: arena {self.arena_bytes} bytes"


class Interpreter:
    """Executable for the numpy backend; check_numerics=True stops at the first NaN;
    profile=True times every node (``kernel_seconds()``)."""

    def __init__(self, graph: Graph, check_numerics: bool = False, memory_plan: bool = True,
                 profile: bool = False, **options: object) -> None:
        self.graph = graph
        self.numerics = check_numerics
        self.profile_enabled = profile
        self.times: list[float] | None = [0.0] * len(graph.nodes) if profile else None
        # the planned executor (buffers reused, out= kernels); check_numerics inspects every
        # node's fresh result, so it takes the plain node-by-node path
        self.executor = None
        if memory_plan and not check_numerics:
            from graphc.backends.numpy.executor import Executor

            self.executor = Executor(graph, times=self.times)

    def ir(self, stage: str = "graph", dims: dict[str, int] | None = None) -> str:
        """The graph this backend runs (it has no other stage)."""
        if stage != "graph":
            from graphc.backends import stage_error

            raise stage_error("numpy", stage)
        return print_graph(self.graph)

    def report(self) -> list[NumpyReport]:
        """Per dims binding the planned executor prepared: its arena (none without it)."""
        if self.executor is None:
            return []
        return [NumpyReport(dict(key), prog.plan.arena_bytes)
                for key, prog in self.executor.programs.items()]

    def memory_plan(self, dims: dict[str, int]) -> MemoryPlan:
        """The plan the run for ``dims`` follows (every result fresh without the executor)."""
        if self.executor is None:
            return plan_memory(self.graph, dims, UNPLANNED)
        with self.executor.lock, runtime_dims(dims):
            return self.executor.program(dims).plan

    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]:
        # errstate: inf/nan propagate as in NumPy, without warnings; runtime_dims: kernels
        # whose attributes name symbolic dims (broadcast_to [B,10]) read their values
        with np.errstate(all="ignore"), runtime_dims(dims):
            if self.executor is not None:
                return self.executor.run(inputs, dims)
            return run_graph(self.graph, inputs, self.numerics, self.times)

    def kernel_seconds(self, dims: dict[str, int] | None = None) -> list[float]:
        """Seconds spent in each node so far, by node index (needs profile=True)."""
        if self.times is None:
            raise BackendError("compile with profile=True to time the nodes")
        return list(self.times)
