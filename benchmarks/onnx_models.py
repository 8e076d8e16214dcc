"""Real exported models for graphc.onnx: torchvision's resnet18, mobilenet_v2 and squeezenet1_1
(defined here in torch, random weights, nothing downloads: torchvision's CUDA wheel does not
import beside the CPU torch) and a torch.nn.TransformerEncoder, exported with the TorchScript
exporter at opset 17.

``python -m benchmarks.onnx_models [--backend numpy llvm] [--models ...]`` imports each into
graphc, runs it and compares with onnxruntime (relative to the largest output magnitude).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn


def _conv_bn(cin: int, cout: int, k: int, s: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(cin, cout, 3, stride), nn.ReLU(),
                                  *_conv_bn(cout, cout, 3))
        self.down = (nn.Sequential(*_conv_bn(cin, cout, 1, stride))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.down(x))


def resnet18(classes: int = 1000) -> nn.Module:
    """torchvision.models.resnet18's layers."""
    layers: list[nn.Module] = [*_conv_bn(3, 64, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = [] if expand == 1 else [*_conv_bn(cin, mid, 1), nn.ReLU6()]
        layers += [*_conv_bn(mid, mid, 3, stride, groups=mid), nn.ReLU6(), *_conv_bn(mid, cout, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2(classes: int = 1000) -> nn.Module:
    """torchvision.models.mobilenet_v2's layers (width 1.0)."""
    layers: list[nn.Module] = [*_conv_bn(3, 32, 3, 2), nn.ReLU6()]
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += [*_conv_bn(cin, 1280, 1), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Dropout(0.2), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.e1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1), nn.ReLU())
        self.e3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.e1(s), self.e3(s)], 1)


def squeezenet1_1(classes: int = 1000) -> nn.Module:
    """torchvision.models.squeezenet1_1's layers."""
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
        pool(), Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
        Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
        Fire(512, 64, 256, 256), nn.Dropout(0.5), nn.Conv2d(512, classes, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


def transformer_encoder(d_model: int = 128, heads: int = 4, layers: int = 2) -> nn.Module:
    layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def _randomize_bn(model: nn.Module, gen: torch.Generator) -> None:
    """Running statistics away from (0, 1), so batch norm's folding is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "resnet18": (resnet18, (1, 3, 224, 224)),
    "mobilenet_v2": (mobilenet_v2, (1, 3, 224, 224)),
    "squeezenet1_1": (squeezenet1_1, (1, 3, 224, 224)),
    "transformer_encoder": (transformer_encoder, (2, 16, 128)),
}


def export(name: str, path: str, shape: tuple[int, ...] | None = None, seed: int = 0,
           dynamic_batch: bool = False) -> np.ndarray:
    """Build ``name`` with random weights, export it to ``path`` (``dynamic_batch``: axis 0
    of the input and output is the symbolic dim N); returns a sample input."""
    build, default = MODELS[name]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build().eval()
    with torch.no_grad():
        _randomize_bn(model, gen)
    x = torch.randn(*(shape or default), generator=gen)
    torch.backends.mha.set_fastpath_enabled(False)  # the fused kernel has no ONNX export
    with torch.no_grad():
        torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}} if dynamic_batch else None)
    return x.numpy()


def check(name: str, backends: list[str], shape: tuple[int, ...] | None = None) -> list[str]:
    """Lines reporting graphc vs onnxruntime on ``name`` for each backend."""
    import onnxruntime as ort

    import graphc.onnx

    lines = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, f"{name}.onnx")
        x = export(name, path, shape)
        (want,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
            None, {"x": x})
        for backend in backends:
            t0 = time.perf_counter()
            run = graphc.onnx.load(path).compile(backend=backend)
            t1 = time.perf_counter()
            (got,) = run(x)
            err = float(np.abs(got - want).max() / np.abs(want).max())
            lines.append(f"{name:20s} {backend:6s} {list(x.shape)!s:18s} max|diff|/max|ort| "
                         f"{err:.2e}  import+compile {t1 - t0:.1f} s")
    return lines


BENCH = (("resnet18", (1, 3, 224, 224)), ("resnet18", (16, 3, 224, 224)),
         ("transformer_encoder", (16, 64, 128)))


def _median_ms(f: Callable[[], object], repeat: int) -> float:
    f()  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def bench(repeat: int, threads: int) -> list[str]:
    """W8: graphc llvm vs onnxruntime (``threads`` intra-op threads), median ms per call, and
    graphc's cold import+compile time (a fresh cache directory)."""
    import onnxruntime as ort

    import graphc.onnx

    lines = [f"W8 (median of {repeat}; onnxruntime intra_op_num_threads={threads})"]
    for name, shape in BENCH:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, f"{name}.onnx")
            x = export(name, path, shape)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            os.environ["GRAPHC_CACHE_DIR"] = os.path.join(d, "cache")
            t0 = time.perf_counter()
            run = graphc.onnx.load(path).compile(backend="llvm")
            run(x)
            cold = time.perf_counter() - t0
            ms_g = _median_ms(lambda run=run, x=x: run(x), repeat)
            ms_o = _median_ms(lambda sess=sess, x=x: sess.run(None, {"x": x}), repeat)
            lines.append(f"{name:20s} {list(shape)!s:18s} graphc {ms_g:8.1f} ms  onnxruntime "
                         f"{ms_o:8.1f} ms  ratio {ms_g / ms_o:5.2f}  graphc cold import+compile"
                         f"+first call {cold:.1f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.onnx_models", description=__doc__)
    p.add_argument("--backend", nargs="+", default=["numpy", "llvm"])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--bench", action="store_true", help="W8: time graphc llvm vs onnxruntime")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.bench:
        for line in bench(args.repeat, args.threads):
            print(line, flush=True)
        return 0
    for name in args.models:
        for line in check(name, args.backend):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
