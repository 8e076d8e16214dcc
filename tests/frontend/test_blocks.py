"""Statistics, normalization, masks, sorting, gather and einsum against NumPy written out,
on both backends, with gradients checked by finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc as gc

BACKENDS = ["numpy", "llvm"]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6)).astype(np.float32)


def _run(build, *arrays, backend="numpy", shapes=None):
    """build(*placeholders) -> outputs, compiled and called on ``arrays``."""
    with gc.Graph("t"):
        shapes = shapes or [a.shape for a in arrays]
        xs = [gc.placeholder(f"x{i}", s, a.dtype)
              for i, (a, s) in enumerate(zip(arrays, shapes, strict=True))]
        return gc.function(xs, build(*xs), backend=backend)(*arrays)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis,keepdims,ddof", [(None, False, 0), (1, True, 1), ((0,), False, 1)])
def test_var_std(backend, axis, keepdims, ddof) -> None:
    v, s = _run(lambda x: [gc.var(x, axis, keepdims, ddof), gc.std(x, axis, keepdims, ddof)],
                X, backend=backend, shapes=[("B", 6)])
    want = np.var(X.astype(np.float64), axis=axis, keepdims=keepdims, ddof=ddof)
    np.testing.assert_allclose(v, want, rtol=1e-5)
    np.testing.assert_allclose(s, np.sqrt(want), rtol=1e-5)


def _layer_norm_ref(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_norm_and_rms_norm(backend) -> None:
    w, b = RNG.normal(size=6).astype(np.float32), RNG.normal(size=6).astype(np.float32)
    ln, rms = _run(lambda x, w, b: [gc.layer_norm(x, w, b), gc.rms_norm(x, w, eps=1e-6)],
                   X, w, b, backend=backend)
    np.testing.assert_allclose(ln, _layer_norm_ref(X, w, b, 1e-5), rtol=1e-4, atol=1e-5)
    want = X / np.sqrt((X.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(rms, want, rtol=1e-5, atol=1e-6)


def test_normalization_gradients() -> None:
    x, w, b = X.astype(np.float64), np.linspace(0.5, 2, 6), np.linspace(-1, 1, 6)
    r = RNG.normal(size=X.shape)
    gc.check_grad(lambda x, w, b: gc.sum(gc.layer_norm(x, w, b) * r), [x, w, b])
    gc.check_grad(lambda x, w: gc.sum(gc.rms_norm(x, w) * r), [x, w])
    gc.check_grad(lambda x: gc.sum(gc.var(x, axis=0, ddof=1) * r[0]), [x])
    gc.check_grad(lambda x: gc.sum(gc.silu(x) * r) + gc.sum(gc.expm1(x) * r), [x])


def test_norm_gradient_is_zero_at_zero() -> None:
    with gc.Graph("n"):
        x = gc.placeholder("x", (2, 3))
        n = gc.norm(x, axis=1)
        (g,) = gc.grad(gc.sum(n), [x])
        f = gc.function([x], [n, g])
    v = np.array([[0, 0, 0], [3, 4, 0]], np.float32)
    nv, gv = f(v)
    np.testing.assert_allclose(nv, [0, 5])
    np.testing.assert_allclose(gv, [[0, 0, 0], [0.6, 0.8, 0]])


def test_clip_gradient_is_one_at_the_bounds() -> None:
    with gc.Graph("c"):
        x = gc.placeholder("x", (5,))
        y = gc.clip(x, -1.0, 1.0)
        (g,) = gc.grad(gc.sum(y), [x])
        yv, gv = gc.function([x], [y, g])(np.array([-2, -1, 0, 1, 2], np.float32))
    np.testing.assert_array_equal(yv, [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(gv, [0, 1, 1, 1, 0])  # torch.clamp's gradient


@pytest.mark.parametrize("backend", BACKENDS)
def test_special_values(backend) -> None:
    v = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], np.float32)
    nan, inf, fin = _run(lambda x: [gc.isnan(x), gc.isinf(x), gc.isfinite(x)], v,
                         backend=backend)
    np.testing.assert_array_equal(nan, [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(inf, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(fin, [1, 0, 0, 0, 1])


def test_stop_gradient() -> None:
    with gc.Graph("s"):
        x = gc.placeholder("x", (3,))
        (g,) = gc.grad(gc.sum(gc.square(x) - gc.square(gc.stop_gradient(x))), [x])
        np.testing.assert_allclose(gc.function([x], g)(np.ones(3, np.float32)), [2, 2, 2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_arange_and_masks_with_symbolic_length(backend) -> None:
    def build(x):
        t = x.shape[1]
        return [gc.arange(t), gc.tril(x), gc.triu(x, 1), gc.causal_mask(t),
                gc.arange(2, 11, 3, dtype="float32")]

    x = RNG.normal(size=(2, 5, 5)).astype(np.float32)
    ar, lo, up, mask, stepped = _run(build, x, backend=backend, shapes=[(2, "T", "T")])
    np.testing.assert_array_equal(ar, np.arange(5))
    np.testing.assert_array_equal(lo, np.tril(x))
    np.testing.assert_array_equal(up, np.triu(x, 1))
    np.testing.assert_array_equal(mask, np.tril(np.ones((5, 5), bool)))
    np.testing.assert_array_equal(stepped, [2, 5, 8])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tile_repeat_stack(backend) -> None:
    x = X[:2, :3]
    t, r, rn, s = _run(lambda x: [gc.tile(x, (2, 1, 3)), gc.repeat(x, 2, axis=1),
                                  gc.repeat(x, 3), gc.stack([x, x * 2.0], axis=1)],
                       x, backend=backend, shapes=[("B", 3)])
    np.testing.assert_array_equal(t, np.tile(x, (2, 1, 3)))
    np.testing.assert_array_equal(r, np.repeat(x, 2, axis=1))
    np.testing.assert_array_equal(rn, np.repeat(x, 3))
    np.testing.assert_array_equal(s, np.stack([x, x * 2], axis=1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sort_topk_cumsum(backend) -> None:
    x = np.array([[3, 1, 2, 1, 5], [0, -1, 4, 4, 2]], np.float32)
    (sv, si), (tv, ti), cs = (lambda r: (r[:2], r[2:4], r[4]))(_run(
        lambda x: [*gc.sort(x), *gc.topk(x, 2), gc.cumsum(x, axis=1)], x, backend=backend))
    np.testing.assert_array_equal(sv, np.sort(x, axis=1))
    np.testing.assert_array_equal(si, [[1, 3, 2, 0, 4], [1, 0, 4, 2, 3]])
    np.testing.assert_array_equal(tv, [[5, 3], [4, 4]])
    np.testing.assert_array_equal(ti, [[4, 0], [2, 3]])
    np.testing.assert_allclose(cs, np.cumsum(x, axis=1))


def test_sort_and_cumsum_gradients() -> None:
    x = np.array([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, 3.0]])
    r = RNG.normal(size=(2, 4))
    gc.check_grad(lambda x: gc.sum(gc.sort(x)[0] * r) + gc.sum(gc.topk(x, 2)[0] * r[:, :2]), [x])
    gc.check_grad(lambda x: gc.sum(gc.cumsum(x, axis=1) * r) + gc.sum(gc.cumsum(x) ** 2), [x])


EINSUM_SPECS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhtd,bhsd->bhts", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bij,jk->bki", [(2, 3, 4), (4, 5)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("ab,cd->", [(2, 3), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUM_SPECS, ids=[s for s, _ in EINSUM_SPECS])
def test_einsum_matches_numpy(spec, shapes) -> None:
    arrays = [RNG.normal(size=s) for s in shapes]
    got = _run(lambda *xs: gc.einsum(spec, *xs), *arrays)
    np.testing.assert_allclose(got, np.einsum(spec, *arrays), rtol=1e-10, atol=1e-12)
    r = RNG.normal(size=np.shape(got))
    gc.check_grad(lambda *xs: gc.sum(gc.einsum(spec, *xs) * r), arrays)


def test_einsum_errors() -> None:
    with gc.Graph("e"):
        a = gc.placeholder("a", (3, 3))
        for spec, match in [("ii->i", "diagonal"), ("...i->i", "ellipsis"), ("ij->k", "output"),
                            ("ijk->i", "rank")]:
            with pytest.raises(gc.GraphcError, match=match):
                gc.einsum(spec, a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gather_along_axis(backend) -> None:
    idx = np.array([[0, 5, 5], [2, 1, -1], [3, 3, 3], [0, 1, 2]])
    got = _run(lambda x, i: gc.take_along_axis(x, i, axis=1), X, idx, backend=backend)
    np.testing.assert_array_equal(got, np.take_along_axis(X, idx % 6, axis=1))
    with pytest.raises(gc.BackendError):
        _run(lambda x, i: gc.gather(x, i, axis=1), X, idx + 7, backend=backend)


def test_batched_matmul_broadcast_llvm() -> None:
    a = RNG.normal(size=(2, 3, 5, 8)).astype(np.float32)
    b = RNG.normal(size=(3, 8, 7)).astype(np.float32)
    got = _run(lambda a, b: a @ b, a, b, backend="llvm")
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout(backend) -> None:
    x = np.ones((200, 100), np.float32)
    y = _run(lambda x, k: gc.dropout(x, 0.25, k), x, gc.random.key_data(3), backend=backend)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert math.isclose(float(y.mean()), 1.0, abs_tol=0.02)
