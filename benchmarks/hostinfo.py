"""What the numbers were measured on: host, cores, Python, package versions, threads, date."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata as md
import os
import platform
from types import ModuleType
from typing import Any

from benchmarks.harness import Skip

PACKAGES = ("numpy", "llvmlite", "torch", "jax", "jaxlib", "pytensor", "numexpr", "numba")


def require(module: str) -> ModuleType:
    """Import a peer, or raise Skip naming what is missing (peers are optional)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"{module} not installed (pip install -e .[bench])") from exc


def cpu_name() -> str:
    """The host CPU's model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(dist: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _graphc_version() -> str:
    try:
        import graphc

        return graphc.__version__
    except Exception as exc:  # the header must print even if graphc is broken mid-edit
        return f"import failed ({type(exc).__name__})"


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (load its BLAS so threadpoolctl sees it)

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                     for i in libs)


def header(quick: bool) -> list[str]:
    """Markdown lines describing the run's environment."""
    versions = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "XLA_FLAGS")
           if k in os.environ}
    lines = [
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"
        + (" (quick mode: small sizes, one run; not a measurement)" if quick else ""),
        f"- host: {cpu_name()}, {os.cpu_count()} logical cores, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, graphc {_graphc_version()}",
        f"- packages: {versions}",
        f"- NumPy BLAS: {_blas()}",
    ]
    if env:
        lines.append(f"- environment: {env}")
    return lines


def thread_env(n: int) -> dict[str, str]:
    """Environment limiting every system to ``n`` threads (set before any peer is imported)."""
    env = {k: str(n) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS", "NUMBA_NUM_THREADS")}
    if n == 1:  # XLA's CPU backend has no thread-count flag, only this switch (best effort)
        flags = os.environ.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    return env


def limit_threads(n: int) -> None:
    """Limit this process (its BLAS, already loaded) and every child and later import to n."""
    os.environ.update(thread_env(n))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def load() -> str:
    """The 1-minute load average, or 'n/a'."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def busy() -> bool:
    """True when other work already uses about half of the machine's cores or more."""
    try:
        return os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    except OSError:
        return False


def thread_note() -> str:
    """Each system runs with its own default threading; say what those defaults are here."""
    parts: list[str] = []
    for name, probe in (("torch", _torch_threads), ("numexpr", _numexpr_threads),
                        ("numba", _numba_threads)):
        try:
            parts.append(f"{name} {probe()}")
        except Exception:
            continue
    return "threads per system: " + (", ".join(parts) or "n/a")


def _torch_threads() -> Any:
    import torch

    return torch.get_num_threads()


def _numexpr_threads() -> Any:
    import numexpr

    return numexpr.get_num_threads()


def _numba_threads() -> Any:
    import numba

    return numba.config.NUMBA_NUM_THREADS
