"""Data parallel over MPI: 2 ranks with 64 rows each match 1 process with 128, and a failing
rank stops the job (both backends, 20 SGD steps; runs mpiexec, ~20 s per launch)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.distributed.launch import run, run_alone

WORKER = "tests.distributed.dp_worker"


def _check(done) -> None:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


MLP = ["fc1.b", "fc1.w", "fc2.b", "fc2.w", "losses"]
BN = ["bn.beta", "bn.gamma", "bn.running_mean", "bn.running_var"]


@pytest.mark.parametrize(("backend", "extra", "names"), [
    ("numpy", [], MLP), ("llvm", [], MLP), ("llvm", ["--bn"], sorted(set(MLP + BN) - {"fc1.b"})),
])
def test_two_ranks_match_one_process(tmp_path, backend, extra, names) -> None:
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    _check(run_alone(WORKER, str(one), "--backend", backend, *extra))
    _check(run(2, WORKER, str(two), "--backend", backend, *extra))
    a, b = np.load(one), np.load(two)
    assert sorted(a.files) == sorted(b.files) == names
    assert a["losses"].shape == (20,) and a["losses"][-1] < a["losses"][0]
    for name in a.files:
        # 1e-6 relative to the tensor's scale: a sum split over ranks rounds differently, so
        # elements near 0 carry float32 rounding of the tensor's magnitude
        scale = float(np.max(np.abs(a[name])))
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-6 * scale,
                                   err_msg=name)


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_failing_rank_stops_the_others(tmp_path, how) -> None:
    ckpt = tmp_path / "ckpt.npz"
    extra = ["--kill"] if how == "kill" else []
    t0 = time.perf_counter()
    done = run(2, WORKER, str(ckpt), "--fail-at", "4", *extra, timeout=240)
    assert done.returncode != 0
    assert time.perf_counter() - t0 < 240  # no hang (run's timeout would raise anyway)
    if how == "raise":
        assert "failing on purpose" in done.stderr and "aborting every rank" in done.stderr
    # the checkpoint of step 2 is whole, and no temporary file of a save is left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    assert sorted(np.load(ckpt).files) == ["fc1.b", "fc1.w", "fc2.b", "fc2.w"]


@pytest.mark.parametrize(("backend", "op"), [
    ("numpy", "allreduce"), ("llvm", "allreduce"), ("numpy", "barrier"),
])
def test_hung_rank_times_out_with_the_op_and_rank(monkeypatch, backend, op) -> None:
    # rank 1 sleeps forever: without GRAPHC_MPI_TIMEOUT rank 0 would wait in its collective
    # until run's timeout raises TimeoutExpired
    monkeypatch.setenv("GRAPHC_MPI_TIMEOUT", "2")
    done = run(2, "tests.distributed.hang_worker", "--backend", backend, "--op", op,
               timeout=120)
    assert done.returncode != 0
    assert f"returned from the {op}" not in done.stdout
    assert (f"DistributedError: {op} on rank 0 of 2 waited more than 2 s "
            "(GRAPHC_MPI_TIMEOUT)") in done.stderr, done.stderr
