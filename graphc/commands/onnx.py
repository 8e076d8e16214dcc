"""ONNX commands: ``graphc import``, ``graphc export``, and ``graphc run`` on .onnx files.

``import`` writes the model's IR text and its initializers (.npz beside it); ``export`` takes
a .gir file and its parameters back to ONNX; ``run model.onnx`` imports and runs like ``run``
on a .gir file (the ``run`` command is wrapped: other files go to it unchanged).
"""

from __future__ import annotations

import argparse
import io
import os

import numpy as np

from graphc.cli import COMMANDS, CliError, Command, bind_arguments, read_program, register
from graphc.ir.files import save_ir
from graphc.ir.graph import Graph
from graphc.support.files import atomic_write


def _configure_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="an .onnx model")
    p.add_argument("-o", "--output", metavar="FILE.gir",
                   help="the IR file to write (default: the model's name with .gir)")
    p.add_argument("--npz", metavar="FILE.npz",
                   help="where the initializers go (default: beside the IR, .npz)")


def _run_import(args: argparse.Namespace) -> None:
    from graphc.onnx import load

    model = load(args.file)
    out = args.output or os.path.splitext(args.file)[0] + ".gir"
    npz = args.npz or os.path.splitext(out)[0] + ".npz"
    save_ir(model.graph, out)
    buf = io.BytesIO()
    np.savez(buf, **{str(p.name): p.param.value for p in model.graph.params})
    atomic_write(npz, buf.getvalue())
    print(f"{out}: {len(model.graph.nodes)} nodes, inputs {', '.join(model.input_names)}")
    print(f"{npz}: {len(model.graph.params)} parameters")


def _configure_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .gir file")
    p.add_argument("--params", metavar="FILE.npz", help="parameter values (from graphc import)")
    p.add_argument("-o", "--output", metavar="FILE.onnx", required=True)
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18)")


def _set_params(graph: Graph, path: str | None) -> None:
    if path is None:
        return
    try:
        with np.load(path, allow_pickle=False) as data:
            feeds = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise CliError(f"--params {path}: {e}") from None
    params = {str(p.name): p for p in graph.params}
    extra = sorted(set(feeds) - set(params))
    if extra:
        raise CliError(f"--params {path}: {extra[0]!r} is no parameter of @{graph.name}")
    for name, arr in feeds.items():
        t = params[name].type
        if arr.dtype != t.dtype.np or arr.shape != t.shape:
            raise CliError(f"--params {path}: parameter %{name} is {t}, got "
                           f"{arr.dtype}{list(arr.shape)}")
        params[name].param.value = np.ascontiguousarray(arr)


def _run_export(args: argparse.Namespace) -> None:
    from graphc.onnx import export

    graph = read_program(args.file, "export")
    _set_params(graph, args.params)
    missing = [p.name for p in graph.params if p.param is None or p.param.value is None]
    if missing:
        raise CliError(f"parameter %{missing[0]} has no value; pass --params FILE.npz")
    model = export(graph, args.output, opset=args.opset)
    print(f"{args.output}: {len(model.graph.node)} ONNX nodes, opset "
          f"{model.opset_import[0].version}")


def _wrap_run(run_gir: Command) -> Command:
    """``run`` that imports .onnx files and leaves the others to ``run_gir``."""
    def run(args: argparse.Namespace) -> None:
        if not args.file.endswith(".onnx"):
            return run_gir.run(args)
        from graphc.backends import compile_for
        from graphc.cli import print_results, read_feeds
        from graphc.frontend.calling import bind_dims
        from graphc.frontend.calling import run as call
        from graphc.onnx import load

        graph = load(args.file).graph
        inputs = bind_arguments(graph, read_feeds(args.input))
        results = call(compile_for(args.backend, graph), graph, inputs, bind_dims(graph, inputs))
        print_results(graph, results, args.out)
        return None
    return Command(run_gir.name, run_gir.help + " (or an .onnx model)", run_gir.configure, run)


register(Command("import", "import an ONNX model as IR text plus its initializers (.npz)",
                 _configure_import, _run_import))
register(Command("export", "export a .gir file and its parameters to ONNX",
                 _configure_export, _run_export))
register(_wrap_run(COMMANDS["run"]))
