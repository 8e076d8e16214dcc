"""PassManager: runs a pipeline of named Graph -> Graph passes, verifying and recording each.

    pm = PassManager("canonicalize,cse,fold,dce,fuse,memplan", print_after=["fuse"])
    optimized = pm.run(graph)
    print(pm.report())
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from graphc.ir.clone import clone
from graphc.ir.errors import GraphcError, VerifyError
from graphc.ir.graph import Graph
from graphc.ir.printer import print_graph
from graphc.ir.verify import verify
from graphc.passes import pipeline_cache

PassFn = Callable[[Graph], Graph]

DEFAULT_PIPELINE = "canonicalize,cse,hoist,fold,dce,fuse,memplan"
PASSES: dict[str, PassFn] = {}
IN_REGIONS: set[str] = set()  # passes the manager also runs inside region bodies (scan)


def register_pass(name: str, regions: bool = False) -> Callable[[PassFn], PassFn]:
    """Decorator: add a Graph -> Graph function to the registry under ``name``; with
    ``regions`` the manager runs it inside every region body too (graphs of tensor ops such as
    a scan's body; fused ops' scalar bodies are not regions)."""

    def deco(fn: PassFn) -> PassFn:
        if name in PASSES:
            raise ValueError(f"pass {name!r} registered twice")
        PASSES[name] = fn
        if regions:
            IN_REGIONS.add(name)
        return fn

    return deco


def run_in_regions(fn: PassFn, graph: Graph) -> Graph:
    """``fn`` on ``graph``, then on a copy of each region body inside it, innermost first (a
    body is shared with the graphs the pass's input was cloned from, so it is replaced, never
    changed in place)."""
    out = fn(graph)
    for node in out.nodes:
        if node.body is not None and node.op.region_body:
            node.body = run_in_regions(fn, clone(node.body)[0])
    return out


def _load_passes() -> None:
    import graphc.passes  # noqa: F401  (importing the package registers every pass)


def parse_pipeline(pipeline: str | Sequence[str] | None, what: str = "") -> list[str]:
    """Pass names from ``"a,b"`` or a list; unknown names list the known ones.

    ``what`` names the option the names came from in errors (e.g. "print_after").
    """
    _load_passes()
    if pipeline is None:
        pipeline = DEFAULT_PIPELINE
    names = pipeline.split(",") if isinstance(pipeline, str) else list(pipeline)
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        where = f"{what}: " if what else ""
        raise GraphcError(
            f"{where}unknown pass {unknown[0]!r}; known passes: {', '.join(sorted(PASSES))}"
        )
    return names


@dataclass
class PassRecord:
    """What one pass did: its time, node counts, whether the IR text changed, the IR after."""

    name: str
    seconds: float
    nodes_before: int
    nodes_after: int
    changed: bool
    ir: str
    graph_in: Graph  # the graph the pass received (analyses such as the fusion report use it)


class PassManager:
    """Runs passes in order; verifies after each; prints and records as asked."""

    def __init__(
        self,
        pipeline: str | Sequence[str] | None = DEFAULT_PIPELINE,
        verify_each: bool = True,
        print_after_all: bool = False,
        print_after: str | Sequence[str] = (),
        print_changed_only: bool = False,
        stream: TextIO | None = None,
        cache: bool = False,
    ) -> None:
        self.names = parse_pipeline(pipeline)
        self.verify_each = verify_each
        self.print_after_all = print_after_all
        self.print_after = self._print_after(print_after)
        self.print_changed_only = print_changed_only
        self.stream = stream
        self.cache = cache
        self.input_ir = ""
        self._records: list[PassRecord] = []
        self._replay: Graph | None = None  # set when run() answered from the cache
        self.cache_hit = False  # whether the last run() was answered from the pipeline cache

    def _print_after(self, names: str | Sequence[str]) -> set[str]:
        """The passes to print after; naming one the pipeline does not run is an error."""
        wanted = parse_pipeline(names or [], "print_after")
        absent = [n for n in wanted if n not in self.names]
        if absent:
            ran = ", ".join(self.names) or "no passes"
            raise GraphcError(f"print_after: pass {absent[0]!r} is not in the pipeline ({ran})")
        return set(wanted)

    def run(self, graph: Graph) -> Graph:
        """The optimized copy of ``graph`` (the argument is left untouched).

        With ``cache`` (gc.function turns it on), a pipeline of graphc's own passes that prints
        nothing is answered from the pipeline cache when it can; the records are then computed
        again the first time anyone asks for them (``records``, ``ir_after``, ``report``)."""
        self.input_ir = print_graph(graph)
        self._records, self._replay, self.cache_hit = [], None, False
        key = self._cache_key()
        if key is not None:
            found = pipeline_cache.lookup(key, graph)
            if found is not None:
                self._replay, self.cache_hit = graph, True
                return found
        current, text = graph, self.input_ir
        for name in self.names:
            current, text = self._run_one(name, current, text)
        if key is not None:
            pipeline_cache.store(key, graph, current, text)
        return current

    def _cache_key(self) -> str | None:
        """The pipeline cache key for this run, or None when the run must really happen."""
        printing = self.print_after_all or self.print_after or self.print_changed_only
        if not self.cache or printing or not pipeline_cache.cacheable(
            [PASSES[n] for n in self.names]
        ):
            return None
        return pipeline_cache.key(self.input_ir, self.names)

    @property
    def records(self) -> list[PassRecord]:
        """One record per pass run (recomputed on first access after a cache hit)."""
        if self._replay is not None:
            graph, self._replay = self._replay, None
            current, text = graph, self.input_ir
            for name in self.names:
                current, text = self._run_one(name, current, text)
        return self._records

    def _run_one(self, name: str, graph: Graph, before: str) -> tuple[Graph, str]:
        work = clone(graph)[0]
        start = time.perf_counter()
        fn = PASSES[name]
        out = run_in_regions(fn, work) if name in IN_REGIONS else fn(work)
        seconds = time.perf_counter() - start
        after = print_graph(out)
        if self.verify_each:
            self._check(name, out, after)
        rec = PassRecord(name, seconds, len(graph.nodes), len(out.nodes), after != before,
                         after, graph)
        self._records.append(rec)
        self._maybe_print(rec)
        return out, after

    def _check(self, name: str, graph: Graph, text: str) -> None:
        try:
            verify(graph)
        except VerifyError as e:
            raise VerifyError(f"pass {name!r} produced invalid IR: {e}\n{text}") from None

    def _maybe_print(self, rec: PassRecord) -> None:
        # print_changed_only on its own prints after every pass that changed the IR, like
        # LLVM's -print-changed; with print_after* it filters those
        every = self.print_after_all or (self.print_changed_only and not self.print_after)
        wanted = every or rec.name in self.print_after
        if not wanted or (self.print_changed_only and not rec.changed):
            return
        stream = self.stream or sys.stderr
        stream.write(f"// ----- IR after {rec.name} -----\n{rec.ir}")

    # -- queries -------------------------------------------------------------------------
    def ir_after(self, name: str) -> str:
        """IR text right after the (last run of the) named pass; "input" is before any pass."""
        if name == "input":
            return self.input_ir
        for rec in reversed(self.records):
            if rec.name == name:
                return rec.ir
        ran = ", ".join(["input", *(r.name for r in self.records)])
        raise GraphcError(f"no pass {name!r} ran in this pipeline; stages: {ran}")

    def record(self, name: str) -> PassRecord | None:
        """The record of the last run of ``name``, if it ran."""
        return next((r for r in reversed(self.records) if r.name == name), None)

    def report(self) -> str:
        """A table: pass, time in ms, node counts before/after, changed."""
        return format_report(self.records)


def format_report(records: Sequence[PassRecord]) -> str:
    """The pass table as text."""
    rows = [("pass", "time ms", "nodes before", "nodes after", "changed")]
    for r in records:
        rows.append((r.name, f"{r.seconds * 1e3:.2f}", str(r.nodes_before), str(r.nodes_after),
                     "yes" if r.changed else "no"))
    total = sum(r.seconds for r in records) * 1e3
    rows.append(("total", f"{total:.2f}", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def run_pipeline(graph: Graph, pipeline: str | Sequence[str] | None = DEFAULT_PIPELINE,
                 **options: object) -> Graph:
    """Convenience: run ``pipeline`` on ``graph`` and return the result."""
    return PassManager(pipeline, **options).run(graph)  # type: ignore[arg-type]
