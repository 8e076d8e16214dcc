"""LLVM IR -> running code: ``jit`` (verify, optimize for the host CPU, emit an object, load it),
``compile_worker`` (the target machine and pass pipeline, llvmlite only, also run as a helper
process) and ``elfload`` (loads cached objects without llvmlite.binding)."""
