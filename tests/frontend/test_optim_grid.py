"""gc.optim over the whole grid of options against torch.optim's update rules (float64).

Every combination of every option each optimizer has (momentum with and without dampening or
Nesterov, weight decay with and without momentum, AdamW with amsgrad, centered RMSprop...)
runs 8 steps on the same quadratic in graphc, in the update formulas written out here in NumPy
(as torch.optim documents them) and, where torch is installed, in torch.optim itself; the
parameters must agree after each step. Each
option also must matter: a grid point that differs from its neighbour only in one option must
give different parameters somewhere in the grid (so an option silently dropped fails).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphc as gc
from graphc.frontend import optim

A = np.array([1.0, 0.5, 2.0, 3.0, 0.25])
C = np.array([0.3, -1.0, 2.0, 0.5, -0.2])
W0 = np.array([1.0, 1.0, -1.0, 0.0, 2.0])
STEPS = 8


def _grid(**axes: list) -> list[dict]:
    keys = list(axes)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes.values())]


def _sgd_ok(kw: dict) -> bool:
    if kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
        return False
    return kw["momentum"] > 0 or kw["dampening"] == 0


# (graphc class, torch class, option grid); lr is part of every point
GRIDS = {
    "SGD": (optim.SGD, "SGD", [kw for kw in _grid(
        lr=[0.05], momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
        weight_decay=[0.0, 0.1]) if _sgd_ok(kw)]),
    "AdaGrad": (optim.AdaGrad, "Adagrad", _grid(
        lr=[0.3], lr_decay=[0.0, 0.2], weight_decay=[0.0, 0.05],
        initial_accumulator_value=[0.0, 0.1], eps=[1e-10, 0.1])),
    "RMSprop": (optim.RMSprop, "RMSprop", _grid(
        lr=[0.01], alpha=[0.99, 0.8], eps=[1e-8, 0.1], weight_decay=[0.0, 0.1],
        momentum=[0.0, 0.5], centered=[False, True])),
    "Adam": (optim.Adam, "Adam", _grid(
        lr=[0.05], betas=[(0.9, 0.999), (0.8, 0.9)], eps=[1e-8, 0.1], weight_decay=[0.0, 0.1],
        amsgrad=[False, True])),
    "AdamW": (optim.AdamW, "AdamW", _grid(
        lr=[0.05], betas=[(0.9, 0.999), (0.8, 0.9)], eps=[1e-8, 0.1], weight_decay=[0.0, 0.1],
        amsgrad=[False, True])),
}
POINTS = [(name, kw) for name, (_, _, grid) in GRIDS.items() for kw in grid]


def _id(point: tuple[str, dict]) -> str:
    name, kw = point
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items() if k != "lr")


_RUNS: dict[str, list[np.ndarray]] = {}


def run_graphc(name: str, kw: dict) -> list[np.ndarray]:
    key = _id((name, kw))
    if key not in _RUNS:
        _RUNS[key] = _run_graphc(name, kw)
    return _RUNS[key]


def _run_graphc(name: str, kw: dict) -> list[np.ndarray]:
    with gc.Graph("quadratic"):
        w = gc.parameter("w", W0.copy())
        x = gc.placeholder("x", (), "float64")  # a dummy input: the step reads parameters only
        g = gc.constant(A) * (w - gc.constant(C)) + x
        opt = GRIDS[name][0]([w], **kw)
        step = gc.function([x], [g], updates=opt.updates(grads=[g]))
    seen = []
    for _ in range(STEPS):
        step(np.zeros(()))
        seen.append(w.value.copy())
    return seen


def _sgd(kw: dict, w, g, t, st) -> np.ndarray:
    mu, damp = kw["momentum"], kw["dampening"]
    if mu:
        st["b"] = g if t == 1 else mu * st["b"] + (1 - damp) * g
        g = g + mu * st["b"] if kw["nesterov"] else st["b"]
    return w - kw["lr"] * g


def _adagrad(kw: dict, w, g, t, st) -> np.ndarray:
    st.setdefault("s", np.full_like(w, kw["initial_accumulator_value"]))
    st["s"] = st["s"] + g * g
    clr = kw["lr"] / (1 + (t - 1) * kw["lr_decay"])
    return w - clr * g / (np.sqrt(st["s"]) + kw["eps"])


def _rmsprop(kw: dict, w, g, t, st) -> np.ndarray:
    a = kw["alpha"]
    st["v"] = a * st.get("v", 0.0) + (1 - a) * g * g
    avg = st["v"]
    if kw["centered"]:
        st["ga"] = a * st.get("ga", 0.0) + (1 - a) * g
        avg = avg - st["ga"] ** 2
    step = g / (np.sqrt(avg) + kw["eps"])
    if kw["momentum"] > 0:
        st["b"] = step = kw["momentum"] * st.get("b", 0.0) + step
    return w - kw["lr"] * step


def _adam(kw: dict, w, g, t, st) -> np.ndarray:
    b1, b2 = kw["betas"]
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = v = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    if kw["amsgrad"]:
        st["vmax"] = v = np.maximum(st.get("vmax", 0.0), v)
    m_hat, v_hat = st["m"] / (1 - b1**t), v / (1 - b2**t)
    return w - kw["lr"] * m_hat / (np.sqrt(v_hat) + kw["eps"])


# name -> (update, weight decay coupled into the gradient (L2) or decoupled (AdamW))
FORMULAS = {"SGD": (_sgd, True), "AdaGrad": (_adagrad, True), "RMSprop": (_rmsprop, True),
            "Adam": (_adam, True), "AdamW": (_adam, False)}


def run_formula(name: str, kw: dict) -> list[np.ndarray]:
    update, coupled = FORMULAS[name]
    w, st, seen = W0.copy(), {}, []
    for t in range(1, STEPS + 1):
        g = A * (w - C)
        if coupled:
            g = g + kw["weight_decay"] * w
        else:
            w = w - kw["lr"] * kw["weight_decay"] * w
        w = update(kw, w, g, t, st)
        seen.append(w)
    return seen


def run_torch(name: str, kw: dict) -> list[np.ndarray]:
    torch = pytest.importorskip("torch", reason="torch.optim itself (the formulas always run)")
    w = torch.tensor(W0.copy(), dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, GRIDS[name][1])([w], **kw)
    a, c = torch.tensor(A), torch.tensor(C)
    seen = []
    for _ in range(STEPS):
        opt.zero_grad()
        (0.5 * torch.sum(a * (w - c) ** 2)).backward()
        opt.step()
        seen.append(w.detach().numpy().copy())
    return seen


@pytest.mark.parametrize("point", POINTS, ids=_id)
def test_matches_the_formulas(point: tuple[str, dict]) -> None:
    name, kw = point
    for step, (g, r) in enumerate(zip(run_graphc(name, kw), run_formula(name, kw), strict=True)):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("point", POINTS, ids=_id)
def test_matches_torch_optim(point: tuple[str, dict]) -> None:
    name, kw = point
    for step, (g, t) in enumerate(zip(run_graphc(name, kw), run_torch(name, kw), strict=True)):
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_every_option_changes_the_trajectory(name: str) -> None:
    """Each option, changed alone, changes the parameters at some point of the grid."""
    grid = GRIDS[name][2]
    finals = [run_graphc(name, kw)[-1] for kw in grid]
    varied = {k for kw in grid for k in kw if len({str(p[k]) for p in grid}) > 1}
    matters = set()
    for (i, a), (j, b) in itertools.combinations(enumerate(grid), 2):
        diff = [k for k in a if a[k] != b[k]]
        if len(diff) == 1 and not np.allclose(finals[i], finals[j], rtol=1e-12, atol=1e-14):
            matters.add(diff[0])
    assert matters == varied, f"{name}: options that never change anything: {varied - matters}"


# options just outside their documented ranges (momentum and betas in [0, 1), dampening and
# alpha in [0, 1], the rest >= 0), and just inside
OUT_OF_RANGE = [
    ("SGD", {"momentum": 1.0}), ("SGD", {"momentum": -0.1}), ("SGD", {"weight_decay": -0.1}),
    ("SGD", {"momentum": 0.5, "dampening": 1.01}), ("SGD", {"lr": -0.1}),
    ("AdaGrad", {"lr_decay": -0.1}), ("AdaGrad", {"eps": -1e-9}),
    ("AdaGrad", {"initial_accumulator_value": -0.1}), ("AdaGrad", {"weight_decay": -0.1}),
    ("RMSprop", {"momentum": 1.0}), ("RMSprop", {"alpha": 1.01}), ("RMSprop", {"eps": -1e-9}),
    ("RMSprop", {"weight_decay": -0.1}),
    ("Adam", {"betas": (1.0, 0.999)}), ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"eps": -1.0}),
    ("Adam", {"weight_decay": -0.1}), ("AdamW", {"betas": (0.9, 1.5)}),
]
IN_RANGE = [
    ("SGD", {"momentum": 0.99, "dampening": 1.0}), ("RMSprop", {"alpha": 1.0, "momentum": 0.99}),
    ("Adam", {"betas": (0.0, 0.999)}), ("AdaGrad", {"lr_decay": 0.0, "eps": 0.0}),
]


@pytest.mark.parametrize(("name", "kw"), OUT_OF_RANGE, ids=[_id(p) for p in OUT_OF_RANGE])
def test_option_out_of_range_raises(name: str, kw: dict) -> None:
    with gc.Graph("range"):
        w = gc.parameter("w", W0.copy())
        with pytest.raises(gc.GraphcError, match="must be in"):
            GRIDS[name][0]([w], **{"lr": 0.1, **kw})


@pytest.mark.parametrize(("name", "kw"), IN_RANGE, ids=[_id(p) for p in IN_RANGE])
def test_option_at_the_edge_of_its_range_is_accepted(name: str, kw: dict) -> None:
    with gc.Graph("range"):
        w = gc.parameter("w", W0.copy())
        GRIDS[name][0]([w], **{"lr": 0.1, **kw})
