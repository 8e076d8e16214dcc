"""A fixed sample of mutants of graphc's core, each of which a named test must kill.

The CI share of `make mutation` (tools/mutation): each mutant below is a bug that once went
unnoticed or is of a kind that did (operand order, in-place reuse, tie-breaking, optimizer
options, the gradient checker's own tolerance). Each is applied to a private copy of the tree
and the tests named with it run there; they must fail. When a mutated line changes on purpose,
update its entry here (the message says which).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.mutation.mutator import list_sites
from tools.mutation.runner import copy_tree, run_one

ROOT = Path(__file__).resolve().parent.parent

# (path, kind, code before, code after) -> the tests (pytest arguments) that must kill it
SAMPLE: list[tuple[tuple[str, str, str, str], list[str]]] = [
    (("graphc/passes/cse.py", "drop", "operands.sort()", "pass"),
     ["tests/passes/test_operand_order.py", "-k", "commutative"]),
    (("graphc/passes/rewrite.py", "boolean", "node.op.commutative and len(node.inputs) == 2",
      "node.op.commutative or len(node.inputs) == 2"),
     ["tests/passes/test_operand_order.py", "-k", "constant_first"]),
    (("graphc/analysis/memory.py", "boolean",
      "a not in yielded and all((j <= last_op for j in readers))",
      "a not in yielded or all((j <= last_op for j in readers))"),
     ["tests/passes/test_memplan_oracle.py", "-k", "fused and numpy"]),
    (("graphc/ops/_conv_kernels.py", "compare", "tap(i, j) == best", "tap(i, j) != best"),
     ["tests/ops/test_pool_ties.py", "-k", "numpy"]),
    (("graphc/backends/llvm/kernels/nn_pool.py", "predicate", "'>'", "'>='"),
     ["tests/ops/test_pool_ties.py", "-k", "llvm"]),
    (("graphc/frontend/optim.py", "unary", "not self.momentum", "self.momentum"),
     ["tests/frontend/test_optim_grid.py", "-k", "formulas and SGD"]),
    (("graphc/frontend/optim.py", "arith", "p - self._lr(p) * self.weight_decay * p",
      "p + self._lr(p) * self.weight_decay * p"),
     ["tests/frontend/test_optim_grid.py", "-k", "formulas and AdamW"]),
    (("graphc/frontend/gradcheck.py", "swap-args", "np.where(np.isnan(ratio), np.inf, ratio)",
      "np.where(np.inf, np.isnan(ratio), ratio)"),
     ["tests/frontend/test_gradcheck_sensitivity.py", "-k", "nan"]),
    (("graphc/frontend/gradcheck.py", "arith", "keep + eps", "keep - eps"),
     ["tests/frontend/test_gradcheck_sensitivity.py", "-k", "right_rule"]),
    (("graphc/ops/elementwise.py", "swap-args", "e.div(g, e.add(x, _c(e, 1, x)))",
      "e.div(e.add(x, _c(e, 1, x)), g)"),
     ["tests/ops/test_gradients.py", "-k", "log1p and not symbolic"]),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_tree(ROOT, tmp_path_factory.mktemp("mutation") / "tree")


def _site(path: str, kind: str, before: str, after: str):
    found = [s for s in list_sites(path, (ROOT / path).read_text())
             if (s.kind, s.before, s.after) == (kind, before, after)]
    assert found, f"{path}: no {kind} mutant {before!r} -> {after!r}; update tests/" \
                  "test_mutation_sample.py for the code as it is now"
    return found[0]


@pytest.mark.parametrize(("mutant", "tests"), SAMPLE, ids=[f"{m[0]}:{m[2][:30]}"
                                                            for m, _ in SAMPLE])
def test_mutant_is_killed(mutant: tuple[str, str, str, str], tests: list[str], tree: Path,
                          tmp_path: Path) -> None:
    site = _site(*mutant)
    outcome = run_one(tree, site, tests, tmp_path)
    assert outcome.status in ("killed", "timeout"), f"{site.key} {outcome.status} " \
                                                    f"under {' '.join(tests)}"
