"""gc.random: JAX-identical bits, numpy vs llvm bit equality, distributions, keys as state."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc as gc

N = 20000


def _draws(backend: str, kd: np.ndarray, n: int = 5):
    with gc.Graph("draws"):
        x = gc.placeholder("x", ("B",))
        k = gc.placeholder("k", (2,), "int32")
        outs = [gc.random.bits(k, ("B", 3)), gc.random.uniform(k, (3, "B")),
                gc.random.uniform(k, ("B",), "float64", -2.0, 5.0),
                gc.random.bernoulli(k, 0.25, ("B", 2)), gc.random.normal(k, ("B",))]
        return gc.function([x, k], outs, backend=backend)(np.zeros(n, np.float32), kd)


def test_bits_and_uniform_equal_jax() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_threefry_partitionable", True)
    jk = jax.random.PRNGKey(2026)
    kd = np.asarray(jax.random.key_data(jk)).astype(np.uint32).view(np.int32)
    np.testing.assert_array_equal(kd, gc.random.key_data(2026))
    with gc.Graph("jax"):
        k = gc.placeholder("k", (2,), "int32")
        f = gc.function([k], [gc.random.bits(k, (6, 7)), gc.random.uniform(k, (50,))])
    bits, u = f(kd)
    want_bits = np.asarray(jax.random.bits(jk, (6, 7), jax.numpy.uint32)).view(np.int32)
    np.testing.assert_array_equal(bits, want_bits)
    np.testing.assert_array_equal(u, np.asarray(jax.random.uniform(jk, (50,))))


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
def test_llvm_gives_the_same_bits(seed: int) -> None:
    kd = gc.random.key_data(seed)
    ref, got = _draws("numpy", kd, 37), _draws("llvm", kd, 37)
    for r, g in zip(ref[:4], got[:4], strict=True):
        assert r.dtype == g.dtype
        np.testing.assert_array_equal(r, g)
    # normal goes through log/cos, which each backend evaluates with its own math library
    np.testing.assert_allclose(ref[4], got[4], rtol=1e-5, atol=1e-5)


def _ks(sample: np.ndarray, cdf) -> float:
    """The Kolmogorov-Smirnov statistic of ``sample`` against ``cdf``."""
    x = np.sort(sample.astype(np.float64))
    f = cdf(x)
    n = len(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


KS_1PCT = 1.63  # the 1% critical value of sqrt(n) * D


def _sample(fn, seed: int) -> np.ndarray:
    with gc.Graph("s"):
        return gc.function([], fn(gc.random.key(seed)), passes=[])()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uniform_distribution(seed: int) -> None:
    u = _sample(lambda k: gc.random.uniform(k, (N,), low=-1.0, high=3.0), seed)
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 4 * math.sqrt(16 / 12 / N)
    assert abs(u.var() - 16 / 12) < 0.05
    assert math.sqrt(N) * _ks(u, lambda x: (x + 1) / 4) < KS_1PCT


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_normal_distribution(seed: int) -> None:
    z = _sample(lambda k: gc.random.normal(k, (N,), "float64"), seed)
    assert abs(z.mean()) < 4 / math.sqrt(N)
    assert abs(z.var() - 1) < 0.05
    phi = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))
    assert math.sqrt(N) * _ks(z, phi) < KS_1PCT


def test_bernoulli_rate() -> None:
    b = _sample(lambda k: gc.random.bernoulli(k, 0.3, (N,)), 5)
    assert b.dtype == np.bool_
    assert abs(b.mean() - 0.3) < 4 * math.sqrt(0.21 / N)


def test_split_keys_give_independent_streams() -> None:
    def streams(k):
        keys = gc.random.split(k, 3)
        return [gc.random.uniform(s, (N,)) for s in [k, *keys]]

    us = _sample(streams, 11)
    corr = np.corrcoef(np.stack(us))
    off = corr[~np.eye(len(us), dtype=bool)]
    assert np.abs(off).max() < 4 / math.sqrt(N)
    # independent uniforms: the difference of two is triangular on (-1, 1)
    d = us[1] - us[2]
    tri = lambda x: np.where(x < 0, (x + 1) ** 2 / 2, 1 - (1 - x) ** 2 / 2)  # noqa: E731
    assert math.sqrt(N) * _ks(d, tri) < KS_1PCT


def _noisy_step(seed: int, backend: str):
    """A step whose output is fresh noise each call; its key is a parameter."""
    g = gc.Graph("noisy")
    with g:
        x = gc.placeholder("x", ("B",))
        rng = gc.random.state("rng", seed)
        sub, update = gc.random.next_key(rng)
        y = x + gc.random.normal(sub, ("B",))
        return rng, gc.function([x], y, updates=[update], backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_checkpoint_resume_continues_the_stream(tmp_path, backend: str) -> None:
    x = np.zeros(4, np.float32)
    rng, step = _noisy_step(3, backend)
    first = [step(x) for _ in range(3)]
    assert not np.array_equal(first[0], first[1])  # the key advanced
    gc.save(tmp_path / "ckpt.npz", [rng])
    later = [step(x) for _ in range(2)]
    rng2, step2 = _noisy_step(99, backend)
    gc.load(tmp_path / "ckpt.npz", [rng2])
    resumed = [step2(x) for _ in range(2)]
    for a, b in zip(later, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_key_and_seed() -> None:
    with gc.Graph("bad"):
        with pytest.raises(gc.ShapeError, match="i32\\[2\\]"):
            gc.random.uniform(gc.constant(np.zeros(3, np.int32)), (2,))
        with pytest.raises(gc.GraphcError, match="seed"):
            gc.random.key(1.5)
        with pytest.raises(gc.GraphcError, match="next_key"):
            gc.random.next_key(gc.random.key(0))
