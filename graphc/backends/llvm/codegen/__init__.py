"""One graph -> one LLVM module: ``emit`` (the module and its entry point, one kernel function
per node), ``layout`` (where each value lives: argument block, arena, aliases; the arena comes
from graphc.analysis.memory under this backend's Policy), ``views`` (values that need no kernel),
``chunks`` (how a kernel splits across threads), ``numerics`` (the NaN checks of
``check_numerics``), ``counters`` (the per-node cycle counters of a profiling build), ``loop``
(scan: its body as a nested entry function called per step)."""

from graphc.backends.llvm.codegen import loop  # noqa: F401  (registers the scan kernel)
