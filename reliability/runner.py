"""``python -m reliability [--only fuzz,parser,cache,checkpoint,cli] [--seed S] [--count N]``.

Prints the figures table and writes it to reliability/RESULTS.md (``--out`` to move it,
``--out -`` not to write). ``--count`` sets the size of every section run: graphs (fuzz),
inputs (parser), concurrent-fill races (cache; the fault list is fixed), kills (checkpoint),
cases (cli: a cap on its fixed list). Exit status 1 when any section has a failure.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from reliability import cachefaults, checkpoints, clicases, difffuzz, parserfuzz
from reliability.figures import Figures, document, table

SECTIONS: dict[str, Callable[[int, int | None], Figures]] = {
    "fuzz": difffuzz.run,
    "parser": parserfuzz.run,
    "cache": cachefaults.run,
    "checkpoint": checkpoints.run,
    "cli": clicases.run,
}
DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def _sections(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(SECTIONS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.split("\n")[0])
    p.add_argument("--only", type=_sections, default=list(SECTIONS),
                   help=f"comma-separated sections ({','.join(SECTIONS)}; default all)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--count", type=int, default=None,
                   help="size of each section run (default: 2000 graphs, 10000 parser inputs, "
                   "3 races, 50 kills, every cli case)")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="where to write the table ('-': nowhere)")
    p.add_argument("--verbose", action="store_true", help="print every failure, not the first 10")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    results = []
    for name in args.only:
        print(f"[reliability] {name} ...", file=sys.stderr, flush=True)
        results.append(SECTIONS[name](args.seed, args.count))
        print(table(results[-1:], 10**9 if args.verbose else 10), file=sys.stderr, flush=True)
    text = table(results, 10**9 if args.verbose else 10)
    print(text)
    if args.out != "-":
        command = "python -m reliability " + shlex.join(sys.argv[1:] if argv is None else argv)
        Path(args.out).write_text(document(results, command.strip()))
    return 1 if any(r.failures for r in results) else 0
