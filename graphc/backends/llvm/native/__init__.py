"""Native code shared by every graph: the packed GEMM (``gemm``, ``gemm_blocks``), conv
through im2col (``conv``, ``im2col``), the fork/join thread pool (``parallel``, its helper
threads ``threads``); ``runtime`` compiles them once per machine, ``externs`` declares them in a
graph's module."""
