"""One graph -> one LLVM module: ``emit`` (the module and its entry point), ``layout`` (where
each value lives: argument block, arena, aliases), ``views`` (values that need no kernel),
``chunks`` (how a kernel splits across threads), ``arena`` (offsets for buffers)."""
