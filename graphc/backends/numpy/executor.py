"""The numpy backend's fast path: a graph compiled once per dims binding into a list of
closures that follow the memory plan (results written with ``out=`` into arena buffers,
in place where the plan says so, parameter updates into the parameter's own array).

The reference interpreter (interpreter.run_graph) stays the oracle; this runs the same
kernels, only choosing where results go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.analysis.memory import MemoryPlan, Slot, body_inplace_args, plan_memory
from graphc.backends.numpy import policy
from graphc.backends.numpy.body import BodyProgram
from graphc.backends.numpy.outkernels import OUT, write
from graphc.ir.errors import BackendError, ShapeError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.opdef import OpDef, lookup
from graphc.ops import core
from graphc.ops import shape as shape_ops
from graphc.ops.evaluate import kernel_error, run_node
from graphc.ops.fused import fused, fused_conv2d, fused_matmul, fused_reduce
from graphc.ops.shape import runtime_dims

Env = list[Any]
Step = Callable[[Env], None]


class Program:
    """One graph compiled for one binding of its symbolic dims.

    Nodes that depend on constants alone (the 1/B of a mean's gradient, say) are evaluated
    once here: with the dims bound they are constants, and each would cost a Python call per
    step otherwise.
    """

    def __init__(self, graph: Graph, dims: dict[str, int],
                 times: list[float] | None = None) -> None:
        self.graph = graph
        self.times = times  # profiling: seconds per node index, accumulated by each step
        self.static = _static_nodes(graph)
        self.plan: MemoryPlan = plan_memory(graph, dims, policy.planned(self.static))
        self.index: dict[Value, int] = {}
        for v in graph.values():
            self.index[v] = len(self.index)
        self.arena = _arena(graph, self.plan)
        self.views = {v: self._view(v, s) for v, s in self.plan.slots.items() if s.kind == "arena"}
        self.template: Env = [None] * len(self.index)
        self._evaluate_static()
        self.args = [self.index[v] for v in graph.inputs]
        self.params = [(self.index[p], p) for p in graph.params]
        self.steps = self._steps()
        leaving = list(graph.outputs) + [v for _, v in graph.updates]
        self.results = [(self.index[v], self._escape_rule(v)) for v in leaving]

    def _view(self, v: Value, s: Slot) -> np.ndarray:
        shape = v.type.concrete(self.plan.dims)
        dtype = v.type.dtype.np
        return np.ndarray(shape, dtype, buffer=self.arena, offset=s.offset or 0)

    def _evaluate_static(self) -> None:
        with np.errstate(all="ignore"), runtime_dims(self.plan.dims):
            for n in self.graph.nodes:
                if n in self.static:
                    results = run_node(n, [self.template[self.index[v]] for v in n.inputs])
                    for v, r in zip(n.outputs, results, strict=True):
                        self.template[self.index[v]] = r

    def _steps(self) -> list[Step]:
        """The per-call work: one step per non-static node, each followed by a step that
        drops the kernel-allocated values whose last reader it was (arena memory stays)."""
        frees: dict[int, list[int]] = {}
        for v, s in self.plan.slots.items():
            if s.kind == "fresh" and s.end < len(self.graph.nodes) and v.node not in self.static:
                frees.setdefault(s.end, []).append(self.index[v])
        steps: list[Step] = []
        for i, n in enumerate(self.graph.nodes):
            if n not in self.static:
                step = self._step(n)
                steps.append(step if self.times is None else _timed(step, self.times, i))
            if i in frees:
                steps.append(_free_step(frees[i]))
        return steps

    def _escape_rule(self, v: Value) -> str:
        """How a result leaves: "copy" (it lives in the arena or a static value, which the
        next call reuses), "keep" (a parameter's own array), or "check" (a kernel's result,
        which may still be a view of an arena operand)."""
        slot = self.plan.slots.get(v)
        if slot is None or slot.kind == "param":
            return "keep"
        root = slot.root or v
        root_slot = self.plan.slots.get(root)
        if root.node in self.static or (root_slot is not None and root_slot.kind == "arena"):
            return "copy"
        return "check"

    def _escape(self, a: np.ndarray, rule: str) -> np.ndarray:
        if rule == "copy" or (rule == "check" and self.arena.size
                              and np.may_share_memory(a, self.arena)):
            return a.copy()
        return a

    # -- one node --------------------------------------------------------------------------
    def _buffers(self, node: Node) -> list[Callable[[Env], np.ndarray]] | None:
        """Per result, how to get its buffer at run time; None: the kernel allocates."""
        slots = [self.plan.slots[v] for v in node.outputs]
        if any(s.kind in ("fresh", "view", "constant") for s in slots):
            return None
        return [self._buffer(v, s) for v, s in zip(node.outputs, slots, strict=True)]

    def _buffer(self, v: Value, s: Slot) -> Callable[[Env], np.ndarray]:
        if s.kind == "arena":
            view = self.views[v]
            return lambda env: view
        shape, dtype = v.type.concrete(self.plan.dims), v.type.dtype.np
        if s.kind == "param":
            p = self.index[s.shares]  # type: ignore[index]
            return lambda env: _writable(env[p], shape, dtype)
        return lambda env: np.empty(shape, dtype)

    def _step(self, node: Node) -> Step:
        ins = [self.index[v] for v in node.inputs]
        outs = [self.index[v] for v in node.outputs]
        view = _view_fn(node, self.plan.dims)
        if view is not None:
            return _guarded(node, _view_step(view, ins[0], outs[0]))
        buffers = self._buffers(node)
        if buffers is None or (node.body is None and len(outs) != 1):
            return _kernel_step(node, ins, outs)
        if node.body is not None and node.op in RUNNERS:
            return _guarded(node, _fused_step(self, node, ins, outs, buffers))
        if node.body is not None:
            return _kernel_step(node, ins, outs)
        return _guarded(node, _out_step(node, ins, outs[0], buffers[0]))

    # -- running ---------------------------------------------------------------------------
    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        env = self.template.copy()
        for i, a in zip(self.args, inputs, strict=True):
            env[i] = a
        for i, p in self.params:
            env[i] = _param_value(p)
        for step in self.steps:
            step(env)
        return [self._escape(env[i], rule) for i, rule in self.results]


def _timed(step: Step, times: list[float], i: int) -> Step:
    def timed(env: Env) -> None:
        start = time.perf_counter()
        step(env)
        times[i] += time.perf_counter() - start

    return timed


def _arena(graph: Graph, plan: MemoryPlan) -> np.ndarray:
    try:
        return np.empty(plan.arena_bytes, np.uint8)
    except MemoryError:
        dims = ", ".join(f"{k}={v}" for k, v in sorted(plan.dims.items())) or "no symbolic dims"
        raise ShapeError(f"graph @{graph.name} ({dims}): its {plan.arena_bytes} bytes of "
                         "intermediate buffers are more memory than this machine can allocate"
                         ) from None


def _static_nodes(graph: Graph) -> set[Node]:
    """Nodes computed from constants alone (deterministic: every op is a pure function),
    whose results do not leave the call. A node reading a result that leaves is not static
    either: that result is computed per call, after the static ones."""
    leaving = set(graph.outputs) | {v for _, v in graph.updates}
    static: set[Node] = set()
    known: set[Value] = set()
    for n in graph.nodes:
        from_constants = n.op is core.constant or (n.inputs and all(v in known for v in n.inputs))
        if from_constants and not leaving.intersection(n.outputs):
            static.add(n)
            known.update(n.outputs)
    return static


def _free_step(values: list[int]) -> Step:
    def step(env: Env) -> None:
        for i in values:
            env[i] = None

    return step


def _writable(a: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    ok = a.flags.writeable and a.flags.c_contiguous and a.shape == shape and a.dtype == dtype
    return a if ok else np.empty(shape, dtype)


def _param_value(p: Value) -> np.ndarray:
    if p.param is None or p.param.value is None:
        raise BackendError(f"parameter {p.name!r} has no value; feed it or assign .value")
    return p.param.value


def _kernel_step(node: Node, ins: list[int], outs: list[int]) -> Step:
    def step(env: Env) -> None:
        for o, r in zip(outs, run_node(node, [env[i] for i in ins]), strict=True):
            env[o] = r

    return step


def _guarded(node: Node, step: Step) -> Step:
    """``step`` with a kernel's own errors (say, a label out of range) naming the node."""

    def guarded(env: Env) -> None:
        try:
            step(env)
        except Exception as e:
            raise kernel_error(node, e) from None

    return guarded


def _out_step(node: Node, ins: list[int], o: int, buf: Callable[[Env], np.ndarray]) -> Step:
    op, attrs = node.op, node.attrs

    def step(env: Env) -> None:
        out = buf(env)
        write(op, out, [env[i] for i in ins], attrs)
        env[o] = out

    return step


def _fused_step(prog: Program, node: Node, ins: list[int], outs: list[int],
                buffers: list[Callable[[Env], np.ndarray]]) -> Step:
    run = RUNNERS[node.op](prog, node)

    def step(env: Env) -> None:
        bufs = [b(env) for b in buffers]
        run([env[i] for i in ins], bufs)
        for o, b in zip(outs, bufs, strict=True):
            env[o] = b

    return step


def _view_fn(node: Node, dims: dict[str, int]) -> Callable[[np.ndarray], np.ndarray] | None:
    """The view a shape op makes, with its shape worked out once (the reference kernels
    evaluate symbolic dims on every call); None for ops not in the table."""
    if node.op is shape_ops.transpose:
        perm = node.attrs["perm"]
        return lambda x: x.transpose(perm)
    if node.op in (shape_ops.reshape, shape_ops.expand_dims, shape_ops.squeeze):
        shape = node.outputs[0].type.concrete(dims)
        return lambda x: x.reshape(shape)
    return None


def _view_step(view: Callable[[np.ndarray], np.ndarray], i: int, o: int) -> Step:
    def step(env: Env) -> None:
        env[o] = view(env[i])

    return step


def _shapes(prog: Program, values: list[Value]) -> list[tuple[int, ...]]:
    return [v.type.concrete(prog.plan.dims) for v in values]


def _fused_runner(prog: Program, node: Node) -> Callable[..., None]:
    return BodyProgram(node.body, _shapes(prog, node.inputs), set()).run  # type: ignore[arg-type]


def _reduce_runner(prog: Program, node: Node) -> Callable[..., None]:
    axis, keep = node.attrs["axis"], node.attrs["keepdims"]
    dtype = node.body.outputs[0].type.dtype.np  # type: ignore[union-attr]
    shape = np.broadcast_shapes(*_shapes(prog, node.inputs))
    body = BodyProgram(node.body, _shapes(prog, node.inputs), set())  # type: ignore[arg-type]
    kernel = OUT[lookup(node.attrs["reduce"])]  # the reduce kinds are catalogue reductions

    def run(args: list[np.ndarray], bufs: list[np.ndarray]) -> None:
        tmp = np.empty(shape, dtype)
        body.run(args, [tmp])
        kernel(bufs[0], tmp, axis=axis, keepdims=keep)

    return run


def _epilogue_runner(prog: Program, node: Node) -> Callable[..., None]:
    base = node.op.anchor
    assert base is not None
    attrs = dict(node.attrs)
    product = base.infer([v.type for v in node.inputs[:2]], attrs)[0]
    shape, dtype = product.concrete(prog.plan.dims), product.dtype.np
    into = OUT.get(base)
    # the product goes straight into result 0 unless result 0 takes over an operand's
    # buffer (an in-place update) or the body reads the product after writing result 0;
    # otherwise it goes into a scratch buffer the body may then reuse for its temporaries
    direct = (into is not None and prog.plan.slots[node.outputs[0]].shares is None
              and product == node.outputs[0].type
              and 0 in body_inplace_args(node.body, 0))  # type: ignore[arg-type]
    shapes = [shape, *_shapes(prog, node.inputs[2:])]
    body = BodyProgram(node.body, shapes, set() if direct else {0})  # type: ignore[arg-type]

    def run(args: list[np.ndarray], bufs: list[np.ndarray]) -> None:
        if direct:
            into(bufs[0], args[0], args[1], **attrs)  # type: ignore[misc]
            body.run([bufs[0], *args[2:]], bufs)
        elif into is not None:
            tmp = np.empty(shape, dtype)
            into(tmp, args[0], args[1], **attrs)
            body.run([tmp, *args[2:]], bufs)
        else:
            body.run([np.asarray(base.kernel(args[0], args[1], **attrs)), *args[2:]], bufs)

    return run


RUNNERS: dict[OpDef, Callable[[Program, Node], Callable[..., None]]] = {
    fused: _fused_runner, fused_reduce: _reduce_runner,
    fused_matmul: _epilogue_runner, fused_conv2d: _epilogue_runner,
}


class Executor:
    """Programs per dims binding (a few kept), run under a lock: the arena is shared state."""

    def __init__(self, graph: Graph, keep: int = 4, times: list[float] | None = None) -> None:
        self.graph = graph
        self.keep = keep
        self.times = times
        self.programs: dict[tuple, Program] = {}
        self.lock = threading.Lock()

    def program(self, dims: dict[str, int]) -> Program:
        key = tuple(sorted(dims.items()))
        prog = self.programs.get(key)
        if prog is None:
            if len(self.programs) >= self.keep:
                self.programs.pop(next(iter(self.programs)))
            prog = self.programs[key] = Program(self.graph, dims, self.times)
        return prog

    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]:
        with self.lock:
            return self.program(dims).run(inputs)
