"""The llvm backend: a whole graph JIT-compiled to one native function with llvmlite.

Pipeline: ``executable.compile_graph`` (per dims binding, cached: ``cache``) -> ``codegen``
(one module: ``layout`` places buffers in an arena, ``views`` makes transposes/slices free,
one kernel function per node from the ``lowering`` table: ``scalar_ops``, ``*_kernels``,
``vmath`` for vectorizable math; big kernels split into chunks, ``chunks``) -> ``jit`` (verify,
O3 for the host CPU, MCJIT). Shared kernels (E2's GEMM, the fork/join thread pool ``parallel``)
live in ``runtime``, compiled once per machine.
"""
