"""Differential fuzzing: random graphs and gradients on three configurations.

Each graph runs on the numpy backend with no passes (the reference), on numpy with the
default pipeline, and on llvm with the default pipeline, twice (a graph may update one
parameter by a gradient step, which the second call sees). Results agree when, per output,
``max|got - ref| <= TOL_EPS * eps(dtype) * max(1, max|ref|)`` (ulps of the output's scale:
fused and reassociated code rounds differently, it must not differ by more).
"""

from __future__ import annotations

import time

import numpy as np

import graphc as gc
from reliability.figures import Figures
from reliability.randgraph import RandomGraph, random_graph

TOL_EPS = 1024  # in units of the dtype's machine epsilon, scaled by the output's magnitude
CONFIGS = {"numpy+passes": ("numpy", None), "llvm": ("llvm", None)}
DTYPES = ("float32", "float64")


def error_eps(got: np.ndarray, ref: np.ndarray) -> float:
    """The difference in epsilons of ref's scale; inf for a shape/dtype/non-finite mismatch."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return float("inf")
    if got.size == 0:
        return 0.0
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        return float("inf")
    finite = np.isfinite(ref)
    if not np.array_equal(got[~finite], ref[~finite]):  # inf where ref has that same inf
        return float("inf")
    if not finite.any() or ref.dtype.kind not in "f":
        return 0.0 if np.array_equal(got[finite], ref[finite]) else float("inf")
    diff = np.abs(got[finite].astype(np.float64) - ref[finite].astype(np.float64))
    scale = max(1.0, float(np.abs(ref[finite]).max()))
    return float(diff.max() / (np.finfo(ref.dtype).eps * scale))


def run_config(case: RandomGraph, backend: str, passes: object) -> list[np.ndarray]:
    """Two calls' outputs and the updated parameter after each (the second call sees the
    first one's update)."""
    case.reset()
    f = gc.function(case.inputs, case.outputs, case.updates, backend=backend, passes=passes)
    got = []
    for _ in range(2):
        got += [np.asarray(r) for r in f(*[x.copy() for x in case.feeds])]
        got += [p.value.copy() for p, _ in case.updates]
    return got


def check_graph(index: int, seed: int, dtype: str, figs: Figures) -> None:
    """Build graph ``index`` of the run, run every configuration, count what differs."""
    label = f"graph seed={seed} {dtype}"
    try:
        case = random_graph(seed, dtype)
    except Exception as e:  # noqa: BLE001  (the API refused, or the generator failed)
        figs.details["rejected"] = int(figs.details.get("rejected", 0)) + 1
        figs.fail(f"{label}: build rejected: {type(e).__name__}: {e}")
        return
    try:
        ref = run_config(case, "numpy", [])
    except Exception as e:  # noqa: BLE001  (any exception is a finding)
        return _crash(figs, f"{label} numpy passes=[] {case.steps}", e)
    if not all(np.isfinite(r).all() for r in ref if r.dtype.kind == "f"):
        figs.details["non-finite refs"] = int(figs.details.get("non-finite refs", 0)) + 1
    for name, (backend, passes) in CONFIGS.items():
        try:
            got = run_config(case, backend, passes)
        except Exception as e:  # noqa: BLE001
            _crash(figs, f"{label} {name} {case.steps}", e)
            continue
        errs = [error_eps(g, r) for g, r in zip(got, ref, strict=True)]
        worst = max(errs)
        key = f"worst eps {dtype}"
        figs.details[key] = max(float(figs.details.get(key, 0.0)), worst)
        if worst > TOL_EPS:
            out = int(np.argmax(errs))
            figs.details["mismatches"] = int(figs.details.get("mismatches", 0)) + 1
            figs.fail(f"{label} {name}: output {out} differs by {worst:.3g} eps {case.steps}")


def _crash(figs: Figures, label: str, e: BaseException) -> None:
    figs.details["crashes"] = int(figs.details.get("crashes", 0)) + 1
    figs.fail(f"{label}: {type(e).__name__}: {e}")


def run(seed: int, count: int | None = None) -> Figures:
    """``count`` graphs (default 2000), float32 and float64 in turn."""
    count = 2000 if count is None else count
    figs = Figures("fuzz", "random graphs + gradients, half f32, half f64: numpy passes=[] vs "
                   f"numpy default pipeline vs llvm, 2 calls; tol {TOL_EPS} eps x max(1,|ref|)",
                   seed=seed)
    figs.details = {"f32": (count + 1) // 2, "f64": count // 2, "mismatches": 0, "crashes": 0}
    start = time.perf_counter()
    seeds = np.random.default_rng(seed).integers(0, 2**31, count)
    for i, s in enumerate(seeds):
        check_graph(i, int(s), DTYPES[i % len(DTYPES)], figs)
    figs.cases = count
    figs.seconds = time.perf_counter() - start
    return figs
