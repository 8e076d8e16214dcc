"""The explorer: one self-contained HTML page about a compiled Function (graph picture, pass
stepper, fusion report, memory timeline, LLVM kernels, profile colours, training curves).

    fn.explore("report.html")                      # or graphc.explorer.write_page(path, fn)
    graphc explore model.gir -o report.html

It reads a Function through its public methods only, so it imports nothing above the IR.
"""

from graphc.explorer.page import build_page, write_page

__all__ = ["build_page", "write_page"]
