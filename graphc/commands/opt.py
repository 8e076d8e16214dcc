"""``graphc opt FILE --passes=...``: IR text in, optimized IR text out (like mlir-opt).

The optimized IR goes to stdout; IR printed after passes, the pass table and the fusion report
go to stderr, so ``graphc opt a.gir > b.gir`` stays clean.
"""

from __future__ import annotations

import argparse
import sys

from graphc.cli import Command, read_program, register
from graphc.passes.fuse import explain_fusion
from graphc.passes.manager import DEFAULT_PIPELINE, PassManager


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .gir file (or a .py file defining one module-level gc.Graph)")
    p.add_argument("--passes", default=DEFAULT_PIPELINE,
                   help=f"comma-separated pipeline (default: {DEFAULT_PIPELINE}; '' for none)")
    p.add_argument("--print-after-all", action="store_true", help="print the IR after each pass")
    p.add_argument("--print-after", default="", metavar="A,B",
                   help="print the IR after the named passes")
    p.add_argument("--print-changed-only", action="store_true",
                   help="print after each pass that changed the IR (with --print-after*: "
                        "skip passes that changed nothing)")
    p.add_argument("--explain-fusion", action="store_true",
                   help="say for each unfused boundary why it was not fused")
    p.add_argument("--report", action="store_true", help="print the pass table (time, nodes)")
    p.add_argument("--no-verify", action="store_true", help="do not verify after each pass")


def _run(args: argparse.Namespace) -> None:
    graph = read_program(args.file, "optimize")
    pm = PassManager(args.passes, verify_each=not args.no_verify,
                     print_after_all=args.print_after_all, print_after=args.print_after,
                     print_changed_only=args.print_changed_only, stream=sys.stderr)
    out = pm.run(graph)
    if args.explain_fusion:
        rec = pm.record("fuse")
        sys.stderr.write(str(explain_fusion(rec.graph_in if rec else out)))
    if args.report:
        sys.stderr.write(pm.report())
    sys.stdout.write(str(out))


register(Command("opt", "run optimization passes on an IR file and print the result",
                 _configure, _run))
