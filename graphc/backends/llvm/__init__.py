"""The llvm backend: a whole graph JIT-compiled to one native function with llvmlite.

Pipeline: ``executable.compile_graph`` (per dims binding, cached: ``cache``) -> ``codegen``
(one module: ``layout`` places buffers in an arena, ``views`` makes transposes/slices free,
one kernel function per node from the ``lowering`` table: ``scalar_ops``, ``*_kernels``,
``vmath`` for vectorizable math; big kernels split into chunks, ``chunks``) -> ``jit`` (verify,
O3 for the host CPU through ``compile_worker``) -> loaded by ``elfload`` (our own loader for
the objects LLVM emits; MCJIT where it cannot). Shared kernels (the GEMM, the fork/join thread
pool ``parallel`` whose helper threads ``threads`` starts) live in ``runtime``, compiled once per
machine (on a cold start in a helper process beside the graph) and declared by ``externs``;
``adaptive`` picks the thread count per call.
"""
