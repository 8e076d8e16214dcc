"""Run mutants: tree copies, the coverage map, test selection, one pytest per mutant."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.mutation import config
from tools.mutation.mutator import Site, list_sites, mutate

COPIED = ["graphc", "tests", "tools", "pyproject.toml"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


# pytest exit codes that do not mean a test caught the mutant: 0 all passed, 4 a usage error
# (e.g. a test id that no longer exists), 5 no tests ran
STATUS = {0: "survived", 4: "error", 5: "no-tests"}


@dataclass
class Outcome:
    """What happened to one mutant."""

    site: Site
    status: str  # killed, timeout, survived, equivalent, no-tests
    tests: int = 0
    seconds: float = 0.0
    killer: str = ""


@dataclass
class Plan:
    """Sites to run and the tests chosen for each."""

    sites: list[Site]
    tests: dict[int, list[str]] = field(default_factory=dict)  # position in sites -> args


def copy_tree(root: Path, dst: Path) -> Path:
    """A private copy of the parts of the repository the tests need."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, dst / name)
    return dst


def resolve_targets(root: Path) -> dict[str, list[str]]:
    """TARGETS with moved modules followed to where they live now."""
    out = {}
    for path, tests in config.TARGETS.items():
        for candidate in [path, *config.ALIASES.get(path, [])]:
            if (root / candidate).exists():
                # a test id (file::name) counts when its file exists
                out[candidate] = [t for t in tests if not t.startswith("tests/")
                                  or (root / t.split("::")[0]).exists()]
                break
        else:
            print(f"mutation: {path} not found (moved?), skipped", file=sys.stderr)
    return out


def _env(tree: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(tree), GRAPHC_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1",
               GRAPHC_THREADS="1", PYTHONHASHSEED="0")
    return env


def _pytest(tree: Path, args: list[str], cache: Path, timeout: float | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           *args]
    env = _env(tree, cache) | (extra_env or {})
    return subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _digest(root: Path, names: list[str]) -> str:
    h = hashlib.sha256()
    for name in names:
        for p in sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / name]:
            if p.exists():
                h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()[:16]


def coverage(root: Path, tree: Path, targets: dict[str, list[str]], store: Path) -> dict:
    """{"lines": {"rel/path:line": [test index]}, "tests": [[nodeid, s]], "failed": [...]},
    measured once per state of graphc/ and tests/ (cached in ``store``)."""
    files = sorted({t for ts in targets.values() for t in ts} | set(config.EXTRA_COVER))
    files = [f for f in files if (tree / f).exists()]
    # keyed by what decides the map: the mutated modules' text and the tests that ran them
    key = _digest(root, [*targets, *files, "tests/conftest.py", "tools/mutation/covplugin.py"])
    out = store / f"cover-{key}.json"
    if out.exists():
        return json.loads(out.read_text())
    watched = os.pathsep.join(str(tree / p) for p in targets)
    raw = store / "cover-raw.json"
    with tempfile.TemporaryDirectory(prefix="gcmut-cache-") as cache:
        t0 = time.perf_counter()
        run = _pytest(tree, ["-p", "tools.mutation.covplugin", "-rf", *files], Path(cache),
                      extra_env={"MUTATION_COVER_FILES": watched, "MUTATION_COVER_OUT": str(raw)})
    print(f"mutation: coverage of {len(files)} test paths in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    data = json.loads(raw.read_text())
    prefix = str(tree) + os.sep
    data["lines"] = {k.removeprefix(prefix): v for k, v in data["lines"].items()}
    data["failed"] = [ln.split(" ", 2)[1] for ln in run.stdout.splitlines()
                      if ln.startswith("FAILED ")]
    out.write_text(json.dumps(data))
    return data


def sample_sites(root: Path, targets: dict[str, list[str]], n: int, seed: int) -> list[Site]:
    """``n`` sites spread over the targets in proportion to their sizes (at least
    MIN_PER_FILE each)."""
    per_file = {p: list_sites(p, (root / p).read_text()) for p in targets}
    total = sum(len(s) for s in per_file.values()) or 1
    rng = random.Random(seed)
    out = []
    for sites in per_file.values():
        k = min(len(sites), max(config.MIN_PER_FILE, round(n * len(sites) / total)))
        out += sorted(rng.sample(sites, k), key=lambda s: s.index)
    return out


def select_tests(site: Site, cover: dict, fallback: list[str]) -> list[str]:
    """The fastest tests that ran the site's lines (whole files where WHOLE_FILE says so)."""
    failed = set(cover.get("failed", []))
    hits: set[int] = set()
    if site.scope != "<module>":
        for line in range(site.line, site.end_line + 1):
            hits.update(cover["lines"].get(f"{site.path}:{line}", []))
    tests = sorted((cover["tests"][i] for i in hits), key=lambda t: t[1])
    ids = [t[0] for t in tests if t[0] not in failed]
    if not ids:
        return list(fallback)
    whole = sorted({f for f in config.WHOLE_FILE if any(i.startswith(f + "::") for i in ids)})
    ids = [i for i in ids if i.split("::")[0] not in whole]
    return whole + ids[: config.MAX_TESTS]


def run_one(tree: Path, site: Site, runs: list[str] | list[list[str]], work: Path) -> Outcome:
    """Apply ``site`` in ``tree``, run each pytest argument list with -x until one fails,
    restore the file."""
    runs = [runs] if runs and isinstance(runs[0], str) else runs  # type: ignore[assignment]
    path = tree / site.path
    original = path.read_text()
    path.write_text(mutate(original, site.index))
    t0 = time.perf_counter()
    try:
        for args in runs:
            status, killer = _one_run(tree, list(args), work)
            if status != "survived":
                break
    finally:
        path.write_text(original)
    return Outcome(site, status, len(runs), time.perf_counter() - t0, killer)


def _one_run(tree: Path, args: list[str], work: Path) -> tuple[str, str]:
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    try:
        run = _pytest(tree, ["-x", "--no-header", "-rf", *args], cache, timeout=_timeout(args))
        status = STATUS.get(run.returncode, "killed")  # 1 failed, 2 broke collection
        if status == "error" and _broke_startup(run.stdout + run.stderr):
            status = "killed"  # the mutant broke an import pytest needs (e.g. conftest's)
        killer = next((ln.split(" ", 2)[1] for ln in run.stdout.splitlines()
                       if ln.startswith("FAILED ")), "" if status != "killed" else "(error)")
        return status, killer
    except subprocess.TimeoutExpired:
        return "timeout", ""
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _broke_startup(output: str) -> bool:
    """Exit code 4 from an import error at startup (the mutant's doing), not a bad test id."""
    return "while loading conftest" in output or "Traceback" in output


def _timeout(args: list[str]) -> float:
    return 240.0 if any(a in config.WHOLE_FILE or "::" not in a for a in args) else 150.0


def load_equivalent(path: Path) -> dict[str, str]:
    """tools/mutation/equivalent.txt: ``<site key>  ## <why it is equivalent>`` per line."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, why = line.partition("  ## ")
            out[key.strip()] = why.strip()
    return out
