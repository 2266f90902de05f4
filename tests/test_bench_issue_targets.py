"""bench/issue_targets.py on rows made here: the uniform fraction of the floor a target needs, the caps (the fastest
read where the bytes bound a point, the measured peak where the FLOPs do) and the verdict. No GPU needed."""

import pytest

from aotgemm.gpus import gpu_model
from script_modules import load_script

targets = load_script("bench/issue_targets.py")
H200 = gpu_model("H200_SXM")


def _row(m, n, k, us, cublas_us, floor_us, source="aotgemm", dtype="bfloat16"):
    return {"m": m, "n": n, "k": k, "us": us, "cublas_us": cublas_us, "speedup": cublas_us / us, "floor_us": floor_us,
            "pct_of_floor": round(100 * floor_us / us, 1), "split": False, "source": source, "dtype": dtype}


def test_needed_fraction_solves_the_geomean_with_the_launch():
    rows = [_row(1, 4096, 4096, 8.0, 10.0, 5.0)]
    # 10 / (5 / f) = 1.6 at f = 0.8; with a 1 us launch 10 / (5 / f + 1) = 1.6 at f = 5 / 5.25
    assert targets.needed_fraction(rows, 1.6, 0.0, [1.09]) == pytest.approx(0.8, abs=1e-6)
    assert targets.needed_fraction(rows, 1.6, 1.0, [1.09]) == pytest.approx(5 / 5.25, abs=1e-6)
    # past what a kernel at the cap reaches (10 / (5 / 1.09 + 1) = 1.79x): none
    assert targets.needed_fraction(rows, 1.8, 1.0, [1.09]) is None


def test_cublas_is_kept_where_faster():
    # cuBLAS at the floor on one point: a kernel there counts 1.0x, not less
    rows = [_row(1, 4096, 4096, 8.0, 10.0, 5.0), _row(1, 28672, 4096, 56.0, 56.0, 56.0, source="cublas")]
    assert targets.reachable(rows, 0.5, 0.0, [1.09, 1.09]) == pytest.approx(1.0)
    assert targets.reachable(rows, 1.0, 0.0, [1.09, 1.09]) == pytest.approx(2.0 ** 0.5)


def test_compute_bound_points_are_capped_at_the_peak():
    m = n = k = 8192
    flops_us = 2.0 * m * n * k / (H200.measured_bf16_tflops * 1e6)
    big = _row(m, n, k, flops_us / 0.9, flops_us / 0.95, flops_us)
    small = _row(1, n, k, 40.0, 40.0, 32.0)
    assert targets.compute_bound(big, H200) and not targets.compute_bound(small, H200)
    fp8_big = dict(big, dtype="float8_e4m3fn", floor_us=flops_us / 2)  # fp8's peak is twice bf16's
    assert targets.compute_bound(fp8_big, H200)


def test_assess_names_the_targets_and_the_verdicts():
    # an M <= 16 set where cuBLAS streams at 97% of the floor: 1.25x is past any kernel (1.09 / 0.97 = 1.12x)
    rows = [_row(m, 28672, 4096, 55.0, 56.7, 55.1) for m in (1, 8, 16)]
    rows += [_row(1024, 28672, 4096, 400.0, 420.0, 380.0, source="quack")]
    bench = {"bundle": "/tmp/x.agb", "launch_floor_us": 1.1, "read_over_copy": 1.09, "rows": rows}
    a = targets.assess(bench, H200)
    by = {t["what"]: t for t in a["targets"]}
    assert a["issue"] == 11 and a["kind"] == "bf16"
    assert by["geomean m<=16"]["verdict"] == "no kernel reaches it" and not by["geomean m<=16"]["met"]
    assert by["geomean m<=16"]["at_caps"] < 1.25
    assert by["every M<=16 point's % of floor"]["met"]  # 55.1 / 55.0: 100%
    assert by["lowest point"]["got"] == pytest.approx(56.7 / 55.0)
