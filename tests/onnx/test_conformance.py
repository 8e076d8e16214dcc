"""A fixed share of the onnx package's backend node tests (the core set) passes through
graphc.onnx; the full run is ``python -m graphc.onnx.conformance``."""

from __future__ import annotations

import os

import onnx
import pytest

from graphc.onnx import conformance

# the core-set cases graphc does not run, each for a reason listed in docs/onnx.md
KNOWN: set[str] = set()


def _core_cases() -> list[str]:
    out = []
    for c in conformance.cases():
        if conformance.is_core(onnx.load(os.path.join(c, "model.onnx"))):
            out.append(c)
    return out


CORE = _core_cases()


def test_the_core_set_is_what_the_figures_count():
    assert len(CORE) > 900  # onnx 1.22.0 ships ~950 core-set cases


def test_every_fourth_core_case_numpy():
    results = [conformance.run_case(c, "numpy")[0] for c in CORE[::4]]
    failed = {r.case: r.reason for r in results if r.status == "fail"}
    assert set(failed) <= KNOWN, failed
    passed = sum(r.status == "pass" for r in results)
    assert passed >= 0.95 * len(results), [r.case for r in results if r.status != "pass"]


LLVM_CASES = [
    "test_conv_with_strides_and_asymmetric_padding", "test_maxpool_2d_pads",
    "test_averagepool_2d_pads", "test_gemm_all_attributes", "test_softmax_axis_1",
    "test_reduce_mean_keepdims_random", "test_batchnorm_example",
    "test_layer_normalization_3d_axis1_epsilon",
    "test_slice_neg_steps", "test_gather_negative_indices", "test_sce_mean_weight_ii",
    "test_einsum_batch_matmul", "test_mod_mixed_sign_int32", "test_cast_FLOAT_to_DOUBLE",
    "test_scan9_sum",  # Scan -> gc.scan
    "test_resize_downsample_scales_linear_align_corners",
]


@pytest.mark.parametrize("case", LLVM_CASES)
def test_llvm_cases(case):
    (path,) = conformance.cases(names=[case])
    result, _ = conformance.run_case(path, "llvm")
    assert result.status == "pass", result.reason


def test_resize_nearest_and_linear():
    results = [conformance.run_case(c, "numpy")[0] for c in conformance.cases(["resize"])]
    assert not [r.case for r in results if r.status == "fail"]
    assert sum(r.status == "pass" for r in results) >= 18  # nearest and linear, no antialias
