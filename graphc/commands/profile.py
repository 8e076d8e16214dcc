"""``graphc profile``: per-kernel time tables.

    graphc profile model.gir --input x=x.npy [--backend llvm] [--repeat 20] [--top 15]
    graphc profile script.py [--args="..."]   # every function the script compiles and calls
"""

from __future__ import annotations

import argparse
import os

from graphc.cli import CliError, Command, bind_arguments, read_feeds, register
from graphc.commands.explore import run_script
from graphc.ir.files import load_ir
from graphc.ir.verify import verify


def _configure(p: argparse.ArgumentParser) -> None:
    from graphc.backends import BACKENDS

    p.add_argument("file", help="a .gir file, or a .py script whose compiled functions to time")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=FILE.npy",
                   help="an input or parameter value of the .gir graph (repeat for each)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="numpy",
                   help="backend for a .gir file (a script chooses its own)")
    p.add_argument("--repeat", type=int, default=20, help="timed calls (.gir; default 20)")
    p.add_argument("--top", type=int, default=None, metavar="N", help="show the N slowest only")
    p.add_argument("--args", default="", metavar='"ARGS"',
                   help='the script\'s own arguments, e.g. --args="--epochs 1"')


def _profile_gir(args: argparse.Namespace) -> None:
    from graphc.frontend.function import function_of_graph

    graph = load_ir(args.file)
    verify(graph)
    fn = function_of_graph(graph, backend=args.backend)
    fn.profile(*bind_arguments(fn.graph, read_feeds(args.input)), repeat=args.repeat)
    print(fn.profile_report(limit=args.top))


def _profile_script(args: argparse.Namespace) -> None:
    from graphc.frontend.function import profiling_all, watch_functions

    with profiling_all(), watch_functions() as made:
        run_script(args.file, args.args)
    called = [fn for fn in made if fn.calls]
    if not called:
        raise CliError(f"{args.file} called no compiled function (gc.function)")
    for fn in called:
        print(fn.profile_report(limit=args.top))


def _run(args: argparse.Namespace) -> None:
    if not os.path.isfile(args.file):
        raise CliError(f"{args.file}: no such file")
    if args.repeat < 1:
        raise CliError(f"--repeat {args.repeat}: expected at least 1")
    (_profile_script if args.file.endswith(".py") else _profile_gir)(args)


register(Command("profile", "time each kernel of a .gir graph or of a script's functions",
                 _configure, _run))
