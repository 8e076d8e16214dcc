"""Shared native kernels (the GEMM) compiled once per machine, not once per graph.

The GEMM is by far the largest code the backend emits; compiling it into every graph's module
would dominate cold compile time. Instead it is built into its own object (cached on disk like
graph code), loaded once per process, and its symbols are registered with LLVM's dynamic
linker, so graph modules only declare ``graphc_gemm_<dtype>`` and call it.
"""

from __future__ import annotations

import threading

import llvmlite.binding as llvm
from llvmlite import ir

from graphc.backends.llvm import cache, jit
from graphc.backends.llvm.irutil import F32, F64, I64, PTR, VOID

_FLOAT = {"f32": F32, "f64": F64}
_loaded: dict[str, jit.Loaded] = {}
_lock = threading.Lock()


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


BUILDERS = {"gemm_f32": lambda: _build_gemm("f32"), "gemm_f64": lambda: _build_gemm("f64")}
EXPORTS = {"gemm_f32": ["graphc_gemm_f32"], "gemm_f64": ["graphc_gemm_f64"]}


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

        key = cache.make_key("runtime", name, backend_fingerprint(), jit.toolchain_id())
        entry, _ = cache.lookup(key)
        if entry is None:
            obj, _ = jit.compile_ir(BUILDERS[name](), jit.Timings())
            entry = cache.Entry({"runtime": name}, obj)
            cache.store(key, entry)
        loaded = jit.Loaded(entry.obj)
        for symbol in EXPORTS[name]:
            llvm.add_symbol(symbol, loaded.address(symbol))
        _loaded[name] = loaded
