"""W5's models in graphc, JAX and torch: a deep MLP and a ResNet-18-shaped CNN training step.

Every system starts from the same parameters (``params(model)``) and batch (``data(model)``),
so their first losses agree; imports of the peers are lazy (a child process times its own).
Models are named ``mlp<L>`` (784 -> L x 256 ReLU -> 10, batch 64) or ``resnet18`` (batch 8,
3x64x64: a 7x7/2 stem, max pool, four stages of two basic blocks with batch norm and residual
adds, global average pool, dense 512 -> 10). All train with SGD (lr 0.1) on mean softmax
cross-entropy; batch norm uses batch statistics and updates its running statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.models import CLASSES, LR, batch

WIDTH, MLP_BATCH, MLP_IN = 256, 64, 784
RESNET_BATCH, RESNET_SIDE = 8, 64
STAGES = (64, 128, 256, 512)
Step = Callable[[], Any]


def depth(model: str) -> int:
    """L of ``mlp<L>``."""
    return int(model.removeprefix("mlp"))


# --- parameters and data (NumPy, shared by every system) --------------------------------


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    lim = np.sqrt(6.0 / fan_in)
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def mlp_params(layers: int, seed: int = 0) -> list[np.ndarray]:
    """[W, b] per dense layer, W (fan_in, fan_out); biases small and non-zero."""
    rng = np.random.default_rng(seed)
    sizes = (MLP_IN, *([WIDTH] * layers), CLASSES)
    out: list[np.ndarray] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        out += [_uniform(rng, (n_in, n_out), n_in) * np.float32(0.5),
                rng.uniform(-0.1, 0.1, n_out).astype(np.float32)]
    return out


def _block_convs(c_in: int, c_out: int, stride: int) -> list[tuple[int, int, int]]:
    """(out, in, k) of a basic block's convs: two 3x3, plus a 1x1 shortcut when it reshapes."""
    convs = [(c_out, c_in, 3), (c_out, c_out, 3)]
    return convs + ([(c_out, c_in, 1)] if stride != 1 or c_in != c_out else [])


def resnet_convs() -> list[tuple[int, int, int]]:
    """(out, in, k) of every conv in creation order: the stem, then each block's."""
    convs, c_in = [(64, 3, 7)], 64
    for i, c in enumerate(STAGES):
        for b in range(2):
            convs += _block_convs(c_in, c, 2 if i > 0 and b == 0 else 1)
            c_in = c
    return convs


def resnet_params(seed: int = 0) -> list[np.ndarray]:
    """Conv kernels (OIHW, He uniform) in creation order, then the dense W [512, 10] and b."""
    rng = np.random.default_rng(seed)
    ks = [_uniform(rng, (o, i, k, k), i * k * k) for o, i, k in resnet_convs()]
    return ks + [_uniform(rng, (STAGES[-1], CLASSES), STAGES[-1]),
                 rng.uniform(-0.1, 0.1, CLASSES).astype(np.float32)]


def params(model: str) -> list[np.ndarray]:
    return resnet_params() if model == "resnet18" else mlp_params(depth(model))


def data(model: str) -> tuple[np.ndarray, np.ndarray]:
    if model == "resnet18":
        return batch((RESNET_BATCH, 3, RESNET_SIDE, RESNET_SIDE))
    return batch((MLP_BATCH, MLP_IN))


def _strides() -> list[int]:
    """Stride of each basic block, in order."""
    return [2 if i > 0 and b == 0 else 1 for i in range(len(STAGES)) for b in range(2)]


# --- graphc ------------------------------------------------------------------------------


def _feeder(values: list[np.ndarray]) -> Callable[..., np.ndarray]:
    """A gc.nn initializer handing out ``values`` in order (checked against the shape asked)."""
    it = iter(values)

    def init(shape: tuple[int, ...], seed: Any = None, dtype: Any = None) -> np.ndarray:
        v = next(it)
        assert v.shape == tuple(shape), (v.shape, shape)
        return v.copy()

    return init


def graphc_step(model: str, backend: str = "llvm") -> tuple[Step, float]:
    """(step() -> loss, seconds spent in gc.function) of the model in graphc."""
    import time

    import graphc as gc

    x, y = data(model)
    g = gc.Graph(model)
    with g:
        xs = gc.placeholder("x", ("B", *x.shape[1:]), "float32")
        ys = gc.placeholder("y", ("B",), "int64")
        build = _graphc_resnet if model == "resnet18" else _graphc_mlp
        logits, trained, updates = build(gc, xs, model)
        loss = gc.mean(gc.softmax_cross_entropy(logits, ys))
        grads = gc.grad(loss, trained)
        updates += [(p, p - LR * gr) for p, gr in zip(trained, grads, strict=True)]
    t0 = time.perf_counter()
    fn = gc.function([xs, ys], loss, updates=updates, backend=backend)
    compile_s = time.perf_counter() - t0
    return (lambda: fn(x, y)), compile_s


def _graphc_mlp(gc: Any, h: Any, model: str) -> tuple[Any, list, list]:
    from graphc.frontend.api import set_param_value

    init = _feeder(params(model)[0::2])
    layers = [gc.nn.Dense(WIDTH, "relu", init=init) for _ in range(depth(model))]
    layers.append(gc.nn.Dense(CLASSES, init=init))
    for layer in layers:
        h = layer(h)
    biases = params(model)[1::2]
    for layer, b in zip(layers, biases, strict=True):
        set_param_value(layer.b, b)
    return h, [p for layer in layers for p in layer.params], []


def _graphc_resnet(gc: Any, x: Any, model: str) -> tuple[Any, list, list]:
    from graphc.frontend.api import set_param_value

    init = _feeder(resnet_params())
    trained: list = []
    updates: list = []

    def conv_bn(h: Any, c: int, k: int, stride: int, relu: bool) -> Any:
        conv = gc.nn.Conv2d(c, k, stride, k // 2, init=init, bias=False)
        bn = gc.nn.BatchNorm()
        h, ups = bn(conv(h))
        trained.extend(conv.params + bn.params)
        updates.extend(ups)
        return gc.relu(h) if relu else h

    h = gc.max_pool2d(conv_bn(x, 64, 7, 2, True), 3, 2, 1)
    c_in = 64
    for c, stride in zip([c for c in STAGES for _ in range(2)], _strides(), strict=True):
        out = conv_bn(conv_bn(h, c, 3, stride, True), c, 3, 1, False)
        short = conv_bn(h, c, 1, stride, False) if stride != 1 or c_in != c else h
        h, c_in = gc.relu(out + short), c
    fc = gc.nn.Dense(CLASSES, init=init)
    logits = fc(gc.mean(h, axis=(2, 3)))
    set_param_value(fc.b, resnet_params()[-1])
    return logits, trained + fc.params, updates


# --- JAX -----------------------------------------------------------------------------------


def _jax_conv(jax: Any, h: Any, k: Any, stride: int) -> Any:
    pad = k.shape[-1] // 2
    return jax.lax.conv_general_dilated(h, k, (stride, stride), ((pad, pad), (pad, pad)),
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))


def _jax_bn(jnp: Any, h: Any, g: Any, b: Any, stats: list) -> Any:
    mean = h.mean(axis=(0, 2, 3), keepdims=True)
    var = ((h - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    stats.append((mean, var, h.size // h.shape[1]))
    y = (h - mean) * jax_rsqrt(jnp, var + 1e-5)
    return y * g[None, :, None, None] + b[None, :, None, None]


def jax_rsqrt(jnp: Any, v: Any) -> Any:
    return 1.0 / jnp.sqrt(v)


def _jax_resnet_loss(jax: Any) -> Callable:
    jnp = jax.numpy

    def loss_fn(p: list, x: Any, y: Any) -> tuple[Any, list]:
        ks, bns, (w, b) = p[0], p[1], p[2]
        stats: list = []
        it, bn_it = iter(ks), iter(bns)

        def conv_bn(h: Any, stride: int, relu: bool) -> Any:
            g, be = next(bn_it)
            h = _jax_bn(jnp, _jax_conv(jax, h, next(it), stride), g, be, stats)
            return jax.nn.relu(h) if relu else h

        h = conv_bn(x, 2, True)
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 3, 3), (1, 1, 2, 2),
                                  ((0, 0), (0, 0), (1, 1), (1, 1)))
        c_in = 64
        for c, stride in zip([c for c in STAGES for _ in range(2)], _strides(), strict=True):
            out = conv_bn(conv_bn(h, stride, True), 1, False)
            short = conv_bn(h, stride, False) if stride != 1 or c_in != c else h
            h, c_in = jax.nn.relu(out + short), c
        logits = h.mean(axis=(2, 3)) @ w + b
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean(), stats

    return loss_fn


def jax_step(model: str) -> Step:
    """jax.jit of value_and_grad + SGD (and the running statistics), parameters donated."""
    import jax

    if model != "resnet18":
        from benchmarks.mlp_peers import jax_training, jax_xent

        def mlp_loss(p: list, xb: Any, yb: Any) -> Any:
            h = xb
            for i in range(0, len(p) - 2, 2):
                h = jax.nn.relu(h @ p[i] + p[i + 1])
            return jax_xent(jax, h @ p[-2] + p[-1], yb)

        return jax_training(mlp_loss, params(model), *data(model))
    return _jax_resnet_step(jax)


def _jax_resnet_step(jax: Any) -> Step:
    loss_fn = _jax_resnet_loss(jax)
    p = resnet_params()
    convs = resnet_convs()
    bn = [(np.ones(o, np.float32), np.zeros(o, np.float32)) for o, _, _ in convs]
    trained = [p[:-2], bn, (p[-2], p[-1])]
    running = [(np.zeros(o, np.float32), np.ones(o, np.float32)) for o, _, _ in convs]

    def update(state: list, xb: Any, yb: Any) -> tuple[list, Any]:
        w, run = state
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(w, xb, yb)
        w = jax.tree_util.tree_map(lambda a, g: a - LR * g, w, grads)
        run = [_jax_running(r, s) for r, s in zip(run, stats, strict=True)]
        return [w, run], loss

    jitted = jax.jit(update, donate_argnums=0)
    x, y = data("resnet18")
    state = jax.device_put([trained, running])
    xb, yb = jax.device_put(x), jax.device_put(y.astype(np.int32))

    def step() -> Any:
        nonlocal state
        state, loss = jitted(state, xb, yb)
        return loss.block_until_ready()

    return step


def _jax_running(run: tuple, stat: tuple) -> tuple:
    """PyTorch's convention: momentum 0.1, the unbiased batch variance."""
    (rm, rv), (mean, var, n) = run, stat
    return (0.9 * rm + 0.1 * mean.reshape(-1), 0.9 * rv + 0.1 * var.reshape(-1) * n / (n - 1))


# --- torch.compile ----------------------------------------------------------------------


def torch_step(model: str) -> Step:
    """torch.compile of the loss (forward and AOT backward); torch.optim.SGD eager."""
    import torch

    from benchmarks.mlp_peers import torch_training

    x, y = data(model)
    if model != "resnet18":
        f = torch.nn.functional

        def mlp_loss(xb: Any, yb: Any, *p: Any) -> Any:
            h = xb
            for i in range(0, len(p) - 2, 2):
                h = torch.relu(torch.addmm(p[i + 1], h, p[i]))
            return f.cross_entropy(torch.addmm(p[-1], h, p[-2]), yb)

        return torch_training(torch.compile(mlp_loss), params(model), (x, y))
    return _torch_resnet(torch, x, y)


def _torch_resnet(torch: Any, x: np.ndarray, y: np.ndarray) -> Step:
    f = torch.nn.functional
    convs = resnet_convs()
    running = [(torch.zeros(o), torch.ones(o)) for o, _, _ in convs]
    n_conv = len(convs)

    def loss_fn(xb: Any, yb: Any, *p: Any) -> Any:
        ks, gammas, betas = p[:n_conv], p[n_conv:2 * n_conv], p[2 * n_conv:3 * n_conv]
        i = iter(range(n_conv))

        def conv_bn(h: Any, stride: int, relu: bool) -> Any:
            j = next(i)
            k = ks[j]
            h = f.conv2d(h, k, stride=stride, padding=k.shape[-1] // 2)
            h = f.batch_norm(h, *running[j], gammas[j], betas[j], training=True, momentum=0.1)
            return torch.relu(h) if relu else h

        h = f.max_pool2d(conv_bn(xb, 2, True), 3, 2, 1)
        c_in = 64
        for c, stride in zip([c for c in STAGES for _ in range(2)], _strides(), strict=True):
            out = conv_bn(conv_bn(h, stride, True), 1, False)
            short = conv_bn(h, stride, False) if stride != 1 or c_in != c else h
            h, c_in = torch.relu(out + short), c
        return f.cross_entropy(torch.addmm(p[-1], h.mean(dim=(2, 3)), p[-2]), yb)

    p = resnet_params()
    gb = [np.ones(o, np.float32) for o, _, _ in convs] + [np.zeros(o, np.float32)
                                                           for o, _, _ in convs]
    init = p[:-2] + gb + p[-2:]
    from benchmarks.mlp_peers import torch_training

    return torch_training(torch.compile(loss_fn), init, (x, y))
