"""The ``graphc`` command: dump, check and run IR files; other modules add subcommands.

A subcommand is a Command in COMMANDS. Modules listed in EXTENSIONS (when they exist) are
imported before parsing the command line and register theirs with ``register(Command(...))``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import math
import os
import runpy
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.ir.files import load_ir
from graphc.ir.graph import Graph, Value
from graphc.ir.printer import format_string
from graphc.ir.verify import verify
from graphc.support.files import atomic_write


class CliError(Exception):
    """A user error the CLI reports as one line (bad file, missing input, ...)."""


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, argument setup, and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]


COMMANDS: dict[str, Command] = {}
# modules that register more subcommands (opt: the passes, llvm: the llvm backend, explore,
# profile)
EXTENSIONS: tuple[str, ...] = (
    "graphc.commands.opt", "graphc.commands.llvm", "graphc.commands.explore",
    "graphc.commands.profile", "graphc.commands.onnx",
)


def register(command: Command) -> Command:
    """Add a subcommand to the ``graphc`` command line."""
    COMMANDS[command.name] = command
    return command


# -- loading graphs ------------------------------------------------------------------------
def read_graph(path: str) -> Graph:
    """The graph of a .gir file (a .py file must define exactly one module-level gc.Graph)."""
    graphs = load_graphs(path)
    if len(graphs) != 1:
        raise CliError(f"{path} defines {len(graphs)} graphs; expected one")
    return graphs[0]


def read_program(path: str, verb: str) -> Graph:
    """read_graph, refusing a graph with no results (there would be nothing to ``verb``)."""
    graph = read_graph(path)
    if not graph.outputs and not graph.updates:
        raise CliError(f"{path}: graph @{graph.name} has no results (returns () and updates "
                       f"nothing), so there is nothing to {verb}; write it with "
                       "gc.save_ir(g, path, outputs=[...], updates=[...])")
    return graph


def load_graphs(path: str) -> list[Graph]:
    """The graph of a .gir file, or the module-level gc.Graph objects of a .py file."""
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file")
    if not path.endswith(".py"):
        return [load_ir(path)]
    graphs = list({id(v): v for v in _run_script(path).values() if isinstance(v, Graph)}.values())
    if not graphs:
        raise CliError(f"{path} defines no module-level gc.Graph objects")
    return graphs


def _run_script(path: str) -> dict[str, object]:
    """Run a Python file in its own namespace (stdout to stderr, so dumps stay clean)."""
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return runpy.run_path(path, run_name="__graphc_dump__")
    except (Exception, SystemExit) as e:
        raise CliError(f"{path} raised {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(folder)


# -- dump ----------------------------------------------------------------------------------
def to_dot(graph: Graph) -> str:
    """Graphviz DOT of ``graph.to_networkx()`` (arguments as ellipses, ops as boxes)."""
    nxg = graph.to_networkx()
    ids = {n: f"n{i}" for i, n in enumerate(nxg.nodes)}
    lines = [f"digraph {format_string(graph.name)} {{", "  node [fontname=monospace];"]
    for n, data in nxg.nodes(data=True):
        label, shape = data.get("label", "?"), "box" if data.get("kind") == "node" else "ellipse"
        if data.get("loc", "<unknown>:0") != "<unknown>:0":
            label += "\n" + data["loc"]
        lines.append(f"  {ids[n]} [label={format_string(label)}, shape={shape}];")
    for u, v, data in nxg.edges(data=True):
        lines.append(f"  {ids[u]} -> {ids[v]} [label={format_string(str(data['value'].type))}];")
    lines.append('  ret [label="return", shape=plaintext];')
    for v in graph.outputs:
        lines.append(f"  {ids[v.node if v.node is not None else v]} -> ret;")
    return "\n".join([*lines, "}"]) + "\n"


FORMATS: dict[str, Callable[[Graph], str]] = {"text": str, "dot": to_dot}


def _configure_dump(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .gir file, or a .py file defining module-level gc.Graph objects")
    p.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format")


def _run_dump(args: argparse.Namespace) -> None:
    texts = [FORMATS[args.format](g) for g in load_graphs(args.file)]
    sys.stdout.write("\n".join(texts))


# -- check ---------------------------------------------------------------------------------
def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .gir file")


def _run_check(args: argparse.Namespace) -> None:
    graph = read_graph(args.file)
    verify(graph)
    print(f"ok: {len(graph.nodes)} nodes")


# -- run -----------------------------------------------------------------------------------
def _configure_run(p: argparse.ArgumentParser) -> None:
    from graphc.backends import BACKENDS

    p.add_argument("file", help="a .gir file")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=FILE.npy",
                   help="an input or parameter value (repeat for each)")
    p.add_argument("--out", metavar="DIR",
                   help="write results as DIR/out<i>.npy and new parameter values as "
                   "DIR/update_<name>.npy")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="numpy")


def read_feeds(specs: Sequence[str]) -> dict[str, np.ndarray]:
    """``name=file.npy`` pairs loaded with np.load(allow_pickle=False)."""
    feeds: dict[str, np.ndarray] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise CliError(f"--input {spec!r}: expected NAME=FILE.npy")
        if name in feeds:
            raise CliError(f"--input {name} given twice")
        try:
            feeds[name] = load_npy(path)
        except (OSError, ValueError, EOFError, MemoryError) as e:
            raise CliError(f"--input {name}: cannot load {path}: {e}") from None
    return feeds


def load_npy(path: str) -> np.ndarray:
    """One .npy array; its header is checked against the file's size before numpy allocates
    (a header may declare terabytes), and nothing is unpickled."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError("not a .npy array file (no .npy magic string)")
        f.seek(0)
        version = np.lib.format.read_magic(f)
        fmt = np.lib.format
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(f)
        if dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded (graphc never unpickles)")
        need = math.prod(shape) * dtype.itemsize
        have = os.fstat(f.fileno()).st_size - f.tell()
        if need > have:
            raise ValueError(f"the header declares {dtype}{list(shape)} ({need} bytes) but the "
                             f"file holds {have} bytes of data")
    return np.load(path, allow_pickle=False)


def bind_arguments(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Assign fed parameters; return the inputs in order. Names must all be known."""
    known = {a.name for a in graph.arguments}
    unknown = sorted(set(feeds) - known)
    if unknown:
        raise CliError(f"--input {unknown[0]}: graph @{graph.name} has no argument of that name; "
                       f"it has {', '.join(sorted(map(str, known))) or 'none'}")
    for p in graph.params:
        if p.name in feeds:
            _check_param(p, feeds[p.name])
            p.param.value = np.asarray(feeds[p.name], order="C")  # type: ignore[union-attr]
        elif p.param is None or p.param.value is None:
            raise CliError(f"parameter %{p.name} ({p.type}) has no value; "
                           f"pass --input {p.name}=FILE.npy")
    missing = [a for a in graph.inputs if a.name not in feeds]
    if missing:
        raise CliError(f"missing --input {missing[0].name}=FILE.npy ({missing[0].type})")
    return [feeds[a.name] for a in graph.inputs]  # type: ignore[index]


def _check_param(p: Value, arr: np.ndarray) -> None:
    t = p.type
    fixed = all(isinstance(d, str) or d == n for d, n in zip(t.shape, arr.shape, strict=False))
    if arr.dtype != t.dtype.np or arr.ndim != t.rank or not fixed:
        raise CliError(f"parameter %{p.name} is {t}, got {arr.dtype}{list(arr.shape)}")


def _run_run(args: argparse.Namespace) -> None:
    from graphc.backends import compile_for
    from graphc.frontend.calling import bind_dims, run

    graph = read_program(args.file, "run")
    verify(graph)
    inputs = bind_arguments(graph, read_feeds(args.input))
    dims = bind_dims(graph, inputs)
    print_results(graph, run(compile_for(args.backend, graph), graph, inputs, dims), args.out)


def print_results(graph: Graph, results: list[np.ndarray], out: str | None) -> None:
    """One line per result and updated parameter; with ``out``, each saved as .npy there."""
    names = [f"out{i}" for i in range(len(graph.outputs))]
    names += [f"update_{p.name}" for p, _ in graph.updates]
    if out:
        os.makedirs(out, exist_ok=True)
    for name, arr in zip(names, results, strict=True):
        line = f"{name}: {arr.dtype}{list(arr.shape)}"
        if out:
            path = os.path.join(out, f"{name}.npy")
            atomic_write(path, _npy_bytes(arr))
            line += f" -> {path}"
        print(line)


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


register(Command("dump", "print the IR of a .gir or .py file (text or DOT)",
                 _configure_dump, _run_dump))
register(Command("check", "parse and verify a .gir file", _configure_check, _run_check))
register(Command("run", "run a .gir file on .npy inputs", _configure_run, _run_run))


# -- main ----------------------------------------------------------------------------------
def _load_extensions() -> None:
    for name in EXTENSIONS:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the parent package does not exist (yet)
            found = False
        if found:
            importlib.import_module(name)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="graphc", description="graphc IR tools")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS.values():
        sub = subs.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(handler=command.run)
    return parser


def _reader_gone() -> int:
    """The reader closed the pipe (``graphc llvm f.gir | head``): stop quietly, as Unix tools
    do; stdout goes to /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 on success, 1 on a reported error, 2 on a usage error."""
    _load_extensions()
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _reader_gone()
    except (GraphcError, CliError, OSError) as e:
        message = " ".join(str(e).split("\n"))
        print(f"graphc: error: {message}", file=sys.stderr)
        return 1
