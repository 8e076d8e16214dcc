"""W3: the fused elementwise expression sigmoid(x*a+b)*tanh(x) - exp(-(x*x)) + 0.5*a."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import graphc_steps
from benchmarks.harness import BASELINE, GRAPHC, PEER, REFERENCE_COST, System, Workload
from benchmarks.hostinfo import require

SIZE, QUICK_SIZE = 2**24, 2**16
TOL = 1e-5  # absolute: the values are O(1), float32 rounding of the chain is ~1e-7
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def inputs(n: int, seed: int = 2) -> Arrays:
    """x standard normal, a and b uniform in [-1, 1), float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n, dtype=np.float32)
    a, b = (rng.uniform(-1, 1, n).astype(np.float32) for _ in range(2))
    return x, a, b


def reference(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The expression in float64."""
    x, a, b = (v.astype(np.float64) for v in (x, a, b))
    return 1 / (1 + np.exp(-(x * a + b))) * np.tanh(x) - np.exp(-(x * x)) + 0.5 * a


def numpy_expr(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """Plain NumPy, as a user writes it (a temporary per operation)."""
    return lambda: 1 / (1 + np.exp(-(x * a + b))) * np.tanh(x) - np.exp(-(x * x)) + 0.5 * a


NE_EXPR = "one / (one + exp(-(x * a + b))) * tanh(x) - exp(-(x * x)) + half * a"


def numexpr_expr(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """numexpr; the constants are float32 arrays so the result stays float32."""
    ne = require("numexpr")
    env = {"x": x, "a": a, "b": b, "one": np.float32(1), "half": np.float32(0.5)}
    return lambda: ne.evaluate(NE_EXPR, local_dict=env)


def numba_expr(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """numba at its best: @njit(parallel=True, fastmath=True), a prange loop on every thread,
    writing into a preallocated output (as graphc's compiled function reuses its buffers)."""
    numba = require("numba")

    @numba.njit(parallel=True, fastmath=True, cache=False)
    def kernel(x: Any, a: Any, b: Any, out: Any) -> None:
        for i in numba.prange(x.shape[0]):
            xi = x[i]
            s = np.float32(1) / (np.float32(1) + np.exp(-(xi * a[i] + b[i])))
            out[i] = s * np.tanh(xi) - np.exp(-(xi * xi)) + np.float32(0.5) * a[i]

    out = np.empty_like(x)

    def run() -> np.ndarray:
        kernel(x, a, b, out)
        return out

    return run


def jax_expr(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """jax.jit of the expression (XLA fuses it into one loop)."""
    jax = require("jax")
    jnp = jax.numpy
    f = jax.jit(lambda x, a, b: jax.nn.sigmoid(x * a + b) * jnp.tanh(x) - jnp.exp(-(x * x))
                + 0.5 * a)
    args = [jax.device_put(v) for v in (x, a, b)]
    return lambda: f(*args).block_until_ready()


def _torch_fn(torch: Any) -> Callable:
    return lambda x, a, b: torch.sigmoid(x * a + b) * torch.tanh(x) - torch.exp(-(x * x)) + 0.5 * a


def torch_expr(x: np.ndarray, a: np.ndarray, b: np.ndarray, compiled: bool = False) -> Callable:
    """PyTorch eager, or torch.compile of the same function."""
    torch = require("torch")
    f = torch.compile(_torch_fn(torch)) if compiled else _torch_fn(torch)
    args = [torch.from_numpy(v) for v in (x, a, b)]
    return lambda: f(*args)


def floor_numba(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """Read three arrays, write one: a parallel numba loop into a preallocated output."""
    numba = require("numba")

    @numba.njit(parallel=True, fastmath=True)
    def kernel(x: Any, a: Any, b: Any, out: Any) -> None:
        for i in numba.prange(x.shape[0]):
            out[i] = x[i] + a[i] + b[i]

    out = np.empty_like(x)
    return lambda: kernel(x, a, b, out)


def floor_numpy(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> Callable:
    """NumPy's best: two in-place adds (reads 4 arrays, writes 2; an upper bound on the floor)."""
    out = np.empty_like(x)

    def run() -> None:
        np.add(x, a, out=out)
        np.add(out, b, out=out)

    return run


def systems(n: int) -> list[System]:
    """Every contender on ``n`` elements."""
    x, a, b = inputs(n)

    def mk(f: Callable[..., Callable], **kw: Any) -> Callable[[], Callable]:
        return lambda: f(x, a, b, **kw)

    return [
        System("NumPy", BASELINE, mk(numpy_expr)),
        System("graphc numpy", GRAPHC, lambda: graphc_steps.elementwise("numpy", x, a, b)),
        System("graphc llvm", GRAPHC, lambda: graphc_steps.elementwise("llvm", x, a, b)),
        System("numexpr", PEER, mk(numexpr_expr), "ne.evaluate of the whole expression, "
               "its default thread pool"),
        System("numba", PEER, mk(numba_expr),
               "@njit(parallel=True, fastmath=True), prange, preallocated output"),
        System("JAX jit", PEER, mk(jax_expr), "jax.jit, inputs on device once, "
               "block_until_ready"),
        System("PyTorch eager", PEER, mk(torch_expr), "torch.from_numpy inputs, default "
               "intra-op threads"),
        System("torch.compile", PEER, mk(torch_expr, compiled=True), "Inductor, default mode",
               True),
        System("reference cost: numba x+a+b", REFERENCE_COST, mk(floor_numba),
               "read 3, write 1; parallel prange loop, preallocated output"),
        System("reference cost: NumPy 2 adds, out=", REFERENCE_COST, mk(floor_numpy),
               "reads 4, writes 2"),
    ]


def probe(fn: Callable[[], Any]) -> np.ndarray:
    """The output of one call as a NumPy array."""
    return np.asarray(fn())


def compare(got: np.ndarray, ref: np.ndarray) -> str:
    """Largest absolute difference from the float64 reference; the result must be float32."""
    if got.shape != ref.shape or got.dtype != np.float32:
        return f"MISMATCH ({got.dtype}{list(got.shape)})"
    err = float(np.max(np.abs(got.astype(np.float64) - ref)))
    return f"{'ok' if err <= TOL else 'MISMATCH'} ({err:.0e})"


def workloads(quick: bool) -> list[Workload]:
    """A single workload."""
    n = QUICK_SIZE if quick else SIZE
    notes = [f"{n} float32 elements (x, a, b inputs); check = largest absolute difference from a "
             f"float64 NumPy evaluation (ok within {TOL:g})."]
    title = f"W3: sigmoid(x*a+b)*tanh(x) - exp(-(x*x)) + 0.5*a on 2^{n.bit_length() - 1} floats"
    return [Workload(title, systems(n), probe, compare, reference(*inputs(n)), notes, floor(n))]


def floor(n: int) -> Callable[[], tuple[float, str]]:
    """Memory-bound: read x, a, b and write the result once, at the machine's bandwidth."""

    def compute() -> tuple[float, str]:
        from benchmarks.machine import peaks

        p = peaks()
        nbytes = 4.0 * 4 * n
        flops = 30.0 * n  # a generous undercount of the arithmetic (exp, tanh, sigmoid)
        return p.floor(flops, nbytes), (f"{nbytes / 1e6:.0f} MB at {p.bytes / 1e9:.1f} GB/s "
                                        "(lower bound)")

    return compute
