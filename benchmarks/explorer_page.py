"""The explorer page of the W2 CNN training step: its size and the time Chromium takes to open
it (navigation start to the end of the load event, median of 5 fresh loads).

    python -m benchmarks.explorer_page [--backend llvm] [--out DIR]

Needs Debian's chromium and chromium-driver (``make browser``) and selenium (the test extra).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from benchmarks import graphc_steps
from benchmarks.models import CNNShape, cnn_batch, cnn_params

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


def w2_function(backend: str):
    """The compiled W2 step after one call (so the memory plan and the kernels are bound)."""
    from graphc.frontend.function import watch_functions

    s = CNNShape()
    with watch_functions() as made:
        step = graphc_steps.cnn_step(backend, cnn_params(s), *cnn_batch(s), s)
    step()
    return made[-1]


def open_times(path: str, loads: int = 5) -> list[float]:
    """Seconds from navigation start to the end of the load event, per fresh load."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}")
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService("/usr/bin/chromedriver"))
    try:
        out = []
        for _ in range(loads):
            driver.get("about:blank")
            driver.get("file://" + os.path.abspath(path))
            nav = driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].toJSON()")
            out.append(nav["loadEventEnd"] / 1e3)
        return out
    finally:
        driver.quit()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    p.add_argument("--out", default=tempfile.gettempdir(), metavar="DIR")
    args = p.parse_args()
    fn = w2_function(args.backend)
    path = os.path.join(args.out, f"w2-{args.backend}.html")
    start = time.perf_counter()
    fn.explore(path)
    write = time.perf_counter() - start
    nodes = len(fn.passes.records[0].graph_in.nodes) if fn.passes else len(fn.graph.nodes)
    times = open_times(path)
    print(f"W2 {args.backend}: {nodes} nodes before passes, {len(fn.graph.nodes)} after; page "
          f"{os.path.getsize(path) / 2**20:.2f} MiB written in {write:.2f} s; opens in "
          f"{statistics.median(times) * 1e3:.0f} ms (median of {len(times)}, max "
          f"{max(times) * 1e3:.0f} ms): {path}")


if __name__ == "__main__":
    main()
