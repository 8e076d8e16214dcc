"""gc.function: extract the program a call needs, run passes, compile, check inputs."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from graphc.backends import STAGES, Executable, check_options, compile_for
from graphc.frontend.calling import bind_dims, held_arrays, run, unaliased
from graphc.frontend.feeds import arrange, is_feed_dict
from graphc.frontend.profile import (
    Profile,
    build_profile,
    format_profile,
    profile_calls,
    restore_params,
    saved_params,
)
from graphc.frontend.tensor import Tensor
from graphc.ir.clone import extract
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value
from graphc.passes.inspect import PASS_OPTIONS, fusion_report, make_manager, pass_report
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


def _one_graph(tensors: Sequence[Tensor], roles: Sequence[str] = ()) -> Graph:
    """The graph of ``tensors`` (the first one's); else a GraphcError naming the first tensor
    of another graph (``roles``: what each tensor is to the caller, e.g. "output 1")."""
    if not tensors:
        raise GraphcError("a function needs at least one output or update")
    home = tensors[0].graph
    for i, t in enumerate(tensors):
        if t.graph is not home:
            role = roles[i] if i < len(roles) else "tensor"
            raise GraphcError(f"function inputs, outputs and updates must come from one graph: "
                              f"{role} {t!r}{_made_at(t)} is in graph @{t.graph.name}, the "
                              f"others in @{home.name}")
    return home


def _made_at(t: Tensor) -> str:
    node = t.ir.node
    return f" (made at {node.loc})" if node is not None else ""


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


_observers: list[Callable[[Function], None]] = []  # told of every Function made


@contextlib.contextmanager
def watch_functions() -> Iterator[list[Function]]:
    """Collect every Function compiled inside the block (what a script compiles, for
    ``graphc explore script.py``)."""
    made: list[Function] = []
    _observers.append(made.append)
    try:
        yield made
    finally:
        _observers.remove(made.append)


class Function:
    """A compiled graph: call it with NumPy arrays in the order of its inputs, as keywords by
    placeholder name, or as one dict keyed by placeholder Tensor or name."""

    def __init__(self, graph: Graph, executable: Executable, n_outputs: int, single: bool,
                 passes: PassManager | None = None, backend: str = "numpy",
                 options: dict[str, Any] | None = None, sources: Sequence[Value] = ()) -> None:
        self.graph = graph
        self.backend = backend
        self.options = dict(options or {})  # the backend options it was compiled with
        self.calls = 0
        self.last_profile: Profile | None = None
        self._profiling: Executable | None = None  # a profile=True twin, made on demand
        # the placeholders the caller built (feed dicts may be keyed by them) and their names
        self.sources = list(sources) or list(graph.inputs)
        self.input_names = [str(v.name) for v in graph.inputs]
        self.executable = executable
        self.n_outputs = n_outputs
        self.single = single
        self.passes = passes  # the pass manager that optimized graph (its records and IR)
        self.last_dims: dict[str, int] | None = None
        self._checked: tuple[tuple, dict[str, int]] | None = None  # last signature that passed
        self._held = held_arrays(graph)
        for tell in _observers:
            tell(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run with the inputs in order, by placeholder name, or as one dict of feeds."""
        arrays = self._arrays(args, kwargs)
        dims = self._bind(arrays)
        self.last_dims = dims
        self.calls += 1
        results = unaliased(self.graph, arrays, run(self.executable, self.graph, arrays, dims),
                             self.n_outputs, self._held)
        outs, new_values = results[: self.n_outputs], results[self.n_outputs :]
        for (param, _), value in zip(self.graph.updates, new_values, strict=True):
            param.param.value = value  # type: ignore[union-attr]
        return outs[0] if self.single else outs

    def _arrays(self, args: tuple, kwargs: dict[str, Any]) -> list[np.ndarray]:
        """The inputs in order, from positional arrays, keywords or a feed dict."""
        if kwargs or is_feed_dict(args):
            args = tuple(arrange(self.input_names, self.sources, args, kwargs))
        return [np.asarray(a) for a in args]

    def _bind(self, arrays: list[np.ndarray]) -> dict[str, int]:
        """bind_dims, skipped when the shapes and dtypes repeat the last call's (the checks
        depend on nothing else, so a repeated signature passes them again)."""
        sig = tuple((a.shape, a.dtype) for a in arrays)
        if self._checked is not None and self._checked[0] == sig:
            return dict(self._checked[1])  # a copy: callers may keep and change last_dims
        dims = bind_dims(self.graph, arrays)
        self._checked = (sig, dict(dims))
        return dims

    def ir(self, stage: str | None = None, **dims: int) -> str:
        """The text IR that runs; ``ir("input")`` before any pass, ``ir("fuse")`` after fuse;
        the backend's stages (``llvm``, ``llvm-opt``, ``asm``) for ``dims`` (default: the
        last call's)."""
        if stage is None or stage in STAGES:
            return self.executable.ir(stage or "graph", dims or None)
        if self.passes is None:
            raise GraphcError("this function was compiled without a pass manager")
        try:
            return self.passes.ir_after(stage)
        except GraphcError as e:
            raise GraphcError(f"{e}; backend stages: {', '.join(STAGES)}") from None

    # -- pass inspection (graphc.passes) -------------------------------------------------
    def pass_report(self) -> str:
        """A table: each pass, its time in ms, node counts before/after, whether it changed."""
        return pass_report(self)

    def fusion_report(self) -> Any:
        """The kernels fusion formed and why each remaining boundary was not fused."""
        return fusion_report(self)

    def memory_plan(self, dims: dict[str, int] | None = None, **more: int) -> Any:
        """Buffer lifetimes, reuse and peak bytes for ``dims`` (default: the last call's)."""
        return self.executable.memory_plan(self._inspect_dims({**(dims or {}), **more}))

    def _inspect_dims(self, dims: dict[str, int]) -> dict[str, int]:
        """Every symbolic dim bound: from ``dims``, else the last call's."""
        symbols = sorted({s for v in self.graph.values() for s in v.type.symbols()})
        bound = dims or self.last_dims or {}
        missing = [s for s in symbols if s not in bound]
        if missing:
            raise GraphcError(f"memory_plan needs values for {', '.join(missing)}: call the "
                              f"function once or pass them, e.g. memory_plan({missing[0]}=128)")
        return {s: bound[s] for s in symbols}

    # -- backend views (the executable's) ------------------------------------------------
    def llvm_ir(self, optimized: bool = False, **dims: int) -> str:
        """LLVM IR for the given dims (default: the last compiled binding); -O3 if optimized."""
        return self.ir("llvm-opt" if optimized else "llvm", **dims)

    def asm(self, **dims: int) -> str:
        """Host assembly for the given dims (default: the last compiled binding)."""
        return self.ir("asm", **dims)

    def compile_report(self) -> list[Any]:
        """Per compiled dims binding, what the backend made: llvm's IR build / optimize /
        codegen / load times and cache hit, numpy's executor arena."""
        return self.executable.report()

    # -- profiling -------------------------------------------------------------------------
    def profile(self, *args: Any, repeat: int = 10, warmup: int = 1) -> Profile:
        """Time each kernel over ``repeat`` calls on ``args`` (after ``warmup`` calls) with a
        profiling build (this one if compiled with profile=True, else a twin compiled now);
        parameters are left as they were. The result is also ``last_profile``. ``args``: the
        inputs in order, or one feed dict."""
        arrays = self._arrays(args, {})
        dims = self._bind(arrays)
        exe = self._profiled()
        saved = saved_params(self.graph)
        try:
            samples, walls = profile_calls(lambda: exe.run(arrays, dims),
                                           lambda: exe.kernel_seconds(dims), repeat, warmup)
        finally:
            restore_params(saved)
        self.last_profile = build_profile(self.graph, self.backend, dims, samples, walls)
        return self.last_profile

    def _profiled(self) -> Any:
        if self.executable.profile_enabled:
            return self.executable
        if self._profiling is None:
            self._profiling = compile_for(self.backend, self.graph,
                                          **{**self.options, "profile": True})
        return self._profiling

    def profile_report(self, limit: int | None = None) -> str:
        """The last profile as a table sorted by time (``limit``: the top rows only); without
        one, the calls made so far of a function compiled with profile=True."""
        if self.last_profile is None and self.calls and self.last_dims is not None and \
                self.executable.profile_enabled:
            totals = self.executable.kernel_seconds(self.last_dims)
            return format_profile(build_profile(self.graph, self.backend, self.last_dims,
                                                [totals], [], calls=self.calls), limit)
        if self.last_profile is None:
            raise GraphcError("no profile yet: call fn.profile(*inputs), or compile with "
                              "profile=True (or GRAPHC_PROFILE=1) and call the function")
        return format_profile(self.last_profile, limit)

    # -- the explorer page -----------------------------------------------------------------
    def explore(self, path: str, history: dict[str, list[float]] | None = None,
                profile: dict[int, float] | None = None, **dims: int) -> str:
        """Write one self-contained HTML page about this function to ``path`` (graph, passes,
        fusion, memory plan for ``dims`` or the last call's, kernels; ``history``: training
        curves by name; ``profile``: seconds per call by node index). Returns ``path``."""
        from graphc.explorer import write_page

        return write_page(path, self, history=history, profile=profile, dims=dims or None)


def function(
    inputs: Sequence[Tensor],
    outputs: Tensor | Sequence[Tensor],
    updates: Sequence[tuple[Tensor, Tensor]] | None = None,
    backend: str = "numpy",
    passes: str | Sequence[str] | None = None,
    **options: Any,
) -> Function:
    """Compile a callable computing ``outputs`` from ``inputs``, applying ``updates`` after.

    ``passes``: a pipeline (DEFAULT_PIPELINE, "canonicalize,cse,hoist,fold,dce,fuse,memplan", by
    default; [] runs none);
    print_after_all, print_after=[names], print_changed_only, verify_each and pass_stream go to
    the pass manager, the other options to the backend.
    """
    single = isinstance(outputs, Tensor)
    outs = _check_outputs([outputs] if single else outputs)  # type: ignore[list-item]
    ins = _check_inputs(inputs)
    pairs = _check_updates(updates)
    roles = ([f"output {i}" for i in range(len(outs))] + [f"input {t.name!r}" for t in ins]
             + [f"update of {p.name!r}" for p, _ in pairs for _ in (0, 1)])
    graph = _one_graph(outs + ins + [t for pair in pairs for t in pair], roles)
    program = extract(
        graph, [t.ir for t in ins], [t.ir for t in outs], [(p.ir, v.ir) for p, v in pairs]
    )
    check_options(backend, options, (*PASS_OPTIONS, "pass_stream"))
    manager = make_manager(passes, options)  # takes the pass options out of ``options``
    return _compiled(manager.run(program), backend, manager, options, len(outs), single,
                     [t.ir for t in ins])


_profile_all: list[bool] = []  # inside profiling_all(): every function is profiled


@contextlib.contextmanager
def profiling_all() -> Iterator[None]:
    """Compile every function in the block with profile=True (``graphc profile script.py``)."""
    _profile_all.append(True)
    try:
        yield
    finally:
        _profile_all.pop()


def _compiled(program: Graph, backend: str, manager: PassManager, options: dict[str, Any],
              n_outputs: int, single: bool, sources: Sequence[Value] = ()) -> Function:
    """The Function of an optimized program; GRAPHC_PROFILE=1 profiles it and prints its
    table when the program exits."""
    watched = os.environ.get("GRAPHC_PROFILE", "").strip() not in ("", "0")
    if watched or _profile_all:
        options = {**options, "profile": options.get("profile", True)}
    executable = compile_for(backend, program, **options)
    fn = Function(program, executable, n_outputs, single, manager, backend, options, sources)
    if watched:
        report_at_exit(fn)
    return fn


def function_of_graph(graph: Graph, backend: str = "numpy",
                      passes: str | Sequence[str] | None = None, **options: Any) -> Function:
    """Compile a whole Graph (e.g. one parsed from a .gir file): its inputs, outputs and
    updates as they are, through the same pipeline and backend options as ``function``."""
    check_options(backend, options, (*PASS_OPTIONS, "pass_stream"))
    manager = make_manager(passes, options)
    program = manager.run(graph)
    return _compiled(program, backend, manager, options, len(program.outputs), False)


_at_exit: list[Function] = []


def report_at_exit(fn: Function) -> None:
    """Print ``fn``'s profile table to stderr when the program exits (if it was called)."""
    if not _at_exit:
        atexit.register(_print_reports)
    _at_exit.append(fn)


def _print_reports() -> None:
    for fn in _at_exit:
        if fn.calls and fn.executable.profile_enabled:
            sys.stderr.write(fn.profile_report() + "\n")
