"""Recurrent layers (gc.nn): RNN (tanh/relu), LSTM, GRU, with torch.nn's semantics.

Parameters per layer k, named as torch's state_dict (``<name>.weight_ih_l0`` ...):
``weight_ih_l{k}`` [G*H, I], ``weight_hh_l{k}`` [G*H, H], ``bias_ih_l{k}`` and
``bias_hh_l{k}`` [G*H], initialized U(-1/sqrt(H), 1/sqrt(H)); gates stacked in torch's order
(LSTM i, f, g, o; GRU r, z, n with the reset gate applied to ``W_hn h + b_hn``). Input
[T, B, I] (``batch_first``: [B, T, I]); initial states [L*D, B, H] (zeros if omitted);
``bidirectional``: D = 2, parameters of the reverse direction suffixed ``_reverse``.
A call returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``) as torch does.
``checkpoint=True``: gradients save only the carries per step and recompute the cell.

Each layer is one ``gc.scan``: the input projection of every step is one matmul before the
loop, and the transposed recurrent weight is computed once and captured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend.loop import scan
from graphc.frontend.nn import Layer
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError, ShapeError

__all__ = ["GRU", "LSTM", "RNN"]

Seed = int | np.random.Generator | None
Cell = Callable[..., tuple[Any, Tensor]]


def _rnn_cell(act: Callable[[Tensor], Tensor]) -> Cell:
    def cell(h: Tensor, xp: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
        h = act(xp + h @ w_hh + b_hh)
        return h, h

    return cell


def _lstm_cell(state: tuple[Tensor, Tensor], xp: Tensor, w_hh: Tensor,
               b_hh: Tensor) -> tuple[tuple[Tensor, Tensor], Tensor]:
    h, c = state
    gates = xp + h @ w_hh + b_hh
    i, f, g, o = fn.split(gates, 4, axis=-1)
    c = fn.sigmoid(f) * c + fn.sigmoid(i) * fn.tanh(g)
    h = fn.sigmoid(o) * fn.tanh(c)
    return (h, c), h


def _gru_cell(h: Tensor, xp: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
    xr, xz, xn = fn.split(xp, 3, axis=-1)
    hr, hz, hn = fn.split(h @ w_hh + b_hh, 3, axis=-1)
    r = fn.sigmoid(xr + hr)
    z = fn.sigmoid(xz + hz)
    n = fn.tanh(xn + r * hn)
    h = (1.0 - z) * n + z * h
    return h, h


class _Recurrent(Layer):
    """Shared machinery: parameters per layer, the time-major loop, stacked layers."""

    gates = 1
    states = 1  # LSTM: 2 (h and c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 batch_first: bool = False, name: str | None = None, seed: Seed = None,
                 checkpoint: bool = False, bidirectional: bool = False) -> None:
        super().__init__(name, seed)
        self.checkpoint = checkpoint  # gradients recompute each step from the saved carries
        self.directions = ("", "_reverse") if bidirectional else ("",)
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise GraphcError(f"{self.kind} {what} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.batch_first = num_layers, batch_first

    def cell(self) -> Cell:
        raise NotImplementedError

    def initial_values(self, x: Tensor) -> dict[str, tuple[np.ndarray, bool]]:
        rng = self.seed if isinstance(self.seed, np.random.Generator) else \
            np.random.default_rng(self.seed)
        h, g, dt = self.hidden_size, self.gates * self.hidden_size, x.dtype.np
        k = 1.0 / np.sqrt(h)
        values = {}
        for layer in range(self.num_layers):
            fan_in = self.input_size if layer == 0 else h * len(self.directions)
            for suffix in self.directions:
                for slot, shape in (("weight_ih", (g, fan_in)), ("weight_hh", (g, h)),
                                    ("bias_ih", (g,)), ("bias_hh", (g,))):
                    values[f"{slot}_l{layer}{suffix}"] = \
                        (rng.uniform(-k, k, shape).astype(dt), True)
        return values

    def _check(self, x: Tensor) -> None:
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            order = "[B, T, I]" if self.batch_first else "[T, B, I]"
            raise ShapeError(f"{self.kind} input must be {order} with I = {self.input_size}, "
                             f"got {x.type}")

    def _initial(self, x: Tensor, given: Any, layer: int) -> Any:
        """State row ``layer`` (layer * directions + direction): from ``given`` [L*D, B, H]
        or zeros."""
        if given is None:
            zero = fn.broadcast_to(fn.zeros_like(x[0, :, :1]), (x.shape[1], self.hidden_size))
            return zero if self.states == 1 else (zero, zero)
        parts = (given,) if self.states == 1 else tuple(given)
        picked = tuple(p[layer] for p in parts)
        return picked[0] if self.states == 1 else picked

    def _direction(self, seq: Tensor, init: Any, layer: int, suffix: str) -> tuple[Any, Tensor]:
        """One direction of one layer: (final state, outputs [T, B, H])."""
        p = {s: getattr(self, f"{s}_l{layer}{suffix}") for s in
             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        xp = seq @ fn.transpose(p["weight_ih"]) + p["bias_ih"]  # every step at once
        w_hh, b_hh = fn.transpose(p["weight_hh"]), p["bias_hh"]
        cell = self.cell()
        return scan(lambda c, xt: cell(c, xt, w_hh, b_hh), init, xp,
                    reverse=suffix == "_reverse", checkpoint=self.checkpoint)

    def __call__(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """(output [T, B, D*H] (batch_first: [B, T, D*H]), final state(s) [L*D, B, H]) with
        D = 2 if bidirectional (outputs of both directions concatenated, as torch)."""
        self._enter(x)
        self._check(x)
        seq = fn.transpose(x, (1, 0, 2)) if self.batch_first else x
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self.directions):
                row = layer * len(self.directions) + d
                final, ys = self._direction(seq, self._initial(seq, state, row), layer, suffix)
                finals.append(final)
                outs.append(ys)
            seq = outs[0] if len(outs) == 1 else fn.concat(outs, axis=-1)
        out = fn.transpose(seq, (1, 0, 2)) if self.batch_first else seq
        if self.states == 1:
            return out, fn.stack(finals, axis=0)
        return out, tuple(fn.stack([f[k] for f in finals], axis=0) for k in range(2))


class RNN(_Recurrent):
    """Elman RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""

    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", batch_first: bool = False, name: str | None = None,
                 seed: Seed = None, checkpoint: bool = False, bidirectional: bool = False) -> None:
        super().__init__(input_size, hidden_size, num_layers, batch_first, name, seed,
                         checkpoint, bidirectional)
        acts = {"tanh": fn.tanh, "relu": fn.relu}
        if nonlinearity not in acts:
            raise GraphcError(f"rnn nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.act = acts[nonlinearity]

    def cell(self) -> Cell:
        return _rnn_cell(self.act)


class LSTM(_Recurrent):
    """LSTM with torch's gate order i, f, g, o; returns (output, (h_n, c_n))."""

    kind = "lstm"
    gates, states = 4, 2

    def cell(self) -> Cell:
        return _lstm_cell


class GRU(_Recurrent):
    """GRU with torch's gates r, z, n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    kind = "gru"
    gates = 3

    def cell(self) -> Cell:
        return _gru_cell
