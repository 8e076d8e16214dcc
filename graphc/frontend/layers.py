"""Transformer-era layers (gc.nn): Dropout, LayerNorm, RMSNorm, Embedding, MultiHeadAttention,
TransformerEncoderLayer. Inputs are batch-first [B, T, d_model], as torch's batch_first=True.

Randomness is explicit: a layer that drops values takes ``key`` (a gc.random key, e.g. from
``gc.random.next_key`` on a state parameter) and ``training``; with ``training=False`` (or
dropout 0) it needs no key and is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend import init as initializers
from graphc.frontend import random
from graphc.frontend.nn import Activation, Dense, Layer, _activation, free_name, parameter_in
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError, ShapeError

Seed = int | np.random.Generator | None

__all__ = ["Dropout", "Embedding", "LayerNorm", "MultiHeadAttention", "RMSNorm",
           "TransformerEncoderLayer"]


def _keys(key: Tensor | None, n: int, needed: bool) -> list[Tensor | None]:
    if not needed:
        return [None] * n
    if key is None:
        raise GraphcError("dropout while training needs a random key (key=...)")
    return random.split(key, n)


class Dropout:
    """Inverted dropout with probability ``p`` (gc.dropout); identity when not training."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p < 1.0:
            raise GraphcError(f"dropout p must be in [0, 1), got {p}")
        self.p = p

    def __call__(self, x: Tensor, key: Tensor | None = None, training: bool = True) -> Tensor:
        return fn.dropout(x, self.p, key, training)


class _Norm(Layer):
    """Base of the last-axis normalizations: a [d] weight (and bias)."""

    affine_bias = True

    def __init__(self, eps: float, name: str | None) -> None:
        super().__init__(name, None)
        self.eps = eps

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        d = x.shape[-1]
        if not isinstance(d, int):
            raise ShapeError(f"{self.kind} needs a static last axis, got {x.type}")
        values = {"weight": (initializers.ones(d, x.dtype), True)}
        if self.affine_bias:
            values["bias"] = (initializers.zeros(d, x.dtype), True)
        return values


class LayerNorm(_Norm):
    """gc.layer_norm over the last axis with a learned weight (ones) and bias (zeros)."""

    kind = "layer_norm"

    def __init__(self, eps: float = 1e-5, name: str | None = None) -> None:
        super().__init__(eps, name)

    def __call__(self, x: Tensor) -> Tensor:
        self._enter(x)
        return fn.layer_norm(x, self.weight, self.bias, self.eps)


class RMSNorm(_Norm):
    """gc.rms_norm over the last axis with a learned weight (ones)."""

    kind = "rms_norm"
    affine_bias = False

    def __init__(self, eps: float = 1e-6, name: str | None = None) -> None:
        super().__init__(eps, name)

    def __call__(self, x: Tensor) -> Tensor:
        self._enter(x)
        return fn.rms_norm(x, self.weight, self.eps)


class Embedding(Layer):
    """Rows of a [num, dim] table (init N(0, 1) as torch) at integer indices; its gradient
    is a scatter-add into the rows used."""

    kind = "embedding"

    def __init__(self, num: int, dim: int, name: str | None = None, seed: Seed = None) -> None:
        super().__init__(name, seed)
        if not all(isinstance(v, int) and v > 0 for v in (num, dim)):
            raise GraphcError(f"embedding sizes must be positive ints, got {num!r}, {dim!r}")
        self.num, self.dim = num, dim
        self.weight: Tensor | None = None

    def __call__(self, indices: Tensor) -> Tensor:
        if not isinstance(indices, Tensor) or not indices.dtype.is_int:
            raise GraphcError(f"embedding input must be an integer Tensor, got {indices!r}")
        if self.graph is None:
            self.name = self.name or free_name(indices.graph, self.kind)
            table = initializers.normal((self.num, self.dim), seed=self.seed)
            self.weight = parameter_in(indices.graph, f"{self.name}.weight", table)
            self.params, self.graph = [self.weight], indices.graph
        return fn.take(self.weight, indices, axis=0)


class _Composite:
    """A layer made of named sub-layers, created at the first call in the input's graph."""

    kind = "block"

    def __init__(self, name: str | None, seed: Seed) -> None:
        self.name, self.seed = name, seed
        self.layers: dict[str, Any] = {}

    def _build(self, x: Tensor) -> None:
        if not self.layers:
            self.name = self.name or free_name(x.graph, self.kind)
            self.layers = self.make()

    def make(self) -> dict[str, Any]:
        """slot -> sub-layer (named ``<name>.<slot>``)."""
        raise NotImplementedError

    def _seed(self, i: int) -> Seed:
        return None if self.seed is None else (self.seed * 1000 + i if isinstance(self.seed, int)
                                               else self.seed)

    @property
    def params(self) -> list[Tensor]:
        """Every trainable parameter of the sub-layers."""
        return [p for layer in self.layers.values() for p in layer.params]


class MultiHeadAttention(_Composite):
    """Self- or cross-attention with ``n_heads`` heads over [B, T, d_model] inputs.

    Parameters ``q``, ``k``, ``v``, ``out`` are Dense layers (weights [d_model, d_model] used
    as x @ w, i.e. torch's in_proj_weight slices transposed). ``mask`` follows
    gc.scaled_dot_product_attention (bool True = attend, or additive float).
    """

    kind = "mha"

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True,
                 name: str | None = None, seed: Seed = None) -> None:
        super().__init__(name, seed)
        if d_model % n_heads:
            raise GraphcError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.d_model, self.n_heads, self.dropout, self.bias = d_model, n_heads, dropout, bias

    def make(self) -> dict[str, Any]:
        return {s: Dense(self.d_model, name=f"{self.name}.{s}", bias=self.bias,
                         seed=self._seed(i)) for i, s in enumerate(("q", "k", "v", "out"))}

    def _heads(self, x: Tensor) -> Tensor:
        b, t = x.shape[0], x.shape[1]
        x = fn.reshape(x, (b, t, self.n_heads, self.d_model // self.n_heads))
        return fn.transpose(x, (0, 2, 1, 3))

    def __call__(self, x: Tensor, kv: Tensor | None = None, mask: Any = None,
                 causal: bool = False, key: Tensor | None = None,
                 training: bool = True) -> Tensor:
        if x.ndim != 3:
            raise ShapeError(f"attention input must be [B, T, d_model], got {x.type}")
        self._build(x)
        kv = x if kv is None else kv
        q, k, v = (self._heads(self.layers[s](src)) for s, src in (("q", x), ("k", kv), ("v", kv)))
        h = fn.scaled_dot_product_attention(q, k, v, mask, causal, self.dropout, key,
                                            training=training)
        h = fn.reshape(fn.transpose(h, (0, 2, 1, 3)), (x.shape[0], x.shape[1], self.d_model))
        return self.layers["out"](h)


class TransformerEncoderLayer(_Composite):
    """torch.nn.TransformerEncoderLayer (batch_first=True): self-attention and a feed-forward
    block, each with dropout and a residual; ``norm_first`` puts LayerNorm before each block
    (pre-norm) instead of after the residual."""

    kind = "encoder"

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Activation = "gelu", norm_first: bool = True,
                 eps: float = 1e-5, name: str | None = None, seed: Seed = None) -> None:
        super().__init__(name, seed)
        self.d_model, self.n_heads, self.dim_feedforward = d_model, n_heads, dim_feedforward
        self.dropout, self.norm_first, self.eps = dropout, norm_first, eps
        self.activation = _activation(activation)

    def make(self) -> dict[str, Any]:
        n = self.name
        return {
            "attn": MultiHeadAttention(self.d_model, self.n_heads, self.dropout, name=f"{n}.attn",
                                       seed=self._seed(0)),
            "ff1": Dense(self.dim_feedforward, name=f"{n}.ff1", seed=self._seed(1)),
            "ff2": Dense(self.d_model, name=f"{n}.ff2", seed=self._seed(2)),
            "norm1": LayerNorm(self.eps, name=f"{n}.norm1"),
            "norm2": LayerNorm(self.eps, name=f"{n}.norm2"),
        }

    def __call__(self, x: Tensor, mask: Any = None, causal: bool = False,
                 key: Tensor | None = None, training: bool = True) -> Tensor:
        self._build(x)
        L = self.layers  # noqa: N806
        k_attn, k_ff, k_1, k_2 = _keys(key, 4, training and self.dropout > 0)

        def attn(h: Tensor) -> Tensor:
            h = L["attn"](h, mask=mask, causal=causal, key=k_attn, training=training)
            return fn.dropout(h, self.dropout, k_1, training)

        def ff(h: Tensor) -> Tensor:
            h = fn.dropout(self.activation(L["ff1"](h)), self.dropout, k_ff, training)
            return fn.dropout(L["ff2"](h), self.dropout, k_2, training)

        if self.norm_first:
            x = x + attn(L["norm1"](x))
            return x + ff(L["norm2"](x))
        x = L["norm1"](x + attn(x))
        return L["norm2"](x + ff(x))
