"""``graphc llvm FILE.gir [--asm] [--optimized] [--dim B=32 ...]``: the LLVM IR or assembly."""

from __future__ import annotations

import argparse

from graphc.cli import CliError, Command, read_graph, register


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .gir file (or a .py file defining one gc.Graph)")
    p.add_argument("--asm", action="store_true", help="print host assembly instead of LLVM IR")
    p.add_argument("--optimized", action="store_true", help="print the IR after -O3")
    p.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=SIZE",
        help="bind a symbolic dim (repeatable), e.g. --dim B=128",
    )


def parse_dims(items: list[str]) -> dict[str, int]:
    """``["B=128", "T=4"]`` -> {"B": 128, "T": 4}."""
    dims = {}
    for item in items:
        name, sep, size = item.partition("=")
        if not sep or not name.strip() or not size.strip().isdigit():
            raise CliError(f"--dim {item!r}: expected NAME=SIZE with a non-negative integer size")
        dims[name.strip()] = int(size)
    return dims


def _run(args: argparse.Namespace) -> int:
    from graphc.backends.llvm.executable import compile_graph

    graph = read_graph(args.file)
    dims = parse_dims(args.dim)
    unbound = sorted({s for v in graph.values() for s in v.type.symbols()} - set(dims))
    if unbound:
        raise CliError(
            f"{args.file}: bind the symbolic dims {', '.join(unbound)} with --dim "
            f"NAME=SIZE (e.g. --dim {unbound[0]}=32)"
        )
    exe = compile_graph(graph)
    text = exe.asm(dims) if args.asm else exe.llvm_ir(dims, optimized=args.optimized)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


register(
    Command(
        "llvm",
        "print the LLVM IR (or --asm) the llvm backend makes for a .gir file",
        _configure,
        _run,
    )
)
