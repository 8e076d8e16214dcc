"""Cold llvm compile time per op of the catalogue: one node each, the catalogue's shapes.

    python -m benchmarks.compile_ops [--top N]

Each op case (tests/op_cases) is compiled alone with the disk cache off, after one warm-up
compile (imports, the shared runtime kernels); the table lists the slowest first, with the
phases of compile_report (shared runtime: the GEMM/conv pieces compiled once per machine,
charged to the first op that needs them), so an op whose compile is out of line with its size
shows at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def _one(case) -> tuple[float, object]:
    import graphc as gc
    from graphc.frontend.api import apply
    from graphc.ir.opdef import REGISTRY

    arrays = case.make(np.random.default_rng(0))
    with gc.Graph(case.op):
        xs = [gc.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
        out = apply(REGISTRY[case.op], *xs, **case.attrs)
        outs = list(out) if isinstance(out, tuple) else [out]
        t0 = time.perf_counter()
        fn = gc.function(xs, outs, backend="llvm", passes=[], threads=1)
        fn(*arrays)
        return time.perf_counter() - t0, fn.compile_report()[0]


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compile_ops", description=__doc__)
    p.add_argument("--top", type=int, default=0, help="only the N slowest (default: all)")
    args = p.parse_args(argv)
    os.environ["GRAPHC_CACHE"] = "0"
    from tests.op_cases import all_cases

    cases = all_cases()
    _one(cases[0])  # warm-up: imports and the shared runtime kernels
    rows = []
    for case in cases:
        try:
            secs, rep = _one(case)
        except Exception as exc:  # an op the llvm backend rejects for these inputs
            print(f"{case.id}: {type(exc).__name__}: {exc}"[:120], file=sys.stderr)
            continue
        rows.append((secs, case.id, rep))
    rows.sort(key=lambda r: -r[0])
    print("| op case | cold compile + first call | IR build | optimize | codegen | "
          "shared runtime |")
    print("|---|---:|---:|---:|---:|---:|")
    for secs, cid, rep in rows[: args.top or None]:
        print(f"| {cid} | {secs * 1e3:.0f} ms | {rep.ir_build * 1e3:.0f} ms | "
              f"{rep.optimize * 1e3:.0f} ms | {rep.codegen * 1e3:.0f} ms | "
              f"{rep.runtime * 1e3:.0f} ms |")


if __name__ == "__main__":
    main(sys.argv[1:])
