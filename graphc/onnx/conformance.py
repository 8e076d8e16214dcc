"""``python -m graphc.onnx.conformance``: the onnx package's backend node tests through graphc.

Each case (onnx/backend/test/data/node/<case>: model.onnx plus input/output .pb files) is
imported with graphc.onnx.load, compiled, run, and compared with the onnx runner's tolerance
(rtol 1e-3, atol 1e-7). A case is *unsupported* when the importer raises UnsupportedError or a
tensor has a dtype graphc lacks, *fail* on any other error or a wrong number. The core set is
the issue's neural-network and tensor ops; its pass rate is the figure to hold.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.onnx.errors import StaticInputError, UnsupportedError, require_onnx
from graphc.onnx.importer import load
from graphc.onnx.table import DTYPES

RTOL, ATOL = 1e-3, 1e-7
CORE = frozenset((
    "Abs", "Neg", "Sign", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tanh", "Sigmoid",
    "Relu", "Softplus", "Softsign", "Erf", "Floor", "Ceil", "Pow", "Add", "Sub", "Mul", "Div",
    "Mod", "Max", "Min", "Sum", "Mean", "LeakyRelu", "Elu", "Selu", "Celu", "ThresholdedRelu",
    "HardSigmoid", "HardSwish", "PRelu", "Gelu", "Mish", "Swish", "Shrink", "IsNaN", "IsInf",
    "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not",
    "MatMul", "Gemm", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "BatchNormalization", "LayerNormalization", "InstanceNormalization",
    "MeanVarianceNormalization", "LpNormalization", "ReduceSum", "ReduceMean", "ReduceMax",
    "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ArgMax",
    "ArgMin", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Slice",
    "Gather", "GatherElements", "Expand", "Tile", "Pad", "Split", "Shape", "Size", "Identity",
    "ConstantOfShape", "Constant", "Range", "CumSum", "TopK", "OneHot", "Trilu", "EyeLike",
    "Softmax", "LogSoftmax", "Hardmax", "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss",
    "Cast", "CastLike", "Where", "Clip", "Einsum", "Dropout",
))


@dataclass
class Result:
    case: str
    op: str
    status: str  # pass | fail | unsupported
    reason: str = ""


def data_dir() -> str:
    onnx = require_onnx()
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def _read_tensor(onnx: Any, path: str) -> np.ndarray:
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return onnx.numpy_helper.to_array(t)


def _io(onnx: Any, case_dir: str, kind: str) -> list[np.ndarray]:
    d = os.path.join(case_dir, "test_data_set_0")
    files = sorted((f for f in os.listdir(d) if f.startswith(kind)),
                   key=lambda f: int(f.split("_")[1].split(".")[0]))
    return [_read_tensor(onnx, os.path.join(d, f)) for f in files]


def primary_op(model: Any) -> str:
    """The op a case tests: its only node's op_type, else its most frequent non-helper op."""
    ops = [n.op_type for n in model.graph.node]
    return ops[0] if len(ops) == 1 else "(expanded) " + Counter(ops).most_common(1)[0][0]


def is_core(model: Any) -> bool:
    """All nodes in the core set and every graph input/output of a dtype graphc has."""
    types = [v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]]
    if any(not v.type.HasField("tensor_type") for v in [*model.graph.input, *model.graph.output]):
        return False
    return all(n.op_type in CORE for n in model.graph.node) and all(t in DTYPES for t in types)


def run_case(case_dir: str, backend: str) -> tuple[Result, bool]:
    """(result, whether the case is in the core set)."""
    onnx = require_onnx()
    name = os.path.basename(case_dir)
    try:
        model = onnx.load(os.path.join(case_dir, "model.onnx"))
    except Exception as e:
        return Result(name, "?", "fail", f"onnx.load: {e}"), False
    op, core = primary_op(model), is_core(model)
    try:
        inputs, expected = _io(onnx, case_dir, "input"), _io(onnx, case_dir, "output")
    except Exception as e:
        return Result(name, op, "unsupported", f"test data: {type(e).__name__}"), core
    try:
        got = _run(model, inputs, backend)
    except UnsupportedError as e:
        return Result(name, op, "unsupported", str(e)), core
    except GraphcError as e:
        return Result(name, op, "fail", f"{type(e).__name__}: {e}"), core
    except Exception as e:  # a bug in graphc: report it, keep going
        return Result(name, op, "fail", f"{type(e).__name__}: {e}"), core
    return Result(name, op, *_compare(got, expected)), core


def _run(model: Any, inputs: list[np.ndarray], backend: str) -> list[np.ndarray]:
    """Run the case; an input the importer needs at compile time (axes, shapes, counts given
    as inputs) is fixed to the case's value and the import retried."""
    feeds = dict(zip([v.name for v in model.graph.input], inputs, strict=False))
    fixed: dict[str, np.ndarray] = {}
    while True:
        try:
            m = load(model, fixed=fixed)
            break
        except StaticInputError as e:
            if e.input_name is None or e.input_name in fixed:
                raise
            fixed[e.input_name] = feeds[e.input_name]
    inputs = [x for n, x in feeds.items() if n not in fixed]
    with np.errstate(all="ignore"):
        return m.compile(backend=backend)(*inputs)


def _compare(got: list[np.ndarray], want: list[np.ndarray]) -> tuple[str, str]:
    if len(got) != len(want):
        return "fail", f"{len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.shape != w.shape:
            return "fail", f"output {i}: shape {g.shape}, expected {w.shape}"
        if g.dtype != w.dtype:
            return "fail", f"output {i}: dtype {g.dtype}, expected {w.dtype}"
        if w.dtype.kind in "fc":
            ok = np.allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            ok = np.array_equal(g, w)
        if not ok:
            return "fail", f"output {i}: values differ"
    return "pass", ""


def cases(ops: Iterable[str] | None = None, names: Iterable[str] | None = None) -> list[str]:
    """Case directories, optionally those whose name mentions one of ``ops``."""
    root = data_dir()
    out = sorted(os.path.join(root, c) for c in os.listdir(root))
    if names is not None:
        wanted = set(names)
        out = [c for c in out if os.path.basename(c) in wanted]
    if ops:
        keys = {o.lower() for o in ops}
        out = [c for c in out if any(c.rsplit("/", 1)[1].startswith(f"test_{k}") for k in keys)]
    return out


def summarize(results: list[tuple[Result, bool]], out: Any = sys.stdout) -> dict[str, Counter]:
    per_op: dict[str, Counter] = defaultdict(Counter)
    totals: dict[str, Counter] = {"all": Counter(), "core": Counter()}
    for r, core in results:
        per_op[r.op][r.status] += 1
        totals["all"][r.status] += 1
        if core:
            totals["core"][r.status] += 1
    out.write(f"{'op':40s} {'pass':>5s} {'fail':>5s} {'unsup':>5s}\n")
    for op in sorted(per_op):
        c = per_op[op]
        out.write(f"{op:40s} {c['pass']:5d} {c['fail']:5d} {c['unsupported']:5d}\n")
    for key, c in totals.items():
        n = sum(c.values())
        pct = 100.0 * c["pass"] / n if n else 0.0
        out.write(f"{key}: {n} cases, pass {c['pass']}, fail {c['fail']}, unsupported "
                  f"{c['unsupported']} ({pct:.1f}% pass)\n")
    return totals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m graphc.onnx.conformance", description=__doc__)
    p.add_argument("--backend", choices=("numpy", "llvm"), default="numpy")
    p.add_argument("--ops", nargs="*", help="only cases named test_<op>... (lowercase names)")
    p.add_argument("--core", action="store_true", help="only the core set")
    p.add_argument("--failures", action="store_true", help="list each failing case and why")
    args = p.parse_args(argv)
    results = []
    for c in cases(args.ops):
        r, core = run_case(c, args.backend)
        if args.core and not core:
            continue
        results.append((r, core))
    if args.failures:
        for r, core in results:
            if r.status != "pass":
                sys.stdout.write(f"{r.status:11s} {'core' if core else '    '} {r.case}: "
                                 f"{r.reason[:200]}\n")
    summarize(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
