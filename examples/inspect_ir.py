"""Watch the optimizer work on an MLP training step.

    python examples/inspect_ir.py            # the IR after every pass, then the reports
    python examples/inspect_ir.py --quiet    # only the reports
    python examples/inspect_ir.py --quiet --report report.html   # and the explorer page

Builds a 784-256-256-10 MLP training step (forward, gc.grad backward, SGD updates), compiles it
with the full pipeline printing the IR after every pass, then shows the pass table, the fusion
report (why each remaining boundary was not fused), the memory plan for batch 128, the per-kernel
profile, and checks that the final IR survives a round trip through its text form.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import graphc as gc


def build_step(batch: int | str = "B", lr: float = 0.05, show_ir: bool = True) -> gc.Function:
    """The compiled training step; ``show_ir`` prints the IR after every pass to stderr."""
    rng = np.random.default_rng(0)
    sizes = (784, 256, 256, 10)
    g = gc.Graph("mlp_step")
    with g:
        x = gc.placeholder("x", (batch, sizes[0]))
        y = gc.placeholder("y", (batch,), "int64")
        params, h = [], x
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            w = gc.parameter(f"w{i}", rng.normal(0, np.sqrt(2 / a), (a, b)).astype(np.float32))
            bias = gc.parameter(f"b{i}", np.zeros(b, np.float32))
            params += [w, bias]
            h = h @ w + bias
            if i < len(sizes) - 2:
                h = gc.relu(h)
        loss = gc.mean(gc.softmax_cross_entropy(h, y))
        grads = gc.grad(loss, params)
        updates = [(p, p - lr * gp) for p, gp in zip(params, grads, strict=True)]
    return gc.function([x, y], loss, updates=updates, print_after_all=show_ir)


def main() -> None:
    """Compile the step, print the reports, run three steps, check the text round trip."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="skip the IR after each pass")
    parser.add_argument("--report", metavar="FILE.html", help="write the explorer page")
    args = parser.parse_args()
    step = build_step(show_ir=not args.quiet)

    print("== passes ==")
    print(step.pass_report())
    print("== fusion ==")
    print(step.fusion_report())

    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    losses = [float(step(x, y)) for _ in range(3)]
    print("== memory plan (bound by the last call) ==")
    print(step.memory_plan())
    print(f"losses of three steps on one batch: {', '.join(f'{v:.4f}' for v in losses)}")
    step.profile(x, y, repeat=5)
    print("== profile (top 8 kernels) ==")
    print(step.profile_report(limit=8))
    if args.report:
        print(f"wrote {step.explore(args.report)}")

    text = step.ir()
    again = gc.print_ir(gc.parse(text))
    gc.verify(gc.parse(text))
    print("final IR round-trips through text:", "yes" if again == text else "NO")
    if again != text:
        sys.exit(1)


if __name__ == "__main__":
    main()
