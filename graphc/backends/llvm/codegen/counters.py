"""Profiling counters compiled into the entry function only when profiling is on: a cycle count
per node, read back by the executable through ``PROFILE_SYMBOL``."""

from __future__ import annotations

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import i64

PROFILE_SYMBOL = "graphc_profile"


def profile_counters(module: ir.Module, n: int) -> ir.GlobalVariable:
    """One zeroed i64 cycle counter per node, exported as ``PROFILE_SYMBOL``."""
    gv = ir.GlobalVariable(module, ir.ArrayType(ir.IntType(64), max(n, 1)), PROFILE_SYMBOL)
    gv.initializer = ir.Constant(gv.value_type, None)
    return gv


def read_cycles(b: ir.IRBuilder) -> ir.Value:
    """The CPU's cycle counter now."""
    fn = b.module.globals.get("llvm.readcyclecounter") or ir.Function(
        b.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
    )
    return b.call(fn, [])


def count_cycles(b: ir.IRBuilder, counters: ir.GlobalVariable, i: int, start: ir.Value) -> None:
    """Add the cycles since ``start`` to node ``i``'s counter."""
    slot = b.gep(counters, [i64(0), i64(i)], inbounds=True)
    spent = b.sub(read_cycles(b), start)
    b.store(b.add(b.load(slot, typ=ir.IntType(64)), spent), slot)
