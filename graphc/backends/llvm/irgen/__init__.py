"""LLVM IR building helpers shared by every kernel: ``basics`` (element types, constants,
intrinsics, float arithmetic), ``loops`` (loop nests over strided views), ``blocks`` (vector
loads, FMA, tiles for the GEMM and conv), ``vmath`` and ``mathconst`` (vectorizable exp, log,
tanh, sin... in straight-line IR)."""
