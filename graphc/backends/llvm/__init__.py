"""The llvm backend: a whole graph JIT-compiled to one native function with llvmlite.

``executable.compile_graph`` compiles once per binding of the symbolic dims (``variant``), cached
by ``graphc.support.cache``; ``adaptive`` picks the thread count per call. Subpackages, top down:

- ``codegen/``: the graph as one LLVM module (``emit``): ``layout`` places buffers (the arena is
  graphc.analysis.memory's plan, so ``memory_plan()`` shows what runs), ``views`` makes
  transposes and slices free, ``chunks`` cuts big kernels for the thread pool, ``numerics``
  stops a call at the first NaN (``check_numerics``).
- ``kernels/``: the lowering table (``table``) and one module per op family, like ``graphc/ops``.
- ``native/``: code shared by every graph, compiled once per machine (``runtime``): the packed
  GEMM, conv through im2col, the fork/join thread pool; ``externs`` declares them in a module.
- ``irgen/``: IR building helpers (types, loop nests over strided views, vectorizable math).
- ``toolchain/``: LLVM IR -> object code (``jit``; ``compile_worker`` in a helper process) and
  our own ELF loader (``elfload``) for cached objects.

The executable answers ``ir(stage)`` (graph, llvm, llvm-opt, asm), ``memory_plan(dims)`` and
``report()``. Like every backend this one imports support, ir, ops and analysis only.
"""
