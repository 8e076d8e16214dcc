"""gc.function: extract the program a call needs, run passes, compile, check inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.backends import Executable, compile_for
from graphc.frontend.tensor import Tensor
from graphc.ir.clone import extract
from graphc.ir.errors import GraphcError, InputError
from graphc.ir.graph import Graph, Value
from graphc.ir.types import TensorType, dim_symbols, eval_dim
from graphc.passes.inspect import fusion_report, make_manager, memory_plan, pass_report
from graphc.passes.manager import PassManager


def _check_inputs(inputs: Sequence[Any]) -> list[Tensor]:
    if isinstance(inputs, Tensor):  # iterating a Tensor would index it
        raise GraphcError(f"function inputs must be a list of placeholders, got {inputs!r}")
    ins = list(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or t.ir not in t.graph.inputs:
            raise GraphcError(f"function inputs must be placeholders, got {t!r}")
    _check_unique(ins, "input")
    return ins


def _check_outputs(outputs: Sequence[Any]) -> list[Tensor]:
    outs = list(outputs)
    for t in outs:
        if not isinstance(t, Tensor):
            raise GraphcError(f"function outputs must be Tensors, got {t!r}")
    return outs


def _check_unique(tensors: Sequence[Tensor], what: str) -> None:
    """Each placeholder is bound once, each parameter updated once: anything else is ambiguous."""
    seen: set[int] = set()
    for t in tensors:
        if id(t.ir) in seen:
            raise GraphcError(f"{what} {t.name!r} is listed twice")
        seen.add(id(t.ir))


def _check_updates(updates: Sequence[Any] | None) -> list[tuple[Tensor, Tensor]]:
    pairs = [_check_update(pair) for pair in updates or ()]
    _check_unique([p for p, _ in pairs], "update target")
    return pairs


def _check_update(pair: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise GraphcError(f"an update must be a (parameter, new value) pair, got {pair!r}")
    param, new = pair
    if not isinstance(param, Tensor) or param.ir.param is None:
        raise GraphcError(f"update target {param!r} is not a parameter")
    if not isinstance(new, Tensor) or new.type.dtype != param.type.dtype:
        raise GraphcError(f"update of {param.name!r} must be a {param.type} tensor, got {new!r}")
    if new.type.shape != param.type.shape:
        raise GraphcError(f"update of {param.name!r} has shape {new.type}, expected {param.type}")
    return param, new


def bind_dims(graph: Graph, args: Sequence[np.ndarray]) -> dict[str, int]:
    """Check call arguments against the graph's inputs; returns the symbolic dim bindings."""
    if len(args) != len(graph.inputs):
        names = ", ".join(str(v.name) for v in graph.inputs)
        raise InputError(f"expected {len(graph.inputs)} inputs ({names}), got {len(args)}")
    env: dict[str, int] = {}
    where: dict[str, str] = {}
    for v, a in zip(graph.inputs, args, strict=True):
        _check_one(v, a, env, where)
    return env


def _check_one(v: Value, a: np.ndarray, env: dict[str, int], where: dict[str, str]) -> None:
    t: TensorType = v.type
    if a.dtype != t.dtype.np:
        raise InputError(f"input {v.name!r}: expected dtype {t.dtype.name}, got {a.dtype}")
    if a.ndim != t.rank:
        raise InputError(f"input {v.name!r}: expected rank {t.rank} ({t}), got shape {a.shape}")
    for axis, (d, n) in enumerate(zip(t.shape, a.shape, strict=True)):
        syms = dim_symbols(d)
        if len(syms) == 1 and d == syms[0] and d not in env:
            env[d], where[d] = n, f"input {v.name!r} axis {axis}"
            continue
        try:
            want = eval_dim(d, env)
        except KeyError:
            continue  # a product of unbound symbols: not checkable on its own
        if want != n:
            bound = f" (bound to {want} by {where[d]})" if d in where else ""
            raise InputError(
                f"input {v.name!r} axis {axis}: expected {d}{bound}, got {n} in shape {a.shape}"
            )


class Function:
    """A compiled graph: call it with NumPy arrays in the order of its inputs."""

    def __init__(self, graph: Graph, executable: Executable, n_outputs: int, single: bool,
                 passes: PassManager | None = None) -> None:
        self.graph = graph
        self.executable = executable
        self.n_outputs = n_outputs
        self.single = single
        self.passes = passes  # the pass manager that optimized graph (its records and IR)
        self.last_dims: dict[str, int] | None = None

    def __call__(self, *args: Any) -> Any:
        arrays = [np.asarray(a) for a in args]
        dims = bind_dims(self.graph, arrays)
        self.last_dims = dims
        results = self.executable.run(arrays, dims)
        outs, new_values = results[: self.n_outputs], results[self.n_outputs :]
        for (param, _), value in zip(self.graph.updates, new_values, strict=True):
            param.param.value = value  # type: ignore[union-attr]
        return outs[0] if self.single else outs

    def ir(self, stage: str | None = None) -> str:
        """The text IR that runs; ``ir("input")`` before any pass, ``ir("fuse")`` after fuse."""
        if stage is None:
            return str(self.graph)
        if self.passes is None:
            raise GraphcError("this function was compiled without a pass manager")
        return self.passes.ir_after(stage)

    # -- pass inspection (graphc.passes) -------------------------------------------------
    def pass_report(self) -> str:
        """A table: each pass, its time in ms, node counts before/after, whether it changed."""
        return pass_report(self)

    def fusion_report(self) -> Any:
        """The kernels fusion formed and why each remaining boundary was not fused."""
        return fusion_report(self)

    def memory_plan(self, dims: dict[str, int] | None = None, **more: int) -> Any:
        """Buffer lifetimes, reuse and peak bytes for ``dims`` (default: the last call's)."""
        return memory_plan(self, {**(dims or {}), **more})

    # -- llvm backend inspection (delegates to the executable) ---------------------------
    def _llvm(self) -> Any:
        if not hasattr(self.executable, "llvm_ir"):
            raise GraphcError("llvm_ir(), asm() and compile_report() need backend='llvm'")
        return self.executable

    def llvm_ir(self, optimized: bool = False, **dims: int) -> str:
        """LLVM IR for the given dims (default: the last compiled binding); -O3 if optimized."""
        return self._llvm().llvm_ir(dims or None, optimized=optimized)

    def asm(self, **dims: int) -> str:
        """Host assembly for the given dims (default: the last compiled binding)."""
        return self._llvm().asm(dims or None)

    def compile_report(self) -> list[Any]:
        """Per compiled dims binding: IR build / optimize / codegen / load times, cache hit."""
        return self._llvm().compile_report()


def function(
    inputs: Sequence[Tensor],
    outputs: Tensor | Sequence[Tensor],
    updates: Sequence[tuple[Tensor, Tensor]] | None = None,
    backend: str = "numpy",
    passes: str | Sequence[str] | None = None,
    **options: Any,
) -> Function:
    """Compile a callable computing ``outputs`` from ``inputs``, applying ``updates`` after.

    ``passes``: a pipeline ("canonicalize,cse,fold,dce,fuse,memplan" by default; [] runs none);
    print_after_all, print_after=[names], print_changed_only, verify_each and pass_stream go to
    the pass manager, the other options to the backend.
    """
    single = isinstance(outputs, Tensor)
    outs = [outputs] if single else list(outputs)  # type: ignore[list-item]
    ins = _check_inputs(inputs)
    pairs = _check_updates(updates)
    everything = ins + outs + [t for pair in pairs for t in pair]
    graphs = {id(t.graph): t.graph for t in everything if isinstance(t, Tensor)}
    if len(graphs) != 1:
        raise GraphcError("function inputs, outputs and updates must come from one graph")
    (graph,) = graphs.values()
    program = extract(
        graph, [t.ir for t in ins], [t.ir for t in outs], [(p.ir, v.ir) for p, v in pairs]
    )
    manager = make_manager(passes, options)  # takes the pass options out of ``options``
    program = manager.run(program)
    executable = compile_for(backend, program, **options)
    return Function(program, executable, len(outs), single, manager)
