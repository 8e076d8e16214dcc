"""LLVM IR building blocks of the GEMM and conv kernels: vectors, FMA, tiles, functions."""

from __future__ import annotations

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I32, align_of, i64

FLOAT_TYPES: dict[str, ir.Type] = {"f32": ir.FloatType(), "f64": ir.DoubleType()}


def dtype_name(t: ir.Type) -> str:
    """'f32' or 'f64' for an LLVM float type."""
    return "f32" if isinstance(t, ir.FloatType) else "f64"


def imin(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """Signed minimum of two i64 values."""
    x, y = i64(x), i64(y)
    return b.select(b.icmp_signed("<", x, y), x, y)


def ceil_div(b: ir.IRBuilder, x: ir.Value, y: int | ir.Value) -> ir.Value:
    """ceil(x / y) for x >= 0, y > 0."""
    y = i64(y)
    return b.sdiv(b.add(i64(x), b.sub(y, i64(1))), y)


def elem_ptr(b: ir.IRBuilder, base: ir.Value, *offsets: int | ir.Value) -> ir.Value:
    """Address ``base + sum(offsets)`` in elements."""
    off = i64(offsets[0])
    for o in offsets[1:]:
        off = b.add(off, i64(o))
    return b.gep(base, [off])


def load_vec(b: ir.IRBuilder, ptr: ir.Value, vty: ir.VectorType) -> ir.Value:
    """Unaligned vector load (element alignment only)."""
    return b.load(b.bitcast(ptr, vty.as_pointer()), align=align_of(vty.element))


def store_vec(b: ir.IRBuilder, val: ir.Value, ptr: ir.Value) -> None:
    """Unaligned vector store (element alignment only)."""
    b.store(val, b.bitcast(ptr, val.type.as_pointer()), align=align_of(val.type.element))


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
