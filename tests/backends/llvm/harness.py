"""Kernels of a hand-built module compiled the way the backend compiles (``toolchain.jit``:
verify, the host's O3 pipeline, an object loaded by the backend's loader), as ctypes callables."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from llvmlite import ir

from graphc.backends.llvm.toolchain import jit

_CTYPES = {"i64": ctypes.c_int64, "float": ctypes.c_float, "double": ctypes.c_double}


def compile_kernels(module: ir.Module, names: list[str]) -> dict[str, Callable[..., None]]:
    """Compile ``module`` once and return a ctypes callable for each of ``names``."""
    module.triple = jit.host()[0]
    obj, _ = jit.compile_ir(str(module), jit.Timings())
    loaded = jit.Loaded(obj)
    out = {}
    for name in names:
        fnty = module.globals[name].function_type
        argtypes = [_CTYPES.get(str(a), ctypes.c_void_p) for a in fnty.args]
        cfunc: Any = ctypes.CFUNCTYPE(None, *argtypes)(loaded.address(name))
        cfunc.loaded = loaded  # the loaded object owns the code: keep it alive with the callable
        out[name] = cfunc
    return out
