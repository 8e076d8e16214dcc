"""``graphc explore FILE -o report.html``: the explorer page of a .gir graph, or of every
function a Python script compiles (report.html, report-2.html, ... in compile order)."""

from __future__ import annotations

import argparse
import os
import runpy
import shlex
import sys

from graphc.cli import CliError, Command, bind_arguments, read_feeds, register
from graphc.explorer.page import write_page
from graphc.ir.files import load_ir
from graphc.ir.verify import verify


def _configure(p: argparse.ArgumentParser) -> None:
    from graphc.backends import BACKENDS

    p.add_argument("file", help="a .gir file, or a .py script whose compiled functions to show")
    p.add_argument("-o", "--out", default="report.html", metavar="FILE.html",
                   help="the page to write (default: report.html)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="numpy",
                   help="backend for a .gir file (a script chooses its own)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=FILE.npy",
                   help="run the .gir graph once on these inputs first (memory plan, kernels)")
    p.add_argument("--dim", action="append", default=[], metavar="NAME=N",
                   help="bind a symbolic dim for the memory plan and kernels (repeat)")
    p.add_argument("--args", default="", metavar='"ARGS"',
                   help='the script\'s own arguments, e.g. --args="--epochs 1"')


def _dims(specs: list[str]) -> dict[str, int]:
    out = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not value.isdigit():
            raise CliError(f"--dim {spec!r}: expected NAME=N with N a whole number")
        out[name] = int(value)
    return out


def _functions(args: argparse.Namespace) -> list:
    from graphc.frontend.function import function_of_graph, watch_functions

    if args.file.endswith(".py"):
        if not os.path.isfile(args.file):
            raise CliError(f"{args.file}: no such file")
        with watch_functions() as made:
            run_script(args.file, args.args)
        if not made:
            raise CliError(f"{args.file} compiled no functions (gc.function)")
        return made
    if not os.path.isfile(args.file):
        raise CliError(f"{args.file}: no such file")
    graph = load_ir(args.file)
    verify(graph)
    fn = function_of_graph(graph, backend=args.backend)
    if args.input:
        fn(*bind_arguments(fn.graph, read_feeds(args.input)))
    return [fn]


def run_script(path: str, args: str) -> None:
    """Run a Python script as ``__main__`` with its own arguments (a shell-quoted string)."""
    saved = sys.argv, list(sys.path)
    sys.argv = [path, *shlex.split(args)]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            raise CliError(f"{path} exited with status {e.code}") from None
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]


def _paths(out: str, count: int) -> list[str]:
    stem, ext = os.path.splitext(out)
    return [out] + [f"{stem}-{k}{ext or '.html'}" for k in range(2, count + 1)]


def _run(args: argparse.Namespace) -> None:
    dims = _dims(args.dim)
    functions = _functions(args)
    for fn, path in zip(functions, _paths(args.out, len(functions)), strict=True):
        write_page(path, fn, dims=dims or None)
        print(f"wrote {path} (@{fn.graph.name}, {len(fn.graph.nodes)} nodes)")


register(Command("explore", "write an interactive HTML page about a compiled graph",
                 _configure, _run))
