"""`python -m tools.mutation`: mutation test of graphc's core; prints survivors and the score.

    python -m tools.mutation [--sample N] [--jobs J] [--seed S] [--only PATH ...] [--list]

Mutants are applied to private copies of the tree (never the worktree), one pytest run each
(-x), with the tests chosen for the mutated module and op (tools/mutation/select.py), or with
--coverage the tests measured to run the mutated lines. The last line is
``mutation score: K/N killed`` (N leaves out the mutants listed in tools/mutation/equivalent.txt).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue

from tools.mutation import config
from tools.mutation.runner import (
    Outcome,
    copy_tree,
    coverage,
    load_equivalent,
    resolve_targets,
    run_one,
    sample_sites,
    select_tests,
)
from tools.mutation.select import tests_for

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("equivalent.txt")


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__)
    ap.add_argument("--sample", type=int, default=config.DEFAULT_SAMPLE)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=config.SEED)
    ap.add_argument("--only", nargs="*", default=None, help="target modules to mutate")
    ap.add_argument("--list", action="store_true", help="print the sampled sites and exit")
    ap.add_argument("--coverage", action="store_true",
                    help="choose tests by measured line coverage (one traced run of every "
                    "target's tests first) instead of statically by module and op")
    ap.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "graphc-mutation"),
                    help="where the coverage map and reports are kept")
    return ap.parse_args(argv)


def _report(outcomes: list[Outcome], equivalent: dict[str, str], seconds: float) -> int:
    real = [o for o in outcomes if o.site.key not in equivalent]
    killed = [o for o in real if o.status in ("killed", "timeout")]
    survivors = [o for o in real if o.status not in ("killed", "timeout")]
    print(f"\n{len(outcomes)} mutants in {seconds:.0f} s; {len(outcomes) - len(real)} listed "
          f"as equivalent; {len(survivors)} survivors:")
    print(f"  {'status':<9} {'line':>5}  mutant")
    for o in sorted(survivors, key=lambda o: (o.site.path, o.site.line)):
        print(f"  {o.status:<9} {o.site.line:>5}  {o.site.key}")
    for o in outcomes:
        if o.site.key in equivalent:
            print(f"  equivalent: {o.site.key}  ## {equivalent[o.site.key]}")
    print(f"mutation score: {len(killed)}/{len(real)} killed")
    return 0 if not survivors else 1


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    store = Path(a.store)
    store.mkdir(parents=True, exist_ok=True)
    targets = resolve_targets(ROOT)
    if a.only:
        targets = {p: t for p, t in targets.items() if p in a.only}
    sites = sample_sites(ROOT, targets, a.sample, a.seed)
    if a.list:
        for s in sites:
            print(f"{s.line:>5}  {s.key}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="gcmut-", dir=store))
    try:
        return _run(a, work, store, targets, sites)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(a, work: Path, store: Path, targets, sites) -> int:
    t0 = time.perf_counter()
    trees: Queue = Queue()
    first = copy_tree(ROOT, work / "tree0")
    cover = coverage(ROOT, first, targets, store) if a.coverage else None
    trees.put(first)
    sources = {p: (ROOT / p).read_text() for p in targets}

    def tests(site) -> list[list[str]]:
        fallback = targets[site.path]
        if cover is not None:
            return [select_tests(site, cover, fallback)]
        return tests_for(site, sources[site.path], fallback)

    for k in range(1, a.jobs):
        trees.put(copy_tree(ROOT, work / f"tree{k}"))
    equivalent = load_equivalent(EQUIVALENT)
    lock, done = threading.Lock(), []

    def job(site):
        tree = trees.get()
        try:
            if site.key in equivalent:
                out = Outcome(site, "equivalent")
            else:
                out = run_one(tree, site, tests(site), work)
        finally:
            trees.put(tree)
        with lock:
            done.append(out)
            print(f"[{len(done):>4}/{len(sites)}] {out.status:<10} {out.seconds:5.1f}s "
                  f"{out.site.key}", flush=True)
        return out

    with ThreadPoolExecutor(a.jobs) as pool:
        outcomes = list(pool.map(job, sites))
    return _report(outcomes, equivalent, time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())
