"""Layers that create their parameters (gc.nn): Dense, Conv2d, BatchNorm and functional forms.

A layer object creates its parameters on its first call, in the graph of its input (their
shapes follow from the input), and reuses them on every later call, so one layer can build
both a training and an inference expression over the same weights::

    fc = gc.nn.Dense(10, name="fc")          # parameters fc.w [in, 10] and fc.b [10]
    logits = fc(x)
    bn = gc.nn.BatchNorm(name="bn")
    y, bn_updates = bn(h, training=True)     # batch statistics + running-stat updates
    y_eval, _ = bn(h, training=False)        # running statistics, no updates

The functions ``dense``, ``conv2d`` and ``batch_norm`` make a layer and call it once.
Parameter names are ``<layer name>.<slot>``; names must be unique within a graph (a clear
error otherwise). Without ``name=`` a layer takes the first free name among ``dense``,
``dense_1``, ... at its first call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend import init as initializers
from graphc.frontend.api import wrap
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError, ShapeError
from graphc.ir.graph import Graph, Param
from graphc.ir.types import TensorType, dim_prod, is_static
from graphc.ops import collective

Init = Callable[..., np.ndarray] | str

Activation = Callable[[Tensor], Tensor] | str | None
Updates = list[tuple[Tensor, Tensor]]


def _check_free(graph: Graph, name: str) -> None:
    if any(a.name == name for a in graph.arguments):
        raise GraphcError(
            f"graph @{graph.name} already has a parameter named {name!r}: give each layer its "
            "own name= (call the same layer object again to share its parameters)"
        )


def parameter_in(graph: Graph, name: str, value: np.ndarray) -> Tensor:
    """A new parameter of ``graph``; a taken name is an error that says how to fix it."""
    _check_free(graph, name)
    value = np.asarray(value, order="C")  # not ascontiguousarray: that makes rank 0 rank 1
    return wrap(graph.add_param(Param(name, value), TensorType.of(value.dtype, value.shape)), graph)


def free_name(graph: Graph, base: str) -> str:
    """``base``, ``base_1``, ``base_2``... the first not used as a parameter-name prefix."""
    prefixes = {str(a.name).split(".")[0] for a in graph.arguments}
    name, n = base, 0
    while name in prefixes:
        n += 1
        name = f"{base}_{n}"
    return name


def _initializer(init: Init) -> Callable[..., np.ndarray]:
    if callable(init):
        return init
    found = getattr(initializers, init, None) if isinstance(init, str) else None
    if found is None or init.startswith("_") or init == "fans":
        raise GraphcError(f"unknown initializer {init!r}; expected a gc.init function or its name")
    return found


def _activation(activation: Activation) -> Callable[[Tensor], Tensor]:
    if activation is None:
        return lambda x: x
    if callable(activation):
        return activation
    found = getattr(fn, activation, None) if isinstance(activation, str) else None
    if found is None or activation.startswith("_"):
        raise GraphcError(f"unknown activation {activation!r}; expected a gc function or its name")
    return found


def _static(x: Tensor, axis: int, layer: str) -> int:
    d = x.shape[axis]
    if not isinstance(d, int):
        raise ShapeError(f"{layer} needs a static size on axis {axis} of its input, got {x.type}")
    return d


class Layer:
    """Base class: a name, parameters created once in one graph, reuse on later calls."""

    kind = "layer"

    def __init__(self, name: str | None, seed: int | np.random.Generator | None) -> None:
        self.name = name
        self.seed = seed
        self.graph: Graph | None = None
        self.params: list[Tensor] = []  # trainable parameters, for the optimizer

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        """slot -> (initial value, trainable) of the parameters an input like ``x`` needs."""
        raise NotImplementedError

    def _enter(self, x: Tensor) -> None:
        """Check ``x``; on the first call create every parameter (or none, on an error)."""
        if not isinstance(x, Tensor) or not x.dtype.is_float:
            raise GraphcError(f"{self.kind} layer input must be a float Tensor, got {x!r}")
        if self.graph is not None:
            if x.graph is not self.graph:
                raise GraphcError(f"{self.kind} layer {self.name!r} was built in another graph")
            return
        name = self.name or free_name(x.graph, self.kind)
        values = self.initial_values(x)
        for slot in values:
            _check_free(x.graph, f"{name}.{slot}")
        for slot, (value, trainable) in values.items():
            t = parameter_in(x.graph, f"{name}.{slot}", value)
            setattr(self, slot, t)
            if trainable:
                self.params.append(t)
        self.name, self.graph = name, x.graph


class Dense(Layer):
    """y = activation(x @ w + b) with w [in, units], b [units]; x is [..., in]."""

    kind = "dense"

    def __init__(self, units: int, activation: Activation = None, name: str | None = None,
                 init: Init = "glorot_uniform", bias: bool = True,
                 seed: int | np.random.Generator | None = None) -> None:
        super().__init__(name, seed)
        if not isinstance(units, int) or units < 1:
            raise GraphcError(f"dense units must be a positive int, got {units!r}")
        self.units, self.bias = units, bias
        self.init, self.activation = _initializer(init), _activation(activation)
        self.w: Tensor | None = None
        self.b: Tensor | None = None

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        fan_in, dt = _static(x, -1, "dense"), x.dtype
        values = {"w": (self.init((fan_in, self.units), seed=self.seed, dtype=dt), True)}
        if self.bias:
            values["b"] = (initializers.zeros(self.units, dt), True)
        return values

    def __call__(self, x: Tensor) -> Tensor:
        self._enter(x)
        y = fn.matmul(x, self.w)
        return self.activation(y + self.b if self.b is not None else y)


class Conv2d(Layer):
    """y = activation(conv2d(x, w) + b) with x NCHW, w OIHW [out, in, kh, kw], b [out]."""

    kind = "conv2d"

    def __init__(self, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 activation: Activation = None, name: str | None = None,
                 init: Init = "he_uniform", bias: bool = True,
                 seed: int | np.random.Generator | None = None) -> None:
        super().__init__(name, seed)
        if not isinstance(out_channels, int) or out_channels < 1:
            raise GraphcError(f"conv2d out_channels must be a positive int, got {out_channels!r}")
        k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.out_channels, self.kernel_size = out_channels, k
        self.stride, self.padding, self.bias = stride, padding, bias
        self.init, self.activation = _initializer(init), _activation(activation)
        self.w: Tensor | None = None
        self.b: Tensor | None = None

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        shape, dt = (self.out_channels, _static(x, 1, "conv2d"), *self.kernel_size), x.dtype
        values = {"w": (self.init(shape, seed=self.seed, dtype=dt), True)}
        if self.bias:
            values["b"] = (initializers.zeros(self.out_channels, dt), True)
        return values

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(f"conv2d layer input must be NCHW (rank 4), got {x.type}")
        self._enter(x)
        return self.activation(fn.conv2d(x, self.w, self.b, self.stride, self.padding))


class BatchNorm(Layer):
    """Batch normalization over every axis but 1 (channels) of [N, C] or [N, C, H, W] inputs.

    Parameters: ``gamma``/``beta`` [C] (trained), ``running_mean``/``running_var`` [C] (not
    trained; updated through the returned updates). Calling returns ``(y, updates)``: with
    ``training=True`` y uses the batch statistics and updates move the running statistics by
    ``momentum`` (PyTorch's convention: running = (1 - momentum) * running + momentum * batch,
    with the unbiased batch variance); with ``training=False`` y uses the running statistics
    and updates is empty. Under mpiexec the statistics are each rank's own by default;
    ``sync=True`` averages them over the ranks (allreduce in the graph, like PyTorch's
    SyncBatchNorm; every rank must hold the same number of rows), so data-parallel training
    normalizes as one process with the global batch would.
    """

    kind = "batch_norm"

    def __init__(self, name: str | None = None, momentum: float = 0.1, eps: float = 1e-5,
                 affine: bool = True, sync: bool = False) -> None:
        super().__init__(name, None)
        self.sync = bool(sync)
        if not 0.0 <= momentum <= 1.0:
            raise GraphcError(f"batch_norm momentum must be in [0, 1], got {momentum}")
        self.momentum, self.eps, self.affine = momentum, eps, affine
        self.gamma: Tensor | None = None
        self.beta: Tensor | None = None

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        c, dt = _static(x, 1, "batch_norm"), x.dtype
        affine = {"gamma": (initializers.ones(c, dt), True),
                  "beta": (initializers.zeros(c, dt), True)} if self.affine else {}
        return affine | {"running_mean": (initializers.zeros(c, dt), False),
                         "running_var": (initializers.ones(c, dt), False)}

    def __call__(self, x: Tensor, training: bool = True) -> tuple[Tensor, Updates]:
        if x.ndim not in (2, 4):
            raise ShapeError(f"batch_norm input must be [N, C] or [N, C, H, W], got {x.type}")
        self._enter(x)
        if x.shape[1] != self.channels:
            raise ShapeError(f"batch_norm {self.name!r} has {self.channels} channels, got {x.type}")
        if training:
            return self._train(x)
        return self._normalize(x, self._per_channel(x, self.running_mean),
                               self._per_channel(x, self.running_var)), []

    @property
    def channels(self) -> int:
        """The number of channels C, fixed at the first call."""
        return self.running_mean.shape[0]

    def _per_channel(self, x: Tensor, v: Tensor) -> Tensor:
        """A [C] vector shaped to broadcast against x ([C] or [C, 1, 1])."""
        return v if x.ndim == 2 else fn.reshape(v, (self.channels, 1, 1))

    def _normalize(self, x: Tensor, mean: Tensor, var: Tensor) -> Tensor:
        y = (x - mean) * fn.rsqrt(var + self.eps)
        if self.affine:
            y = y * self._per_channel(x, self.gamma) + self._per_channel(x, self.beta)
        return y

    def _train(self, x: Tensor) -> tuple[Tensor, Updates]:
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        mean = self._over_ranks(fn.mean(x, axis=axes, keepdims=True))
        var = self._over_ranks(fn.mean(fn.square(x - mean), axis=axes, keepdims=True))
        y = self._normalize(x, mean, var)
        ranks = collective.world_size() if self.sync else 1
        unbiased = fn.reshape(var, (self.channels,)) * _bessel(x, axes, ranks)
        m = self.momentum
        new_mean = (1.0 - m) * self.running_mean + m * fn.reshape(mean, (self.channels,))
        new_var = (1.0 - m) * self.running_var + m * unbiased
        return y, [(self.running_mean, new_mean), (self.running_var, new_var)]

    def _over_ranks(self, stat: Tensor) -> Tensor:
        """A per-rank statistic, averaged over the ranks when synchronized (equal shares: the
        mean of the ranks' means is the global mean)."""
        return fn.allreduce(stat, op="mean") if self.sync else stat

    @property
    def state(self) -> list[Tensor]:
        """The running statistics (save them along with ``params`` for inference)."""
        return [self.running_mean, self.running_var]


def _bessel(x: Tensor, axes: tuple[int, ...], ranks: int = 1) -> Tensor | float:
    """n / (n - 1) for the n elements per channel over ``ranks`` equal shares (a graph value
    when the batch is symbolic)."""
    n = dim_prod(tuple(x.shape[a] for a in axes))
    if is_static(n):
        n = n * ranks
        return n / max(n - 1, 1)
    count = fn.sum(fn.ones_like(x), axis=axes) * float(ranks)  # symbolic batch: count in graph
    return count / fn.maximum(count - 1.0, 1.0)


def dense(x: Tensor, units: int, activation: Activation = None, name: str | None = None,
          init: Init = "glorot_uniform", bias: bool = True,
          seed: int | np.random.Generator | None = None) -> Tensor:
    """activation(x @ w + b), creating ``name.w`` [in, units] and ``name.b`` [units]."""
    return Dense(units, activation, name, init, bias, seed)(x)


def conv2d(x: Tensor, out_channels: int, kernel_size: int | tuple[int, int],
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           activation: Activation = None, name: str | None = None, init: Init = "he_uniform",
           bias: bool = True, seed: int | np.random.Generator | None = None) -> Tensor:
    """A 2-D convolution of NCHW ``x``, creating ``name.w`` (OIHW) and ``name.b`` [out]."""
    layer = Conv2d(out_channels, kernel_size, stride, padding, activation, name, init, bias, seed)
    return layer(x)


def batch_norm(x: Tensor, name: str | None = None, training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5,
               affine: bool = True) -> tuple[Tensor, Updates]:
    """(y, running-stat updates) of a new BatchNorm layer; see BatchNorm for the two forms.

    The inference form made this way starts from fresh running statistics (mean 0, var 1):
    use it for a separate inference graph whose values you then gc.load; to share statistics
    with a training expression in the same graph, call one BatchNorm object twice.
    """
    return BatchNorm(name, momentum, eps, affine)(x, training)


from graphc.frontend.layers import *  # noqa: E402, F403  (transformer-era layers)
from graphc.frontend.layers import __all__ as _layers  # noqa: E402
from graphc.frontend.recurrent import *  # noqa: E402, F403  (RNN, LSTM, GRU)
from graphc.frontend.recurrent import __all__ as _recurrent  # noqa: E402

__all__ = ["BatchNorm", "Conv2d", "Dense", "Layer", "batch_norm", "conv2d", "dense",
           "free_name", "parameter_in", *_layers, *_recurrent]


def __dir__() -> list[str]:
    """dir(gc.nn) lists the layers, not the helpers this module imports."""
    return sorted(__all__)
