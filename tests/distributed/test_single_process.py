"""graphc.distributed in one process: collectives in the IR, dropped by canonicalize, the
identity; the missing-extra error; batch shares and gradient buckets."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphc as gc
from graphc import distributed as dist
from graphc.frontend import parallel
from graphc.ops import collective
from graphc.passes import PassManager


def _graph():
    with gc.Graph("c") as g:
        x = gc.placeholder("x", (4,))
        y = gc.broadcast(gc.allreduce(x * 2.0, op="mean"), root=0)
    return g, x, y


def test_collectives_show_in_the_ir_and_canonicalize_drops_them() -> None:
    _, x, y = _graph()
    f = gc.function([x], y)
    built = gc.print_ir(x.graph)
    assert 'allreduce %1 {op = "mean"}' in built and "broadcast %2" in built
    assert "allreduce" not in f.ir() and "broadcast" not in f.ir()
    np.testing.assert_array_equal(f(np.arange(4, dtype=np.float32)), np.arange(4) * 2.0)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_without_passes_they_run_as_the_identity(backend) -> None:
    _, x, y = _graph()
    f = gc.function([x], y, passes=[], backend=backend)
    assert "allreduce" in f.ir()
    np.testing.assert_array_equal(f(np.arange(4, dtype=np.float32)), np.arange(4) * 2.0)


def test_fold_never_runs_a_collective() -> None:
    with gc.Graph("k") as g:
        c = gc.allreduce(gc.constant(np.ones(3, np.float32)))
    out = PassManager("fold").run(_with_output(g, c))
    assert any(n.op.collective for n in out.nodes)


def _with_output(g, t):
    g.outputs = [t.ir]
    return g


def test_world_of_one_process() -> None:
    assert (dist.rank(), dist.size(), dist.is_root()) == (0, 1, True)
    dist.barrier()  # nothing to wait for
    arr = np.arange(3.0)
    assert dist.broadcast_array(arr) is arr


def test_missing_mpi4py_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    monkeypatch.setitem(collective._STATE, "comm", None)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # as if started by mpiexec
    with pytest.raises(gc.DistributedError, match=r"graphc\[mpi\]"):
        dist.size()
    with pytest.raises(gc.DistributedError, match=r"graphc\[mpi\]"):
        dist.init()


@pytest.mark.parametrize(("attrs", "dtype", "error"), [
    ({"op": "prod"}, "float32", gc.GraphcError),
    ({"op": "mean"}, "int32", gc.DTypeError),
    ({}, "bool", gc.DTypeError),
])
def test_bad_allreduce(attrs, dtype, error) -> None:
    with gc.Graph("b"):
        x = gc.placeholder("x", (2,), dtype)
        with pytest.raises(error):
            gc.allreduce(x, **attrs)


def test_broadcast_and_max_have_no_gradient() -> None:
    with gc.Graph("g"):
        w = gc.parameter("w", np.ones(3, np.float32))
        with pytest.raises(gc.GradError, match="broadcast"):
            gc.grad(gc.sum(gc.broadcast(w)), [w])
        with pytest.raises(gc.GradError, match="max"):
            gc.grad(gc.sum(gc.allreduce(w, op="max")), [w])
        (g,) = gc.grad(gc.sum(gc.allreduce(w * 3.0)), [w])
        np.testing.assert_array_equal(gc.function([], g)(), np.full(3, 3.0))


def test_shares_are_disjoint_and_cover_each_global_batch() -> None:
    x, y = np.arange(53)[:, None], np.arange(53)  # 4 batches of 12, then 5 rows
    whole = list(gc.data.batches(x, y, 12, seed=3))
    shares = [list(gc.data.batches(x, y, 12, seed=3, rank=r, size=3)) for r in range(3)]
    assert [len(s) for s in shares] == [5, 5, 5]
    for i, (_, yb) in enumerate(whole):
        joined = np.concatenate([shares[r][i][1] for r in range(3)])
        want = 12 if i < 4 else 3  # the short batch is cut to a multiple of the 3 ranks
        np.testing.assert_array_equal(joined, yb[:want])  # rank order = the batch's order
        assert all(np.array_equal(shares[r][i][0][:, 0], shares[r][i][1]) for r in range(3))


@pytest.mark.parametrize(("kw", "match"), [
    ({"rank": 2, "size": 2}, "rank"), ({"size": 0}, "size"), ({"size": 5}, "multiple"),
])
def test_bad_shares(kw, match) -> None:
    with pytest.raises(gc.GraphcError, match=match):
        next(gc.data.batches(np.zeros((8, 1)), np.zeros(8), 8, **kw))


def test_buckets_group_by_dtype_and_size() -> None:
    with gc.Graph("b"):
        ts = [gc.placeholder(f"t{i}", s, d) for i, (s, d) in enumerate(
            [((3, 4), "float32"), ((5,), "float32"), ((2,), "float64"), ((10,), "float32")])]
    assert parallel.buckets(ts, limit=20) == [[0, 1], [2], [3]]
    assert parallel.buckets(ts, limit=100) == [[0, 1, 3], [2]]
    assert parallel.average_gradients(ts) == ts  # one process: nothing built


WARM = """
import numpy as np, graphc as gc
with gc.Graph("w"):
    x = gc.placeholder("x", (4,))
    y = gc.allreduce(x * 2.0)
f = gc.function([x], y, passes=[], backend="llvm")
print(f(np.arange(4, dtype=np.float32)).tolist())
"""


def test_cached_llvm_object_finds_the_collective_entry(tmp_path) -> None:
    """A second process loads the compiled object from the cache without the lowering table;
    graphc_collective must still resolve (it once crashed there)."""
    import os
    import subprocess

    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path)}
    for _ in range(2):  # cold, then warm
        done = subprocess.run([sys.executable, "-c", WARM], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[0.0, 2.0, 4.0, 6.0]"


@pytest.mark.parametrize("raw", ["soon", "0", "-3"])
def test_bad_collective_timeout_names_the_variable(monkeypatch, raw) -> None:
    monkeypatch.setenv("GRAPHC_MPI_TIMEOUT", raw)
    with pytest.raises(gc.DistributedError, match="GRAPHC_MPI_TIMEOUT.*positive number"):
        collective.collective_timeout()
