"""Attention, MultiHeadAttention and TransformerEncoderLayer against PyTorch with copied
weights: outputs and gradients at dropout 0, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

torch = pytest.importorskip("torch")
F = torch.nn.functional
BACKENDS = ["numpy", "llvm"]
B, H, T, S, D = 2, 3, 5, 4, 8


def _t(a: np.ndarray, grad: bool = True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(got, want, tol=1e-4) -> None:
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=tol, atol=tol)


MASKS = ["none", "bool", "float", "causal", "causal+bool"]


def _mask_arrays(kind: str, rng: np.random.Generator):
    if "bool" in kind:
        m = rng.random((T, S)) < 0.7
        m[:, 0] = True  # every query keeps a key: no all-masked (NaN) rows
        return m
    if kind == "float":
        return rng.normal(size=(B, 1, T, S)).astype(np.float32)
    return None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", MASKS)
def test_sdpa_matches_torch(kind: str, backend: str) -> None:
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=s).astype(np.float32) for s in ((B, H, T, D), (B, H, S, D),
                                                               (B, H, S, D)))
    r = rng.normal(size=(B, H, T, D)).astype(np.float32)
    m = _mask_arrays(kind, rng)
    causal = kind.startswith("causal")
    with gc.Graph("sdpa"):
        xs = [gc.placeholder(n, a.shape) for n, a in zip("qkv", (q, k, v), strict=True)]
        feeds = [q, k, v]
        mask = None
        if m is not None:
            mask = gc.placeholder("m", m.shape, m.dtype)
            xs.append(mask)
            feeds.append(m)
        out = gc.scaled_dot_product_attention(*xs[:3], mask=mask, causal=causal)
        grads = gc.grad(gc.sum(out * r), xs[:3])
        got = gc.function(xs, [out, *grads], backend=backend)(*feeds)
    tq, tk, tv = _t(q), _t(k), _t(v)
    tm = None if m is None else torch.tensor(m) if m.dtype == bool else _t(m, False)
    if causal and tm is not None:  # torch takes one or the other: combine them by hand
        tm, causal = tm & torch.ones(T, S, dtype=torch.bool).tril(), False
    want = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, is_causal=causal)
    (want * _t(r, False)).sum().backward()
    for g, w in zip(got, [want, tq.grad, tk.grad, tv.grad], strict=True):
        _close(g, w)


def _linear_to_dense(w, b):
    return w.detach().numpy().T.astype(np.float32), b.detach().numpy().astype(np.float32)


def _copy_mha(mine, theirs, e: int) -> None:
    w, b = theirs.in_proj_weight, theirs.in_proj_bias
    for i, s in enumerate("qkv"):
        dense = mine.layers[s]
        dense.w.value, dense.b.value = _linear_to_dense(w[i * e:(i + 1) * e], b[i * e:(i + 1) * e])
    out = mine.layers["out"]
    out.w.value, out.b.value = _linear_to_dense(theirs.out_proj.weight, theirs.out_proj.bias)


def _copy_encoder(mine, theirs, e: int) -> None:
    _copy_mha(mine.layers["attn"], theirs.self_attn, e)
    for slot, lin in (("ff1", theirs.linear1), ("ff2", theirs.linear2)):
        mine.layers[slot].w.value, mine.layers[slot].b.value = _linear_to_dense(lin.weight,
                                                                                lin.bias)
    for slot, norm in (("norm1", theirs.norm1), ("norm2", theirs.norm2)):
        mine.layers[slot].weight.value = norm.weight.detach().numpy().astype(np.float32) * 1.5
        mine.layers[slot].bias.value = norm.bias.detach().numpy().astype(np.float32) + 0.1
        with torch.no_grad():  # not the initial ones and zeros, so a mixed-up slot shows
            norm.weight.mul_(1.5)
            norm.bias.add_(0.1)


def _torch_param_grads(mine_layer, theirs, e: int) -> dict[str, np.ndarray]:
    """torch's gradients under graphc's parameter names (transposed to [in, out])."""
    out: dict[str, np.ndarray] = {}
    attn = theirs.self_attn if hasattr(theirs, "self_attn") else theirs
    prefix = mine_layer.name + (".attn" if attn is not theirs else "")
    g, gb = attn.in_proj_weight.grad.numpy(), attn.in_proj_bias.grad.numpy()
    for i, s in enumerate("qkv"):
        rows = slice(i * e, (i + 1) * e)
        out[f"{prefix}.{s}.w"], out[f"{prefix}.{s}.b"] = g[rows].T, gb[rows]
    out[f"{prefix}.out.w"] = attn.out_proj.weight.grad.numpy().T
    out[f"{prefix}.out.b"] = attn.out_proj.bias.grad.numpy()
    if attn is theirs:
        return out
    n = mine_layer.name
    for slot, lin in (("ff1", theirs.linear1), ("ff2", theirs.linear2)):
        out[f"{n}.{slot}.w"] = lin.weight.grad.numpy().T
        out[f"{n}.{slot}.b"] = lin.bias.grad.numpy()
    for slot, norm in (("norm1", theirs.norm1), ("norm2", theirs.norm2)):
        out[f"{n}.{slot}.weight"], out[f"{n}.{slot}.bias"] = (norm.weight.grad.numpy(),
                                                              norm.bias.grad.numpy())
    return out


def _compare(mine, theirs, copy, backend: str, e: int, causal: bool) -> None:
    """Build mine on [B, T, e], copy theirs' weights in, compare outputs and gradients."""
    x = np.random.default_rng(3).normal(size=(2, 7, e)).astype(np.float32)
    r = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    with gc.Graph("layer"):
        xp, rp = gc.placeholder("x", ("B", "T", e)), gc.placeholder("r", ("B", "T", e))
        y = mine(xp, causal=causal)
        copy(mine, theirs, e)
        params = mine.params
        grads = gc.grad(gc.sum(y * rp), params)
        got = gc.function([xp, rp], [y, *grads], backend=backend)(x, r)
    theirs.double()
    mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).triu(1) if causal else None
    tx = _t(x, False)
    want = theirs(tx, src_mask=mask) if hasattr(theirs, "self_attn") else theirs(
        tx, tx, tx, attn_mask=mask, need_weights=False)[0]
    (want * _t(r, False)).sum().backward()
    _close(got[0], want)
    expected = _torch_param_grads(mine, theirs, e)
    assert {p.name for p in params} == set(expected)
    for p, g in zip(params, got[1:], strict=True):
        np.testing.assert_allclose(g, expected[p.name], rtol=2e-4, atol=2e-4, err_msg=p.name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(backend: str, causal: bool) -> None:
    e, heads = 12, 3
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(e, heads, batch_first=True)
    mine = gc.nn.MultiHeadAttention(e, heads, name="mha")
    _compare(mine, theirs, _copy_mha, backend, e, causal)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_layer_matches_torch(backend: str, norm_first: bool) -> None:
    e, heads, ff = 16, 4, 24
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(e, heads, ff, dropout=0.0, activation="gelu",
                                              batch_first=True, norm_first=norm_first)
    mine = gc.nn.TransformerEncoderLayer(e, heads, ff, dropout=0.0, norm_first=norm_first,
                                         name="enc")
    _compare(mine, theirs, _copy_encoder, backend, e, True)


def test_layer_norm_matches_torch() -> None:
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(3, 4, 10)), rng.normal(size=10), rng.normal(size=10)
    with gc.Graph("ln"):
        ps = [gc.placeholder(n, a.shape, "float64") for n, a in zip("xwb", (x, w, b), strict=True)]
        y = gc.layer_norm(*ps)
        got = gc.function(ps, [y, *gc.grad(gc.sum(y * x), ps)])(x, w, b)
    tx, tw, tb = _t(x), _t(w), _t(b)
    want = F.layer_norm(tx, (10,), tw, tb)
    (want * _t(x, False)).sum().backward()
    for g, t in zip(got, [want, tx.grad, tw.grad, tb.grad], strict=True):
        _close(g, t, 1e-10)


def test_dropout_layers_need_a_key_only_in_training() -> None:
    layer = gc.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, name="enc")
    with gc.Graph("d"):
        x = gc.placeholder("x", ("B", 4, 8))
        with pytest.raises(gc.GraphcError, match="key"):
            layer(x)
        y_eval = layer(x, training=False)
        y_train = layer(x, key=gc.random.key(0))
        f = gc.function([x], [y_eval, y_train], backend="llvm")
        a = np.random.default_rng(0).normal(size=(3, 4, 8)).astype(np.float32)
        ev, tr = f(a)
    assert np.isfinite(tr).all() and not np.allclose(ev, tr)
    with gc.Graph("d2"):
        x = gc.placeholder("x", (3, 4, 8))
        assert gc.nn.Dropout(0.5)(x, training=False) is x  # the identity: no node at all


def test_embedding_gradient_is_scatter_add() -> None:
    emb = gc.nn.Embedding(5, 3, name="emb", seed=0)
    idx = np.array([[1, 3, 1], [4, 1, 0]])
    with gc.Graph("e"):
        i = gc.placeholder("i", ("B", 3), "int64")
        y = emb(i)
        (g,) = gc.grad(gc.sum(y * 2.0), [emb.weight])
        yv, gv = gc.function([i], [y, g], backend="llvm")(idx)
    np.testing.assert_array_equal(yv, emb.weight.value[idx])
    counts = np.bincount(idx.ravel(), minlength=5)[:, None]
    np.testing.assert_array_equal(gv, np.broadcast_to(2.0 * counts, (5, 3)))
