"""W5: compile time as the model grows: cold and warm first call of training steps.

Each run is a fresh process (``python -m benchmarks.w5_compile --child SYSTEM MODEL``) that
imports the system, builds the step, compiles it and runs it once. "cold" runs start from an
empty cache directory of their own, "warm" ones reuse the directory a cold run filled (graphc's
GRAPHC_CACHE_DIR, JAX's persistent compilation cache, torch's Inductor caches; w4_latency's
cache_env). Runs are interleaved: every round runs each (system, model) once, in a shuffled
order, so a slow spell of the shared machine hits all systems alike; the table gives medians.

"mlp64 after mlp32" is graphc's kernel cache at work: the L = 64 step compiled in a process whose
cache directory a L = 32 compile filled (same width), next to the L = 64 step cold.

Run alone (e.g. against another checkout's graphc):
    python -m benchmarks.w5_compile --runs 1 --models mlp2,mlp32 --systems graphc --src DIR
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Settings
from benchmarks.report import Section, fmt_time
from benchmarks.w4_latency import REPO, installed_copy, run_child

MODELS = ("mlp2", "mlp8", "mlp32", "mlp128", "resnet18")
SYSTEMS = {"graphc": "graphc llvm", "jax": "JAX jit", "torch": "torch.compile"}
IMPORTS = {"graphc": "graphc", "jax": "jax", "torch": "torch"}
AFTER = ("mlp32", "mlp64")  # (filled first, then timed): the kernel-cache row
Run = dict[str, object]


def child(system: str, model: str) -> Run:
    """In a fresh process: import the system, then build + compile + run the step once."""
    from benchmarks import w5_models

    t0 = time.perf_counter()
    __import__(IMPORTS[system])
    t1 = time.perf_counter()
    function_s = None
    if system == "graphc":
        step, function_s = w5_models.graphc_step(model)
    else:
        step = {"jax": w5_models.jax_step, "torch": w5_models.torch_step}[system](model)
    loss = float(step())
    t2 = time.perf_counter()
    return {"status": "ok", "import_s": t1 - t0, "first_s": t2 - t1, "function_s": function_s,
            "loss": loss}


def _argv(system: str, model: str) -> list[str]:
    return ["--child", system, model]


def _one(system: str, model: str, cache: Path, site: Path) -> Run:
    return run_child(_argv(system, model), cache, site, module="benchmarks.w5_compile")


def measure(systems: list[str], models: list[str], runs: int, site: Path, tmp: Path,
            log: Callable[[str], None]) -> dict[tuple[str, str, str], list[Run]]:
    """Runs keyed by (system, model, "cold" | "warm" | "after"), interleaved by rounds."""
    out: dict[tuple[str, str, str], list[Run]] = {}
    jobs = [(s, m) for m in models for s in systems]
    if "graphc" in systems and AFTER[1] in models:
        jobs.append(("graphc", "after"))
    rng = random.Random(0)
    for r in range(runs):
        rng.shuffle(jobs)
        for system, model in jobs:
            log(f"W5 round {r + 1}/{runs}: {system} {model}")
            if model == "after":
                cache = tmp / f"after-{r}"
                _one(system, AFTER[0], cache, site)
                out.setdefault((system, AFTER[1], "after"), []).append(
                    _one(system, AFTER[1], cache, site))
                continue
            cache = tmp / f"{system}-{model}-{r}"
            out.setdefault((system, model, "cold"), []).append(_one(system, model, cache, site))
            out.setdefault((system, model, "warm"), []).append(_one(system, model, cache, site))
    return out


def _median(runs: list[Run], key: str) -> float | None:
    vals = [float(r[key]) for r in runs if r.get("status") == "ok" and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _row(results: dict, system: str, model: str) -> list[str]:
    cold, warm = results.get((system, model, "cold"), []), results.get((system, model, "warm"), [])
    bad = [r for r in cold + warm if r.get("status") != "ok"]
    note = f"{str(bad[0]['status']).upper()}: {bad[0].get('note', '')}" if bad else ""
    c, jax = _median(cold, "first_s"), _median(results.get(("jax", model, "cold"), []), "first_s")
    loss = _median(cold, "loss")
    return [model, SYSTEMS[system], fmt_time(c), fmt_time(_median(cold, "function_s")),
            fmt_time(_median(warm, "first_s")), _ratio(c, jax) if system != "jax" else "1.00x",
            f"{loss:.5f}" if loss is not None else "-",
            str(len([r for r in cold if r.get("status") == "ok"])), note]


def table(results: dict, systems: list[str], models: list[str]) -> list[list[str]]:
    rows = [_row(results, s, m) for m in models for s in systems]
    after = results.get(("graphc", AFTER[1], "after"))
    if after:
        a = _median(after, "first_s")
        cold = _median(results.get(("graphc", AFTER[1], "cold"), []), "first_s")
        rows.append([f"{AFTER[1]} after {AFTER[0]}", SYSTEMS["graphc"], fmt_time(a),
                     fmt_time(_median(after, "function_s")), "-", "-", "-", str(len(after)),
                     f"{_ratio(a, cold)} of its own cold time"])
    return rows


NOTES = [
    "Each run a fresh process: first call = build the step + compile + run it once (imports "
    "excluded, timed apart); gc.function = graphc's passes and whatever compiling it does before "
    "the first call. cold: an empty cache directory; warm: the directory a cold run filled. "
    "vs JAX = cold first call / JAX's. Medians over the rounds (interleaved, shuffled). Models: "
    "mlpL = 784 -> L x 256 ReLU -> 10, batch 64; resnet18 = ResNet-18 shape (7x7/2 stem, max pool, "
    "4 stages of 2 basic blocks with batch norm and residual adds, global average pool, dense), "
    "batch 8, 3x64x64; SGD 0.1 on mean softmax cross-entropy; the losses of the first call agree.",
]
COLUMNS = ["model", "system", "cold first call", "gc.function", "warm first call", "vs JAX",
           "loss", "runs", "notes"]


def sections(quick: bool, cfg: Settings, log: Callable[[str], None], runs: int = 2,
             systems: list[str] | None = None, models: list[str] | None = None,
             src: Path = REPO) -> list[Section]:
    """The W5 table (quick: graphc on mlp2, one round)."""
    if quick:
        systems, models, runs = ["graphc"] if not cfg.all_systems else list(SYSTEMS), ["mlp2"], 1
    systems = systems or list(SYSTEMS)
    models = models or list(MODELS)
    if "graphc" in systems and "mlp64" not in models and "mlp32" in models and not quick:
        models = [*models, "mlp64"]
    with tempfile.TemporaryDirectory(prefix="graphc-w5-") as tmp:
        site = installed_copy(Path(tmp), src)
        results = measure(systems, models, runs, site, Path(tmp) / "caches", log)
    return [Section("W5: compile time as the model grows (cold and warm first call)", COLUMNS,
                    table(results, systems, models), NOTES)]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], argv[2])))
        return
    p = argparse.ArgumentParser(prog="python -m benchmarks.w5_compile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=2, help="rounds (default 2)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--src", type=Path, default=REPO, help="checkout whose graphc is measured")
    args = p.parse_args(argv)
    from benchmarks import report

    secs = sections(False, Settings(), lambda m: print(m, file=sys.stderr, flush=True),
                    args.runs, args.systems.split(","), args.models.split(","), args.src)
    print(report.document("graphc W5", [], secs, []))


if __name__ == "__main__":
    main(sys.argv[1:])
