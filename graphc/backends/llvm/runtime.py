"""Shared native kernels (the GEMM) compiled once per machine, not once per graph.

The GEMM is by far the largest code the backend emits; compiling it into every graph's module
would dominate cold compile time. Instead it is built into its own object (cached on disk like
graph code), loaded once per process, and its symbols are registered with LLVM's dynamic
linker, so graph modules only declare ``graphc_gemm_<dtype>`` and call it.
"""

from __future__ import annotations

import ctypes
import threading
import time

import llvmlite.binding as llvm
from llvmlite import ir

from graphc.backends.llvm import cache, jit
from graphc.backends.llvm.irutil import F32, F64, I64, PTR, VOID

_FLOAT = {"f32": F32, "f64": F64}
_loaded: dict[str, jit.Loaded] = {}
_lock = threading.Lock()
_compile_seconds = [0.0]
SOURCES = ("gemm*.py", "kernel_ir.py", "runtime.py", "jit.py", "irutil.py", "parallel.py")


def compile_seconds() -> float:
    """Total time this process spent compiling runtime pieces (for compile reports)."""
    return _compile_seconds[0]


def gemm_type(dtype: str) -> ir.FunctionType:
    """The documented C ABI of ``graphc_gemm_<dtype>`` (see gemm.py)."""
    t = _FLOAT[dtype]
    return ir.FunctionType(VOID, [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, t, t, PTR])


def declare_gemm(module: ir.Module, dtype: str) -> ir.Function:
    """``graphc_gemm_<dtype>`` declared in ``module`` (the runtime provides it; see ensure)."""
    ensure(f"gemm_{dtype}")
    name = f"graphc_gemm_{dtype}"
    return module.globals.get(name) or ir.Function(module, gemm_type(dtype), name)


def _build_gemm(dtype: str) -> str:
    from graphc.backends.llvm import gemm

    module = ir.Module(name=f"graphc_runtime_gemm_{dtype}")
    module.triple = jit.host()[0]
    gemm.emit_gemm(module, dtype)
    return str(module)


def _build_pool() -> str:
    from graphc.backends.llvm import parallel

    module = ir.Module(name="graphc_runtime_pool")
    module.triple = jit.host()[0]
    parallel.emit_pool(module)
    return str(module)


BUILDERS = {
    "gemm_f32": lambda: _build_gemm("f32"),
    "gemm_f64": lambda: _build_gemm("f64"),
    "pool": _build_pool,
}
EXPORTS = {
    "gemm_f32": ["graphc_gemm_f32"],
    "gemm_f64": ["graphc_gemm_f64"],
    "pool": ["graphc_parallel", "graphc_pool_worker"],
}


def declare_parallel(module: ir.Module) -> ir.Function:
    """``graphc_parallel(fn, ctx, chunks, workers)``: fn(ctx, chunk, tid) for every chunk."""
    from graphc.backends.llvm import parallel

    ensure("pool")
    name = "graphc_parallel"
    return module.globals.get(name) or ir.Function(module, parallel.PARALLEL_TYPE, name)


def start_pool(threads: int) -> None:
    """Make sure the pool has helper threads for ``threads``-way kernels in this process."""
    from graphc.backends.llvm import parallel

    ensure("pool")
    loaded = _loaded["pool"]
    state = loaded.address("graphc_pool", data=True)
    parallel.start_helpers(loaded.address("graphc_pool_worker"), state, threads)


def required(module: ir.Module) -> list[str]:
    """The runtime pieces whose symbols ``module`` references."""
    return sorted(n for n, symbols in EXPORTS.items() if any(s in module.globals for s in symbols))


def ensure(name: str) -> None:
    """Compile (or load from the cache) runtime piece ``name`` and register its symbols."""
    if name in _loaded:
        return
    with _lock:
        if name in _loaded:
            return
        from graphc.backends.llvm.executable import backend_fingerprint

        sources = "".join(backend_fingerprint(pattern) for pattern in SOURCES)
        key = cache.make_key("runtime", name, sources, jit.toolchain_id())
        entry, _ = cache.lookup(key)
        if entry is None:
            t0 = time.perf_counter()
            obj, _ = jit.compile_ir(BUILDERS[name](), jit.Timings())
            _compile_seconds[0] += time.perf_counter() - t0
            entry = cache.Entry({"runtime": name}, obj)
            cache.store(key, entry)
        loaded = jit.Loaded(entry.obj)
        for symbol in EXPORTS[name]:
            llvm.add_symbol(symbol, loaded.address(symbol))
        _loaded[name] = loaded
        if name == "pool":  # helper threads run its code until the process ends: never free it
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(loaded))
