"""compile_graph: the llvm backend's Executable, compiled per binding of the symbolic dims.

Each binding ("variant") is compiled once (or loaded from the cache), then every call fills a
prebuilt ctypes pointer block and makes one native call; ctypes releases the GIL during it.
Parameter updates happen in place, so the update values returned are the parameter arrays.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from graphc import ops
from graphc.analysis.memory import MemoryPlan
from graphc.analysis.numerics import first_nan, nan_error
from graphc.backends.llvm.adaptive import WorkerChooser
from graphc.backends.llvm.native import mpi, runtime  # noqa: F401  (mpi: its symbol)
from graphc.backends.llvm.native.threads import MAX_THREADS, available_cpus
from graphc.backends.llvm.toolchain import jit, progress
from graphc.backends.llvm.variant import CompileReport, Variant
from graphc.ir.errors import BackendError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.printer import print_graph, value_names

# codegen (and through it every kernel module) is imported only on a cache miss or for
# inspection: a process that loads cached object code never needs it (~50+ ms of imports).
from graphc.support import cache
from graphc.support.fingerprint import tree_fingerprint


def _expected_index(node: Node) -> str:
    """What a bad index or label of ``node`` (take, take_grad, softmax_cross_entropy) broke."""
    if node.op.collective:
        return "the collective failed on this rank (its error is printed above)"
    if node.op is ops.softmax_cross_entropy:
        logits = node.inputs[0].type
        return f"label out of range: expected 0 <= label < {logits.shape[-1]} (logits {logits})"
    axis = node.attrs.get("axis")
    shape = node.attrs["shape"] if node.op is ops.take_grad else node.inputs[0].type.shape
    n = shape[axis] if axis is not None else " * ".join(map(str, shape)) or "1"
    where = f"axis {axis}" if axis is not None else "the flattened table"
    return f"index out of range: expected -{n} <= index < {n} ({where} of shape {list(shape)})"


@functools.cache
def backend_fingerprint(pattern: str = "**/*.py") -> str:
    """A hash of this backend's source files (``pattern`` relative to the package, subpackages
    included): changing the code generator invalidates the cache."""
    return tree_fingerprint(Path(__file__).parent, [pattern])


def _key(graph_text: str, dims: dict[str, int], opt_level: int) -> str:
    dims_text = json.dumps(sorted(dims.items()))
    return cache.make_key(
        cache.CODEGEN_VERSION,
        backend_fingerprint(),
        graph_text,
        dims_text,
        jit.toolchain_id(opt_level),
    )


def _param_array(p: Value) -> np.ndarray:
    """The parameter's array, made C-contiguous and writable in its cell if it was not."""
    cell = p.param
    assert cell is not None
    arr = cell.value
    if not (arr.flags.c_contiguous and arr.flags.writeable and arr.dtype == p.type.dtype.np):
        arr = cell.value = np.array(arr, dtype=p.type.dtype.np, order="C")
    return arr


class LLVMExecutable:
    """A graph compiled to native code; run(inputs, dims) -> outputs + updated params."""

    def __init__(
        self,
        graph: Graph,
        opt_level: int = jit.OPT_LEVEL,
        profile: bool = False,
        threads: int = 1,
        adaptive: bool = False,
        numerics: bool = False,
        share_kernels: bool = True,
    ):
        self.graph = graph
        self.share_kernels = share_kernels  # identical kernels emitted once (codegen/emit.py)
        self.numerics = numerics  # check_numerics: stop at the first node that makes NaN
        self.opt_level = opt_level
        self.profile_enabled = profile
        self.threads = threads
        self.adaptive = adaptive  # choose between ``threads`` and 1 per call by timing both
        self.text = print_graph(graph) + f"// profile={profile} threads={threads}"
        self.text += " numerics" if numerics else ""
        self.text += "\n" if share_kernels else " unshared\n"
        self.variants: dict[tuple, Variant] = {}
        self._compile_lock = threading.Lock()
        self.update_index = [graph.params.index(p) for p, _ in graph.updates]

    # -- compiling -------------------------------------------------------------------------
    def variant(self, dims: dict[str, int]) -> Variant:
        key = tuple(sorted(dims.items()))
        found = self.variants.get(key)
        if found is not None:
            return found
        with self._compile_lock:
            if key not in self.variants:
                self.variants[key] = self._build(dict(dims))
            return self.variants[key]

    def _what(self, dims: dict[str, int]) -> str:
        bound = ", ".join(f"{k}={v}" for k, v in sorted(dims.items()))
        return f"@{self.graph.name} ({len(self.graph.nodes)} nodes{', ' + bound if bound else ''})"

    def _build(self, dims: dict[str, int]) -> Variant:
        timings = jit.Timings()
        runtime_before = runtime.compile_seconds()
        key = _key(self.text, dims, self.opt_level)
        entry, where = cache.lookup(key)
        if entry is None:
            from graphc.backends.llvm.codegen import emit

            # shared kernels missing too (a cold start): a helper process compiles them meanwhile
            runtime.compile_ahead(runtime.likely_pieces(self.graph))
            with progress.announce(self._what(dims)):
                program = emit.generate(self.graph, dims, timings, self.profile_enabled,
                                        self.threads, self.numerics, self.share_kernels)
                obj, _ = jit.compile_ir(program.ir_text, timings, self.opt_level)
            entry = cache.Entry(program.meta, obj)
            cache.store(key, entry)
        for piece in entry.meta.get("runtime", []):
            runtime.ensure(piece)  # the shared GEMM must be linked before the graph's code loads
        if "pool" in entry.meta.get("runtime", []):
            runtime.start_pool(self.threads)
        spent = runtime.compile_seconds() - runtime_before
        t0 = time.perf_counter()
        loaded = jit.Loaded(entry.obj)
        report = CompileReport(
            dims,
            where,
            timings.ir_build,
            timings.optimize,
            timings.codegen,
            time.perf_counter() - t0,
            entry.meta["arena_bytes"],
            spent,
            loaded.how,
            tuple(entry.meta.get("kernels", (0, 0))),
        )
        var = Variant(entry.meta, loaded, report)
        if self.adaptive and var.workers is not None:
            var.chooser = WorkerChooser(self.threads)
        return var

    # -- running ---------------------------------------------------------------------------
    def run(self, inputs: list[np.ndarray], dims: dict[str, int]) -> list[np.ndarray]:
        var = self.variants.get(tuple(sorted(dims.items()))) or self.variant(dims)
        with var.lock:  # one argument block and arena per variant: calls take turns
            copies = var.bind_inputs(inputs)
            params = self._bind_params(var)
            outs = var.bind_outputs()
            self._call(var)
            if var.error.value:
                self._raise_kernel_error(var, inputs, params, dims)
            results = var.collect(outs)
            del copies  # the call is over: contiguous copies of strided inputs may go
        return results + [params[j] for j in self.update_index]

    @staticmethod
    def _call(var: Variant) -> None:
        """One native call; timed when the variant chooses its thread count by measuring."""
        chooser = var.chooser
        if chooser is None:
            var.entry(var.block_address)
            return
        var.workers.value = chooser.workers  # type: ignore[union-attr]
        t0 = time.perf_counter()
        var.entry(var.block_address)
        chooser.record(time.perf_counter() - t0)

    def _raise_kernel_error(self, var: Variant, inputs: list[np.ndarray],
                            params: list[np.ndarray], dims: dict[str, int]) -> None:
        """Reset the variant's error flag and raise naming the node that set it (for a NaN,
        the op and line the reference evaluation finds, as the numpy backend reports it)."""
        code, var.error.value = var.error.value, 0
        if code > 0:
            node = self.graph.nodes[code - 1]
            raise BackendError(f"{node.describe()}: {_expected_index(node)}")
        first_nan(self.graph, inputs, params, dims)
        node = self.graph.nodes[-code - 1]  # codegen/numerics.nan_code; NaN on llvm only
        raise nan_error(node, next(v for v in node.outputs if v.type.dtype.is_float))

    def _bind_params(self, var: Variant) -> list[np.ndarray]:
        arrays = []
        for j, p in enumerate(self.graph.params):
            arr = p.param.value  # type: ignore[union-attr]
            if arr is not var.params_seen[j]:
                arr = _param_array(p)
                var.params_seen[j] = arr
                var.block[var.n_in + j] = arr.ctypes.data
            arrays.append(arr)
        return arrays

    # -- inspection ------------------------------------------------------------------------
    def _dims_for(self, dims: dict[str, int] | None, what: str = "llvm_ir") -> dict[str, int]:
        """``dims``, else the last compiled binding; ``what``: the method asking (for the hint)."""
        if dims is None and self.variants:
            dims = dict(next(reversed(self.variants.keys())))
        dims = dims or {}
        symbols = sorted({s for v in self.graph.values() for s in v.type.symbols()} - set(dims))
        if symbols:
            raise BackendError(
                f"graph @{self.graph.name} has symbolic dims {', '.join(symbols)}: call the "
                f"function once, or pass them, e.g. {what}({symbols[0]}=32)"
            )
        return dims

    def ir(self, stage: str = "graph", dims: dict[str, int] | None = None) -> str:
        """``graph`` (the IR compiled), ``llvm``, ``llvm-opt`` (after -O3) or ``asm``."""
        views = {
            "graph": lambda: print_graph(self.graph),
            "llvm": lambda: self.llvm_ir(dims),
            "llvm-opt": lambda: self.llvm_ir(dims, optimized=True),
            "asm": lambda: self.asm(dims),
        }
        if stage not in views:
            from graphc.backends import stage_error

            raise stage_error("llvm", stage)
        return views[stage]()

    def report(self) -> list[CompileReport]:
        """One compile report per compiled binding of the symbolic dims, in compile order."""
        return self.compile_report()

    def memory_plan(self, dims: dict[str, int] | None = None) -> MemoryPlan:
        """Where each value lives in the code compiled for ``dims`` (the arena it allocates)."""
        from graphc.backends.llvm.codegen.layout import plan

        lay = plan(self.graph, self._dims_for(dims), self.threads, self.numerics)
        return lay.plan  # type: ignore[return-value]

    def llvm_ir(self, dims: dict[str, int] | None = None, optimized: bool = False,
                what: str = "llvm_ir") -> str:
        """The LLVM IR generated for ``dims`` (the last compiled binding by default)."""
        from graphc.backends.llvm.codegen import emit

        found = emit.generate(
            self.graph, self._dims_for(dims, what), None, self.profile_enabled, self.threads,
            self.numerics, self.share_kernels,
        )
        text = found.ir_text
        if not optimized:
            return text
        mod = jit.parse_and_verify(text)
        jit.optimize(mod, self.opt_level)
        return str(mod)

    def asm(self, dims: dict[str, int] | None = None) -> str:
        """Host assembly for ``dims``."""
        return jit.assembly(self.llvm_ir(dims, optimized=True, what="asm"), self.opt_level)

    def profile(self, dims: dict[str, int] | None = None) -> list[tuple[str, int]]:
        """(node, CPU cycles spent so far) per node, busiest first (needs profile=True)."""
        if not self.profile_enabled:
            raise BackendError("compile with profile=True to collect per-node cycle counts")
        from graphc.backends.llvm.codegen.counters import PROFILE_SYMBOL

        var = self.variant(self._dims_for(dims, "profile"))
        n = len(self.graph.nodes)
        counts = (ctypes.c_int64 * n).from_address(
            var.loaded.address(PROFILE_SYMBOL, data=True)
        )
        names = value_names(self.graph)  # the numbering of ir() and memory_plan()
        rows = [(f"{', '.join(names[v] for v in node.outputs)} {node.describe()}", counts[i])
                for i, node in enumerate(self.graph.nodes)]
        return sorted(rows, key=lambda r: -r[1])

    def kernel_seconds(self, dims: dict[str, int] | None = None) -> list[float]:
        """Seconds spent in each node's kernel so far, by node index (needs profile=True):
        the profiling build's cycle counters over the counter's measured rate."""
        if not self.profile_enabled:
            raise BackendError("compile with profile=True to time the kernels")
        from graphc.backends.llvm.codegen.counters import PROFILE_SYMBOL
        from graphc.backends.llvm.toolchain.clock import cycles_per_second

        var = self.variant(self._dims_for(dims))
        n = len(self.graph.nodes)
        counts = (ctypes.c_int64 * n).from_address(var.loaded.address(PROFILE_SYMBOL, data=True))
        rate = cycles_per_second()
        return [c / rate for c in counts]

    def compile_report(self) -> list[CompileReport]:
        """One report per compiled binding of the symbolic dims, in compile order."""
        return [v.report for v in self.variants.values()]


MAX_DEFAULT_THREADS = 4  # beyond this a default would mostly add fork/join cost at these sizes


def default_threads() -> int:
    """Threads a compiled graph uses unless told otherwise: the CPUs this process may run on,
    at most MAX_DEFAULT_THREADS (measured on 2 vCPUs: 2 threads win at batch 32 to 1024)."""
    return max(1, min(available_cpus(), MAX_DEFAULT_THREADS))


def _threads(options: dict[str, Any]) -> tuple[int, bool]:
    """(threads, pinned): the ``threads`` option, else GRAPHC_THREADS (both checked and pinned),
    else default_threads(), which the executable may lower to 1 per call (adaptive.py)."""
    raw: Any = options.pop("threads", None)
    source = "threads"
    if raw is None:
        raw, source = os.environ.get("GRAPHC_THREADS"), "GRAPHC_THREADS"
        if not raw:
            return default_threads(), False
    whole = isinstance(raw, int) and not isinstance(raw, bool)
    threads = int(raw) if whole or (isinstance(raw, str) and raw.strip().isdigit()) else 0
    if not 1 <= threads <= MAX_THREADS:
        raise BackendError(
            f"{source}={raw!r}: expected a whole number of threads from 1 to {MAX_THREADS}"
        )
    return threads, True


def compile_graph(graph: Graph, **options: Any) -> LLVMExecutable:
    """The llvm backend's entry point (used by graphc.backends.compile_for).

    Options: ``opt_level`` (default 3), ``profile`` (per-node cycle counts), ``check_numerics``
    (stop at the first node that makes NaN from NaN-free operands: NumericsError names the op
    and the user's line, as on the numpy backend), ``threads`` (big
    GEMM, conv, pooling and elementwise kernels run in chunks on that many threads; default
    ``default_threads()``, or the environment variable GRAPHC_THREADS). Results do not depend
    on the thread count, bit for bit. With the default, each compiled binding times its calls
    and runs on one thread while that is faster (adaptive.py); ``threads=`` or GRAPHC_THREADS
    pins the count. ``share_kernels`` (default True): structurally identical kernels (the same
    code: op, shapes, strides, aliasing) are emitted once per module and called with different
    buffers; False emits one function per node (same results, bit for bit)."""
    opt = int(options.pop("opt_level", jit.OPT_LEVEL))
    threads, pinned = _threads(options)
    profile = bool(options.pop("profile", False))
    numerics = bool(options.pop("check_numerics", False))
    share = bool(options.pop("share_kernels", True))
    return LLVMExecutable(graph, opt_level=opt, profile=profile, threads=threads,
                          adaptive=not pinned and threads > 1, numerics=numerics,
                          share_kernels=share)
