"""Passes over the IR: the pass manager, the optimization passes, and autodiff.

Importing this package registers every optimization pass with the manager's registry. Passes
work on Graphs and Values: they import support, ir, ops and analysis, never a backend or the
frontend (support <- ir <- ops <- analysis <- {passes, backends} <- frontend <- cli).
"""

from graphc.passes import canonicalize, cse, dce, fold, fuse, hoist, memplan  # noqa: F401
from graphc.passes.manager import DEFAULT_PIPELINE, PASSES, PassManager, run_pipeline

__all__ = ["DEFAULT_PIPELINE", "PASSES", "PassManager", "run_pipeline"]
