"""What `make mutation` mutates and which tests run for each mutated module.

TARGETS gives each module's tests; for the modules in GROUPS they run with -k on the ops the
mutated statement belongs to (select.py). With --coverage, tests are chosen by measured line
coverage instead, TARGETS standing in for sites no test was seen to run.
"""

from __future__ import annotations

OPS_TESTS = ["tests/ops/test_rule_errors.py", "tests/ops/test_edge_cases.py",
             "tests/ops/test_catalogue.py", "tests/ops/test_gradients.py"]
OPS_GRAD_TESTS = ["tests/ops/test_gradients.py", "tests/ops/test_catalogue.py"]
# what an op's flags decide (fusion, in-place reuse, rewrites): run after the op's own tests
TRAIT_TESTS = ["tests/ops/test_traits.py", "tests/passes/test_operand_order.py",
               "tests/passes/test_fuse.py",
               "tests/passes/test_canonicalize.py", "tests/ops/test_gradients.py", "-k",
               "not vjp"]
PLAN_TESTS = ["tests/analysis/test_packing.py", "tests/passes/test_memplan_oracle.py",
              "tests/passes/test_memplan.py",
              "tests/analysis", "tests/backends/numpy"]
PARITY = "tests/backends/llvm/test_parity.py"
FUSE_TESTS = ["tests/passes/test_fuse.py", "tests/passes/test_fuse_bodies.py",
              "tests/passes/test_ir_files.py", "tests/passes/test_fuse_scale.py"]
OPTIM_TESTS = ["tests/frontend/test_optim.py", "tests/frontend/test_optim_grid.py", "-k",
               "not torch"]

# module -> the tests to run for its mutants (fastest and most specific first: pytest stops at
# the first failure). The core of the compiler: ops' kernels and VJP rules, the passes, the
# memory planner, the optimizers, the llvm lowering of elementwise ops, reductions and pooling.
TARGETS: dict[str, list[str]] = {
    "graphc/ops/elementwise.py": OPS_TESTS,
    "graphc/ops/reduce.py": OPS_TESTS,
    "graphc/ops/nn.py": ["tests/ops/test_pool_ties.py", *OPS_TESTS],
    "graphc/ops/linalg.py": OPS_TESTS,
    "graphc/ops/_rules.py": OPS_GRAD_TESTS,
    "graphc/ops/_conv_kernels.py": ["tests/ops/test_pool_ties.py", *OPS_TESTS],
    "graphc/passes/cse.py": ["tests/passes/test_operand_order.py",
                             "tests/passes/test_ir_files.py"],
    "graphc/passes/canonicalize.py": ["tests/passes/test_rule_table.py",
                                      "tests/passes/test_canonicalize.py",
                                      "tests/passes/test_operand_order.py",
                                      "tests/passes/test_ir_files.py"],
    "graphc/passes/rewrite.py": ["tests/passes/test_rule_table.py",
                                 "tests/passes/test_canonicalize.py",
                                 "tests/passes/test_rewriter.py",
                                 "tests/passes/test_operand_order.py"],
    "graphc/passes/fold.py": ["tests/passes/test_fold_limit.py", "tests/passes/test_ir_files.py",
                              "tests/passes/test_canonicalize.py",
                              "tests/distributed/test_single_process.py::"
                              "test_fold_never_runs_a_collective"],
    "graphc/passes/dce.py": ["tests/passes/test_ir_files.py", "tests/passes/test_canonicalize.py",
                             "tests/frontend/test_scan.py::test_dce_drops_unread_stacked_outputs"],
    "graphc/passes/fuse.py": FUSE_TESTS,
    "graphc/passes/fuse_build.py": FUSE_TESTS,
    "graphc/passes/fuse_order.py": FUSE_TESTS,
    "graphc/passes/autodiff.py": ["tests/passes/test_autodiff.py"],
    "graphc/analysis/memory.py": PLAN_TESTS,
    "graphc/analysis/liveness.py": PLAN_TESTS,
    "graphc/analysis/packing.py": PLAN_TESTS,
    "graphc/frontend/optim.py": OPTIM_TESTS,
    "graphc/backends/llvm/kernels/elementwise.py": [PARITY, "-k", "given"],
    "graphc/backends/llvm/kernels/reduce.py": [PARITY, "-k", "given"],
    "graphc/backends/llvm/kernels/nn_pool.py": ["tests/ops/test_pool_ties.py", PARITY],
}

# Modules whose sites belong to ops: (test files, a -k prefix, a second run if the first
# passes) with -k on the site's ops
GROUPS: dict[str, tuple[list[str], str, list[str]]] = {
    **{p: (OPS_TESTS, "", TRAIT_TESTS) for p in ("graphc/ops/elementwise.py",
                                                 "graphc/ops/reduce.py", "graphc/ops/linalg.py",
                                                 "graphc/ops/nn.py")},
    "graphc/backends/llvm/kernels/elementwise.py": ([PARITY], "given", []),
    "graphc/backends/llvm/kernels/reduce.py": ([PARITY], "given", []),
}

# Modules that moved: the first path that exists is used.
ALIASES: dict[str, list[str]] = {}

# With --coverage: the tests whose lines are measured (every target's tests plus these).
EXTRA_COVER = ["tests/passes", "tests/frontend/test_gradcheck_sensitivity.py",
               "tests/backends/llvm/test_fused.py"]

# Test files that compute everything in a module-level cache in their first test: when one of
# their tests covers a mutant, the whole file runs.
WHOLE_FILE = {"tests/backends/llvm/test_parity.py"}

MAX_TESTS = 40  # per mutant, the fastest covering tests first (-x stops at the first failure)
DEFAULT_SAMPLE = 60  # with at least MIN_PER_FILE per module; ~30 min on a busy 2-core host
MIN_PER_FILE = 2
SEED = 19
