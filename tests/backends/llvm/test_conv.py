"""conv2d and its gradient kernels (graphc/backends/llvm/conv.py) against the catalogue's NumPy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.native import conv
from graphc.backends.llvm.native.conv import ConvGeom
from graphc.ir.errors import BackendError
from tests.backends.llvm.harness import compile_kernels

NP = {"f32": np.float32, "f64": np.float64}
EMIT = {"y": conv.emit_conv2d, "gx": conv.emit_conv2d_input_grad,
        "gw": conv.emit_conv2d_weight_grad}

GEOMS = {  # id: (dtype, ConvGeom)
    "3x3": ("f32", ConvGeom(2, 3, 7, 6, 4, 3, 3)),
    "3x3-pad": ("f32", ConvGeom(2, 3, 7, 6, 4, 3, 3, padding=(1, 1))),
    "stride-dilation-groups": ("f32", ConvGeom(2, 4, 9, 8, 6, 3, 2, (2, 1), (1, 2), (1, 2), 2)),
    "1x1-groups": ("f32", ConvGeom(3, 6, 5, 5, 6, 1, 1, groups=3)),
    "1x1-stride2": ("f32", ConvGeom(1, 2, 5, 5, 2, 1, 1, stride=(2, 2))),
    "f64-odd": ("f64", ConvGeom(2, 2, 6, 7, 4, 3, 3, (3, 2), (2, 0), (2, 1))),
    "pad-exceeds-tap": ("f64", ConvGeom(1, 1, 3, 2, 2, 2, 3, (1, 2), (3, 2))),
    "depthwise": ("f32", ConvGeom(2, 4, 6, 6, 8, 3, 3, (1, 1), (1, 1), (1, 1), 4)),
    "cnn-conv1": ("f32", ConvGeom(4, 1, 28, 28, 32, 3, 3, padding=(1, 1))),  # gw transposed
    "thin-groups": ("f64", ConvGeom(2, 2, 5, 6, 12, 2, 2, padding=(1, 0), groups=2)),  # likewise
    "empty-batch": ("f64", ConvGeom(0, 2, 5, 5, 3, 3, 3)),
    "cnn-conv2": ("f32", ConvGeom(2, 32, 14, 14, 64, 3, 3, padding=(1, 1))),
}


@pytest.fixture(scope="module")
def kernels() -> dict[tuple[str, str], Callable[..., None]]:
    """Every kernel of every geometry, compiled as one module (one GEMM shared by all)."""
    module = ir.Module()
    fns = {(gid, kind): emit(module, dt, g) for gid, (dt, g) in GEOMS.items()
           for kind, emit in EMIT.items()}
    compiled = compile_kernels(module, [fn.name for fn in fns.values()])
    return {key: compiled[fn.name] for key, fn in fns.items()}


def _attrs(g: ConvGeom) -> dict:
    return {"stride": g.stride, "padding": g.padding, "dilation": g.dilation, "groups": g.groups}


def _data(g: ConvGeom, dt: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g.n, g.c, g.h, g.w)).astype(NP[dt])
    w = rng.standard_normal((g.o, g.cg, g.kh, g.kw)).astype(NP[dt])
    gy = rng.standard_normal((g.n, g.o, *g.out_hw)).astype(NP[dt])
    return x, w, gy


def _run(f: Callable, *arrays: np.ndarray, out_shape: tuple, dt: str, g: ConvGeom,
         work: np.ndarray | None = None) -> np.ndarray:
    out = np.full(out_shape, np.nan, NP[dt])  # every element must be written
    if work is None:
        work = np.full(conv.conv_workspace_bytes(dt, g) // 8, np.nan)  # no reads before writes
    f(*[a.ctypes.data for a in (*arrays, out, work)])
    return out


def _close(got: np.ndarray, want: np.ndarray, dt: str, depth: int) -> None:
    eps = np.finfo(NP[dt]).eps
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=16 * eps * depth ** 0.5 * scale)


@pytest.mark.parametrize("gid", list(GEOMS))
def test_forward(kernels: dict, gid: str) -> None:
    dt, g = GEOMS[gid]
    x, w, _ = _data(g, dt, 1)
    y = _run(kernels[gid, "y"], x, w, out_shape=(g.n, g.o, *g.out_hw), dt=dt, g=g)
    _close(y, ops.conv2d.kernel(x, w, **_attrs(g)), dt, g.kdim)


@pytest.mark.parametrize("gid", list(GEOMS))
def test_input_grad(kernels: dict, gid: str) -> None:
    dt, g = GEOMS[gid]
    _, w, gy = _data(g, dt, 2)
    gx = _run(kernels[gid, "gx"], gy, w, out_shape=(g.n, g.c, g.h, g.w), dt=dt, g=g)
    if g.n == 0:  # nothing to scatter (and the reference cannot reshape an empty batch)
        want = np.zeros(gx.shape)
    else:
        want = ops.conv2d_input_grad.kernel(gy, w, input_size=(g.h, g.w), **_attrs(g))
    _close(gx, want, dt, g.og * g.kh * g.kw)


@pytest.mark.parametrize("gid", list(GEOMS))
def test_weight_grad(kernels: dict, gid: str) -> None:
    dt, g = GEOMS[gid]
    x, _, gy = _data(g, dt, 3)
    gw = _run(kernels[gid, "gw"], x, gy, out_shape=(g.o, g.cg, g.kh, g.kw), dt=dt, g=g)
    if g.n == 0:  # an empty sum over the batch
        want = np.zeros(gw.shape)
    else:
        want = ops.conv2d_weight_grad.kernel(x, gy, kernel_size=(g.kh, g.kw), **_attrs(g))
    _close(gw, want, dt, g.n * g.npix)


@pytest.mark.parametrize("gid", ["stride-dilation-groups", "f64-odd", "pad-exceeds-tap"])
def test_gradients_are_adjoints(kernels: dict, gid: str) -> None:
    """<conv(x, w), gy> = <x, input_grad(gy, w)> = <w, weight_grad(x, gy)>, kernels only."""
    dt, g = GEOMS[gid]
    x, w, gy = _data(g, dt, 4)
    y = _run(kernels[gid, "y"], x, w, out_shape=gy.shape, dt=dt, g=g)
    gx = _run(kernels[gid, "gx"], gy, w, out_shape=x.shape, dt=dt, g=g)
    gw = _run(kernels[gid, "gw"], x, gy, out_shape=w.shape, dt=dt, g=g)
    dots = [float(np.vdot(a.astype(np.float64), b)) for a, b in ((y, gy), (x, gx), (w, gw))]
    np.testing.assert_allclose(dots[1:], [dots[0]] * 2, rtol=1e-4 if dt == "f32" else 1e-10)


def test_workspace_is_the_callers(kernels: dict) -> None:
    dt, g = GEOMS["cnn-conv2"]
    x, w, _ = _data(g, dt, 5)
    work = np.zeros(conv.conv_workspace_bytes(dt, g) // 4, np.float32)
    _run(kernels["cnn-conv2", "y"], x, w, out_shape=(g.n, g.o, *g.out_hw), dt=dt, g=g, work=work)
    assert np.abs(work[: g.kdim * g.npix]).sum() > 0  # im2col wrote the caller's buffer


def test_geometry_from_node_attrs() -> None:
    g = ConvGeom.from_shapes((8, 6, 10, 12), (4, 3, 3, 5),
                             {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 1), "groups": 2})
    assert (g.out_hw, g.kdim, g.npix, g.cg, g.og) == ((5, 12), 45, 60, 3, 2)
    assert not g.direct and ConvGeom(1, 2, 3, 3, 2, 1, 1).direct


@pytest.mark.parametrize(("geom", "match"), [
    (dict(c=5, o=4, groups=2), "groups"), (dict(c=4, o=4, kh=9), "does not fit"),
])
def test_bad_geometry(geom: dict, match: str) -> None:
    args = {"n": 1, "h": 4, "w": 4, "kh": 3, "kw": 3} | geom
    with pytest.raises(BackendError, match=match):
        ConvGeom(**args)


def test_rejects_integer_dtype() -> None:
    with pytest.raises(BackendError, match="f32 or f64"):
        conv.emit_conv2d(ir.Module(), "i64", GEOMS["3x3"][1])


def test_emit_is_idempotent() -> None:
    module, g = ir.Module(), GEOMS["3x3"][1]
    assert conv.emit_conv2d(module, "f32", g) is conv.emit_conv2d(module, "f32", g)
