"""W7: one TransformerEncoderLayer (pre-norm, GELU) training step with AdamW, and its forward.

Every system starts from the same parameters (PARAMS below, in graphc's x @ w layout) and the
same batch. The loss is the mean squared error of the layer's output against a fixed target.
Three workloads: the training step with dropout 0.1 (each system draws its own masks, so the
check is loose: the loss of the first steps within 2%), the same step without dropout (checked
against PyTorch eager to 1e-3), and the forward alone in inference mode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.harness import (
    GRAPHC,
    PEER,
    System,
    Workload,
    abs_compare,
    loss_probe,
    output_probe,
    rel_compare,
)
from benchmarks.hostinfo import require

REFERENCE = "PyTorch eager"
LR, BETAS, EPS, WD = 1e-3, (0.9, 0.999), 1e-8, 0.01


@dataclass(frozen=True)
class Shape:
    batch: int = 16
    seq: int = 64
    d: int = 256
    heads: int = 4
    ff: int = 1024


QUICK = Shape(batch=2, seq=8, d=32, heads=4, ff=64)
NAMES = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "out.w", "out.b", "ff1.w", "ff1.b",
         "ff2.w", "ff2.b", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")


def params(s: Shape) -> dict[str, np.ndarray]:
    """Initial parameters: uniform(+-1/sqrt(fan_in)) weights, small biases, unit norms."""
    rng = np.random.default_rng(7)
    fans = {"q": (s.d, s.d), "k": (s.d, s.d), "v": (s.d, s.d), "out": (s.d, s.d),
            "ff1": (s.d, s.ff), "ff2": (s.ff, s.d)}
    out: dict[str, np.ndarray] = {}
    for name, (i, o) in fans.items():
        bound = 1 / np.sqrt(i)
        out[f"{name}.w"] = rng.uniform(-bound, bound, (i, o)).astype(np.float32)
        out[f"{name}.b"] = rng.uniform(-0.1, 0.1, o).astype(np.float32)
    for n in ("norm1", "norm2"):
        out[f"{n}.weight"] = rng.uniform(0.8, 1.2, s.d).astype(np.float32)
        out[f"{n}.bias"] = rng.uniform(-0.1, 0.1, s.d).astype(np.float32)
    return out


def batch(s: Shape) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    shape = (s.batch, s.seq, s.d)
    return rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)


# --- graphc ---------------------------------------------------------------------------------


def graphc_system(s: Shape, dropout: float, train: bool) -> Callable[[], Any]:
    import graphc as gc

    init, (xv, yv) = params(s), batch(s)
    with gc.Graph("w7"):
        x = gc.placeholder("x", xv.shape)
        layer = gc.nn.TransformerEncoderLayer(s.d, s.heads, s.ff, dropout=dropout, name="enc")
        if not train:
            out = layer(x, training=False)
            _load_graphc(layer, init)
            f = gc.function([x], out, backend="llvm")
            return lambda: f(xv)
        y = gc.placeholder("y", yv.shape)
        rng = gc.random.state("rng", 0)
        key, rng_update = gc.random.next_key(rng)
        loss = gc.mse(layer(x, key=key), y)
        _load_graphc(layer, init)
        opt = gc.optim.AdamW(layer.params, lr=LR, betas=BETAS, eps=EPS, weight_decay=WD)
        f = gc.function([x, y], loss, updates=opt.updates(loss) + [rng_update], backend="llvm")
    return lambda: f(xv, yv)


def _load_graphc(layer: Any, init: dict[str, np.ndarray]) -> None:
    for p in layer.params:
        p.value = init[p.name.removeprefix("enc.").removeprefix("attn.")].copy()


# --- PyTorch --------------------------------------------------------------------------------


def _torch_layer(torch: Any, s: Shape, dropout: float, init: dict[str, np.ndarray]) -> Any:
    m = torch.nn.TransformerEncoderLayer(s.d, s.heads, s.ff, dropout=dropout, activation="gelu",
                                         batch_first=True, norm_first=True)
    t = {k: torch.from_numpy(v.copy()) for k, v in init.items()}
    with torch.no_grad():
        m.self_attn.in_proj_weight.copy_(torch.cat([t["q.w"].T, t["k.w"].T, t["v.w"].T]))
        m.self_attn.in_proj_bias.copy_(torch.cat([t["q.b"], t["k.b"], t["v.b"]]))
        m.self_attn.out_proj.weight.copy_(t["out.w"].T)
        m.self_attn.out_proj.bias.copy_(t["out.b"])
        for lin, n in ((m.linear1, "ff1"), (m.linear2, "ff2")):
            lin.weight.copy_(t[f"{n}.w"].T)
            lin.bias.copy_(t[f"{n}.b"])
        for norm, n in ((m.norm1, "norm1"), (m.norm2, "norm2")):
            norm.weight.copy_(t[f"{n}.weight"])
            norm.bias.copy_(t[f"{n}.bias"])
    return m


def torch_system(s: Shape, dropout: float, train: bool, compiled: bool) -> Callable[[], Any]:
    torch = require("torch")
    m = _torch_layer(torch, s, dropout, params(s))
    x, y = (torch.from_numpy(a) for a in batch(s))
    if not train:
        m.eval()
        fwd = torch.compile(m) if compiled else m

        def infer() -> Any:
            with torch.no_grad():
                return fwd(x).numpy()

        return infer
    opt = torch.optim.AdamW(m.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WD,
                            foreach=True)
    loss_fn = torch.compile(lambda: torch.nn.functional.mse_loss(m(x), y)) if compiled else (
        lambda: torch.nn.functional.mse_loss(m(x), y))

    def step() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


# --- JAX ------------------------------------------------------------------------------------


def _jax_forward(jax: Any, s: Shape, dropout: float) -> Callable:
    jnp = jax.numpy

    def ln(h: Any, g: Any, b: Any) -> Any:
        mu = h.mean(-1, keepdims=True)
        var = ((h - mu) ** 2).mean(-1, keepdims=True)
        return (h - mu) * jax.lax.rsqrt(var + 1e-5) * g + b

    def drop(h: Any, key: Any) -> Any:
        if not dropout or key is None:
            return h
        keep = jax.random.bernoulli(key, 1 - dropout, h.shape)
        return jnp.where(keep, h / (1 - dropout), 0)

    def heads(h: Any) -> Any:
        return h.reshape(s.batch, s.seq, s.heads, s.d // s.heads).transpose(0, 2, 1, 3)

    def forward(p: dict, x: Any, key: Any) -> Any:
        keys = jax.random.split(key, 4) if key is not None else [None] * 4
        h = ln(x, p["norm1.weight"], p["norm1.bias"])
        q, k, v = (heads(h @ p[f"{n}.w"] + p[f"{n}.b"]) for n in "qkv")
        att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(s.d // s.heads), axis=-1)
        o = (drop(att, keys[0]) @ v).transpose(0, 2, 1, 3).reshape(s.batch, s.seq, s.d)
        x = x + drop(o @ p["out.w"] + p["out.b"], keys[1])
        h = ln(x, p["norm2.weight"], p["norm2.bias"])
        h = drop(jax.nn.gelu(h @ p["ff1.w"] + p["ff1.b"], approximate=False), keys[2])
        return x + drop(h @ p["ff2.w"] + p["ff2.b"], keys[3])

    return forward


def jax_system(s: Shape, dropout: float, train: bool) -> Callable[[], Any]:
    jax = require("jax")
    jnp = jax.numpy
    forward = _jax_forward(jax, s, dropout)
    p = {k: jnp.asarray(v) for k, v in params(s).items()}
    x, y = (jnp.asarray(a) for a in batch(s))
    if not train:
        fwd = jax.jit(lambda p, x: forward(p, x, None))
        return lambda: np.asarray(fwd(p, x).block_until_ready())

    def update(state: tuple, key: Any) -> tuple:
        p, m, v, t = state
        key, sub = jax.random.split(key)
        loss, g = jax.value_and_grad(lambda p: ((forward(p, x, sub) - y) ** 2).mean())(p)
        t = t + 1
        m = jax.tree.map(lambda m, g: BETAS[0] * m + (1 - BETAS[0]) * g, m, g)
        v = jax.tree.map(lambda v, g: BETAS[1] * v + (1 - BETAS[1]) * g * g, v, g)
        c1, c2 = 1 - BETAS[0] ** t, 1 - BETAS[1] ** t
        p = jax.tree.map(lambda p, m, v: p * (1 - LR * WD) - LR * (m / c1) / (jnp.sqrt(v / c2)
                                                                                  + EPS), p, m, v)
        return (p, m, v, t), key, loss

    jitted = jax.jit(update, donate_argnums=0)
    zeros = jax.tree.map(jnp.zeros_like, p)
    state: list = [(p, zeros, jax.tree.map(jnp.zeros_like, p), jnp.float32(0)),
                   jax.random.PRNGKey(0)]

    def step() -> Any:
        state[0], state[1], loss = jitted(state[0], state[1])
        return loss.block_until_ready()

    return step


def systems(s: Shape, dropout: float, train: bool) -> list[System]:
    return [
        System(REFERENCE, PEER, lambda: torch_system(s, dropout, train, False)),
        System("graphc llvm", GRAPHC, lambda: graphc_system(s, dropout, train)),
        System("torch.compile", PEER, lambda: torch_system(s, dropout, train, True),
               slow_compile=True),
        System("JAX jit", PEER, lambda: jax_system(s, dropout, train)),
    ]


def workloads(quick: bool) -> list[Workload]:
    """Training step with and without dropout, and the forward alone (--quick: the step
    without dropout only, which checks the harness and every system's numbers)."""
    s = QUICK if quick else Shape()
    size = (f"d_model {s.d}, {s.heads} heads, feed-forward {s.ff}, batch {s.batch}, "
            f"sequence {s.seq}")
    note = (f"pre-norm TransformerEncoderLayer (GELU), MSE loss against a fixed target, AdamW "
            f"lr {LR} weight decay {WD}; every system starts from the same parameters.")
    plain = Workload(f"W7: encoder layer training step, no dropout ({size})",
                     systems(s, 0.0, True), loss_probe(3), rel_compare(1e-3), REFERENCE,
                     [note, "check = first 3 losses within 1e-3 of PyTorch eager's."])
    if quick:
        return [plain]
    return [
        Workload(f"W7: encoder layer training step, dropout 0.1 ({size})",
                 systems(s, 0.1, True), loss_probe(3), rel_compare(2e-2), REFERENCE,
                 [note, "Each system draws its own dropout masks: check = first 3 losses "
                  "within 2% of PyTorch's."]),
        plain,
        Workload(f"W7: encoder layer forward, inference ({size})", systems(s, 0.0, False),
                 output_probe, abs_compare(1e-3), REFERENCE,
                 ["check = largest absolute difference of the output from PyTorch eager's "
                  "(ok within 1e-3; outputs are of order 1)."]),
    ]
