"""Passes over the IR: the pass manager, the optimization passes, and autodiff.

Importing this package registers every optimization pass with the manager's registry.
"""

from graphc.passes import canonicalize, cse, dce, fold, fuse, memplan  # noqa: F401  (register)
from graphc.passes.manager import DEFAULT_PIPELINE, PASSES, PassManager, run_pipeline

__all__ = ["DEFAULT_PIPELINE", "PASSES", "PassManager", "run_pipeline"]
