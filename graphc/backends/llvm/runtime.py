"""Shared native kernels (the GEMM) compiled once per machine, not once per graph.

The GEMM is by far the largest code the backend emits; compiling it into every graph's module
would dominate cold compile time. Instead it is built into its own object (cached on disk like
graph code), loaded once per process, and its symbols are registered with jit's symbol table
(both object loaders resolve through it), so graph modules only declare ``graphc_gemm_<dtype>``
(externs.py) and call it.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Any

from graphc.backends.llvm import cache, jit, threads

_loaded: dict[str, jit.Loaded] = {}
_lock = threading.Lock()
_compile_seconds = [0.0]
SOURCES = (
    "gemm*.py", "kernel_ir.py", "runtime.py", "jit.py", "irutil.py", "parallel.py", "threads.py"
)


def compile_seconds() -> float:
    """Total time this process spent compiling runtime pieces (for compile reports)."""
    return _compile_seconds[0]


def _build_gemm(dtype: str) -> str:
    from llvmlite import ir

    from graphc.backends.llvm import gemm

    module = ir.Module(name=f"graphc_runtime_gemm_{dtype}")
    module.triple = jit.host()[0]
    gemm.emit_gemm(module, dtype)
    return str(module)


def _build_pool() -> str:
    from llvmlite import ir

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


def start_pool(workers: int) -> None:
    """Make sure the pool has helper threads for ``workers``-way kernels in this process."""
    ensure("pool")
    loaded = _loaded["pool"]
    state = loaded.address("graphc_pool", data=True)
    threads.start_helpers(loaded.address("graphc_pool_worker"), state, workers)


def required(module: Any) -> list[str]:
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
            jit.register_symbol(symbol, loaded.address(symbol))
        _loaded[name] = loaded
        if name == "pool":  # helper threads run its code until the process ends: never free it
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(loaded))
