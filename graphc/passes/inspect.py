"""What gc.function uses from the passes: building the pass manager from its options, and the
reports a Function shows from them (pass table, fusion report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.ir.errors import GraphcError
from graphc.passes.fuse import FusionReport, explain_fusion
from graphc.passes.manager import DEFAULT_PIPELINE, PassManager, format_report

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
