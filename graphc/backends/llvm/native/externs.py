"""Declarations, in a graph's module, of the shared runtime kernels (runtime.py provides them).

Declaring costs nothing: the executable makes sure the pieces a module references
(runtime.required) are compiled and linked before it loads the module's object.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import F32, F64, I64, PTR, VOID
from graphc.backends.llvm.native import parallel

_FLOAT = {"f32": F32, "f64": F64}


def gemm_type(dtype: str) -> ir.FunctionType:
    """The documented C ABI of ``graphc_gemm_<dtype>`` (see gemm.py)."""
    t = _FLOAT[dtype]
    return ir.FunctionType(VOID, [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, t, t, PTR])


def declare_gemm(module: ir.Module, dtype: str) -> ir.Function:
    """``graphc_gemm_<dtype>`` declared in ``module``."""
    name = f"graphc_gemm_{dtype}"
    return module.globals.get(name) or ir.Function(module, gemm_type(dtype), name)


def declare_parallel(module: ir.Module) -> ir.Function:
    """``graphc_parallel(fn, ctx, chunks, workers)``: fn(ctx, chunk, tid) for every chunk."""
    name = "graphc_parallel"
    return module.globals.get(name) or ir.Function(module, parallel.PARALLEL_TYPE, name)
