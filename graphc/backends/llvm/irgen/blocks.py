"""Small LLVM IR building blocks shared by the GEMM, conv and pool kernels, and a JIT harness.

The harness (``compile_kernel_for_test``) compiles a module for this host the way the backend
does (target machine from the host CPU, verify, new pass manager at O3 with vectorization, MCJIT)
so that kernels can be tested and measured on their own.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir

I64 = ir.IntType(64)
I32 = ir.IntType(32)
FLOAT_TYPES: dict[str, ir.Type] = {"f32": ir.FloatType(), "f64": ir.DoubleType()}


def dtype_name(t: ir.Type) -> str:
    """'f32' or 'f64' for an LLVM float type."""
    return "f32" if isinstance(t, ir.FloatType) else "f64"


def i64(v: int | ir.Value) -> ir.Value:
    """An i64 constant from an int, or the value unchanged."""
    return ir.Constant(I64, v) if isinstance(v, int) else v


def imin(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """Signed minimum of two i64 values."""
    x, y = i64(x), i64(y)
    return b.select(b.icmp_signed("<", x, y), x, y)


def ceil_div(b: ir.IRBuilder, x: ir.Value, y: int | ir.Value) -> ir.Value:
    """ceil(x / y) for x >= 0, y > 0."""
    y = i64(y)
    return b.sdiv(b.add(i64(x), b.sub(y, i64(1))), y)


@contextmanager
def for_range(
    b: ir.IRBuilder, start: int | ir.Value, stop: int | ir.Value, step: int | ir.Value = 1,
    name: str = "i",
) -> Iterator[ir.Value]:
    """Emit ``for (i = start; i < stop; i += step)`` around the body; yields i (i64)."""
    fn, pre = b.function, b.block
    head, body, done = (fn.append_basic_block(f"{name}.{s}") for s in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    idx = b.phi(I64, name)
    idx.add_incoming(i64(start), pre)
    b.cbranch(b.icmp_signed("<", idx, i64(stop)), body, done)
    b.position_at_end(body)
    yield idx
    idx.add_incoming(b.add(idx, i64(step)), b.block)
    b.branch(head)
    b.position_at_end(done)


def elem_ptr(b: ir.IRBuilder, base: ir.Value, *offsets: int | ir.Value) -> ir.Value:
    """Address ``base + sum(offsets)`` in elements."""
    off = i64(offsets[0])
    for o in offsets[1:]:
        off = b.add(off, i64(o))
    return b.gep(base, [off])


def _align(t: ir.Type) -> int:
    return 4 if isinstance(t, ir.FloatType) else 8


def load_vec(b: ir.IRBuilder, ptr: ir.Value, vty: ir.VectorType) -> ir.Value:
    """Unaligned vector load (element alignment only)."""
    return b.load(b.bitcast(ptr, vty.as_pointer()), align=_align(vty.element))


def store_vec(b: ir.IRBuilder, val: ir.Value, ptr: ir.Value) -> None:
    """Unaligned vector store (element alignment only)."""
    b.store(val, b.bitcast(ptr, val.type.as_pointer()), align=_align(val.type.element))


def splat(b: ir.IRBuilder, scalar: ir.Value, vty: ir.VectorType) -> ir.Value:
    """Broadcast a scalar to every lane of ``vty``."""
    one = b.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(I32, 0))
    mask = ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count)
    return b.shuffle_vector(one, ir.Constant(vty, ir.Undefined), mask)


def entry_alloca(b: ir.IRBuilder, ty: ir.Type) -> ir.Value:
    """A stack slot allocated in the entry block (a static frame slot, not a dynamic alloca)."""
    with b.goto_entry_block():
        b.position_at_start(b.function.entry_basic_block)
        return b.alloca(ty)


def vector_fma(module: ir.Module, vty: ir.VectorType) -> ir.Function:
    """The ``llvm.fma`` intrinsic on ``vty`` (llvmlite cannot name vector intrinsics itself)."""
    suffix = "f32" if isinstance(vty.element, ir.FloatType) else "f64"
    name = f"llvm.fma.v{vty.count}{suffix}"
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(vty, [vty, vty, vty]), name)


def new_function(module: ir.Module, name: str, args: list[ir.Type], internal: bool) -> ir.Function:
    """A void function with nounwind and a builder-ready entry block."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), args), name)
    fn.attributes.add("nounwind")
    if internal:
        fn.linkage = "internal"
    fn.append_basic_block("entry")
    return fn


def cold(fn: ir.Function) -> None:
    """Mark an edge-case helper: compiled small (no vectorization or unrolling), never inlined."""
    for attr in ("noinline", "minsize", "optsize"):
        fn.attributes.add(attr)


def phi_edges(phi: ir.PhiInstr, edges: list[tuple[ir.Value, ir.Block]]) -> ir.PhiInstr:
    """Add (value, block) incoming edges to a phi and return it."""
    for value, block in edges:
        phi.add_incoming(value, block)
    return phi


def transpose_square(b: ir.IRBuilder, rows: list[ir.Value]) -> list[ir.Value]:
    """Transpose n vectors of n lanes (n a power of two) with log2(n) rounds of shuffles."""
    n, rows = len(rows), list(rows)
    d = n // 2
    while d:
        # Swap bit d of the row index with bit d of the lane index.
        lo = [x if not x & d else n + x - d for x in range(n)]
        hi = [x + d if not x & d else n + x for x in range(n)]
        for i in (i for i in range(n) if not i & d):
            a, c = rows[i], rows[i + d]
            rows[i], rows[i + d] = (b.shuffle_vector(a, c, _mask(m)) for m in (lo, hi))
        d //= 2
    return rows


def _mask(idx: list[int]) -> ir.Constant:
    return ir.Constant(ir.VectorType(I32, len(idx)), idx)


# --- standalone JIT harness (tests and measurements) -------------------------------------

_CTYPES = {"i64": ctypes.c_int64, "float": ctypes.c_float, "double": ctypes.c_double}


def host_target_machine(opt: int = 3) -> llvm.TargetMachine:
    """A target machine for this host's CPU name and features."""
    llvm.initialize_native_target()  # idempotent; only initialize() itself raises in 0.50
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    feats = llvm.get_host_cpu_features().flatten()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=feats, opt=opt)


def optimize_module(mod: llvm.ModuleRef, tm: llvm.TargetMachine, level: int = 3) -> None:
    """Run the new pass manager's default pipeline at ``level`` with loop vectorization."""
    pto = llvm.PipelineTuningOptions(speed_level=level)
    pto.loop_vectorization = pto.slp_vectorization = pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def compile_kernel_for_test(module: ir.Module, name: str) -> Callable[..., None]:
    """JIT ``module`` at O3 for this host and return function ``name`` as a ctypes callable."""
    return compile_kernels_for_test(module, [name])[name]


def compile_kernels_for_test(module: ir.Module, names: list[str]) -> dict[str, Callable[..., None]]:
    """JIT ``module`` once and return ctypes callables for each of ``names``."""
    tm = host_target_machine()
    module.triple, module.data_layout = llvm.get_process_triple(), str(tm.target_data)
    mod = llvm.parse_assembly(str(module))
    mod.verify()
    optimize_module(mod, tm)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    out = {}
    for name in names:
        fnty = module.globals[name].function_type
        argtypes = [_CTYPES.get(str(a), ctypes.c_void_p) for a in fnty.args]
        cfunc: Any = ctypes.CFUNCTYPE(None, *argtypes)(engine.get_function_address(name))
        cfunc.engine = engine  # the engine owns the code: keep it alive as long as the callable
        out[name] = cfunc
    return out
