"""gc.scaled_dot_product_attention, with torch.nn.functional's semantics and [..., T, D] layout."""

from __future__ import annotations

import math
from typing import Any

from graphc.frontend import functional as fn
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError, ShapeError

__all__ = ["scaled_dot_product_attention"]


def _swap_last(x: Tensor) -> Tensor:
    r = x.ndim
    return fn.transpose(x, (*range(r - 2), r - 1, r - 2))


def _masked(scores: Tensor, mask: Any) -> Tensor:
    """A bool mask keeps the True positions (others get -inf); a float mask is added."""
    if not isinstance(mask, Tensor):
        raise GraphcError(f"attention mask must be a Tensor, got {mask!r}")
    if mask.dtype.is_bool:
        return fn.where(mask, scores, float("-inf"))
    if mask.dtype != scores.dtype:
        raise GraphcError(f"a float attention mask must be {scores.dtype}, got {mask.type}")
    return scores + mask


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Any = None, causal: bool = False,
    dropout_p: float = 0.0, key: Tensor | None = None, scale: float | None = None,
    training: bool = True,
) -> Tensor:
    """softmax(q @ k^T * scale + mask) @ v over [..., T, D] operands (batch dims broadcast).

    ``mask``: bool (True = attend) or float (added to the scores), broadcast to [..., Tq, Tk];
    ``causal``: query i attends to keys j <= i; ``dropout_p`` drops attention weights (needs
    ``key`` while training). ``scale`` defaults to 1 / sqrt(D). As in torch, a query row with
    every key masked gives NaN.
    """
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"attention operands need rank >= 2 ([..., T, D]), got {q.type}, "
                         f"{k.type}, {v.type}")
    d = q.shape[-1]
    if scale is None:
        if not isinstance(d, int):
            raise ShapeError(f"attention needs a static head size, got {q.type}")
        scale = 1.0 / math.sqrt(d)
    scores = fn.matmul(q, _swap_last(k)) * scale
    if causal:
        scores = fn.where(fn.causal_mask(q.shape[-2], k.shape[-2]), scores, float("-inf"))
    if mask is not None:
        scores = _masked(scores, mask)
    weights = fn.softmax(scores, axis=-1)
    if dropout_p and training:
        weights = fn.dropout(weights, dropout_p, key)
    return fn.matmul(weights, v)
