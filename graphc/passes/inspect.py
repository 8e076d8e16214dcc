"""What gc.function uses from the passes: building the pass manager from its options, and the
reports a Function shows (pass table, fusion report, memory plan)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.ir.errors import GraphcError
from graphc.passes.fuse import FusionReport, explain_fusion
from graphc.passes.manager import DEFAULT_PIPELINE, PassManager, format_report
from graphc.passes.memplan import MemoryPlan, plan_memory

PASS_OPTIONS = ("print_after_all", "print_after", "print_changed_only", "verify_each")


def make_manager(passes: str | Sequence[str] | None, options: dict[str, Any]) -> PassManager:
    """A PassManager for ``passes`` (None: the default pipeline); pops its options. It uses
    the pipeline cache (graphc.passes.pipeline_cache), as gc.function is called again and again
    with the same program, in one process and across processes."""
    kwargs = {k: options.pop(k) for k in PASS_OPTIONS if k in options}
    if "pass_stream" in options:
        kwargs["stream"] = options.pop("pass_stream")
    return PassManager(DEFAULT_PIPELINE if passes is None else passes, cache=True, **kwargs)


def _manager(fn: Any) -> PassManager:
    if fn.passes is None:
        raise GraphcError("this function was compiled without a pass manager")
    return fn.passes


def pass_report(fn: Any) -> str:
    """The pass table of a compiled Function."""
    return format_report(_manager(fn).records)


def fusion_report(fn: Any) -> FusionReport:
    """The fusion report of the graph the fuse pass received (or of the final graph)."""
    rec = _manager(fn).record("fuse")
    return explain_fusion(rec.graph_in if rec is not None else fn.graph)


def memory_plan(fn: Any, dims: dict[str, int]) -> MemoryPlan:
    """The memory plan of the final graph for ``dims`` (default: the last call's)."""
    symbols = sorted({s for v in fn.graph.values() for s in v.type.symbols()})
    bound = dims or fn.last_dims or {}
    missing = [s for s in symbols if s not in bound]
    if missing:
        raise GraphcError(f"memory_plan needs values for {', '.join(missing)}: call the "
                          f"function once or pass them, e.g. memory_plan({missing[0]}=128)")
    from graphc.backends.numpy.executor import can_write

    return plan_memory(fn.graph, {s: bound[s] for s in symbols}, can_write)
