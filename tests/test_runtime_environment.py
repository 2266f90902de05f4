"""check_environment: every mismatch, with its exact message, from injected MachineFacts."""

from __future__ import annotations

import importlib.metadata as md

import pytest
import torch

from aotgemm.runtime.environment import MachineFacts, check_environment, format_driver
from aotgemm.runtime.library import find_dsl_runtime

try:
    from .test_runtime_fixtures import H100_NAME, h100_facts, make_bundle, make_index, make_target
except ImportError:
    from test_runtime_fixtures import H100_NAME, h100_facts, make_bundle, make_index, make_target


def problems(facts, index=None):
    return check_environment(index or make_index(), facts=facts).problems


def test_matching_machine_is_usable():
    r = check_environment(make_index(), facts=h100_facts())
    assert r.usable and r.problems == ()
    assert r.gpu.name == "H100_SXM" and r.target.gpu == "H100_SXM"
    assert r.describe().startswith(f"environment: usable: {H100_NAME!r} is H100_SXM (sm_90a, 132 SMs)")


def test_no_gpu():
    facts = MachineFacts(no_gpu_reason="torch.cuda.is_available() is False (no CUDA device is visible to this process)")
    r = check_environment(make_index(), facts=facts)
    assert not r.usable and r.target is None and r.gpu is None
    assert r.problems == ("no GPU: torch.cuda.is_available() is False (no CUDA device is visible to this process)",)
    assert r.describe() == ("environment: NOT usable (1 problem):\n"
                            "  - no GPU: torch.cuda.is_available() is False (no CUDA device is visible to this process)")


def test_detect_on_this_machine_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    facts = MachineFacts.detect()
    assert facts.gpu_name is None
    (p,) = check_environment(make_index(), facts=facts).problems
    if torch.version.cuda is None:
        assert p == f"no GPU: torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    else:
        assert p.startswith("no GPU: ")
    # check_environment detects by itself too, and never raises without a GPU
    assert check_environment(make_index()).problems == (p,)


@pytest.mark.parametrize("device, phrase", [
    ("cpu", "device='cpu': aotgemm serves CUDA devices only"),
    (torch.device("meta"), "device=device(type='meta'): aotgemm serves CUDA devices only"),
    (-1, "device=-1: a CUDA device index is >= 0"),
    ("gpu7", "device='gpu7' is not a device ("),
])
def test_a_device_argument_that_is_no_cuda_device_raises_on_any_machine(device, phrase):
    """It used to leak ValueError (or torch's RuntimeError) on a GPU host and pass unnoticed elsewhere."""
    from aotgemm.errors import InvalidDevice

    with pytest.raises(InvalidDevice) as e:
        check_environment(make_index(), device)
    assert str(e.value).startswith(phrase)
    assert str(e.value).endswith("pass e.g. 0, 'cuda:0', or None for the current device")


@pytest.mark.parametrize("device, index", [(None, None), (0, 0), (3, 3), ("cuda", None), ("cuda:1", 1),
                                           (torch.device("cuda", 2), 2)])
def test_device_index_arg(device, index):
    from aotgemm.runtime.environment import device_index_arg

    assert device_index_arg(device) == index


def test_gpu_not_in_table():
    facts = h100_facts(gpu_name="NVIDIA A100-SXM4-80GB", sm_count=108, capability=(8, 0))
    assert problems(facts) == (
        "GPU not in aotgemm's table: 'NVIDIA A100-SXM4-80GB', 108 SMs, compute capability 8.0; "
        "known models: H100_SXM, H100_PCIE, H100_NVL, H200_SXM, B200 (aotgemm/gpus.py)",)


def test_gpu_with_unexpected_sm_count_is_not_identified():
    # a 132-SM table row must not match a part with another SM count (e.g. a MIG slice)
    facts = h100_facts(sm_count=16)
    (p,) = problems(facts)
    assert p.startswith(f"GPU not in aotgemm's table: {H100_NAME!r}, 16 SMs, compute capability 9.0;")


def test_no_target_for_this_gpu():
    facts = h100_facts(gpu_name="NVIDIA B200", sm_count=148, capability=(10, 0))
    assert problems(facts) == (
        "the bundle has no target for this GPU (B200, 'NVIDIA B200'); it has: H100_SXM (sm_90a, 132 SMs)",)
    index = make_index((make_target(), make_target(gpu="H200_SXM", library="h200.so")))
    (p,) = problems(h100_facts(gpu_name="NVIDIA H100 PCIe", sm_count=114), index)
    assert p == ("the bundle has no target for this GPU (H100_PCIE, 'NVIDIA H100 PCIe'); "
                 "it has: H100_SXM (sm_90a, 132 SMs), H200_SXM (sm_90a, 132 SMs)")


def test_target_with_other_sm_count():
    index = make_index((make_target(sm_count=114),))
    assert problems(h100_facts(), index) == (
        "the bundle's H100_SXM target is for sm_90a with 114 SMs; this GPU is sm_90a with 132 SMs",)


def test_driver_too_old():
    assert problems(h100_facts(driver_version=12080)) == (
        "CUDA driver 12.8 (12080) is older than the 13.0 (13000) the library needs (cuda_driver_min); "
        "upgrade the NVIDIA driver",)
    assert problems(h100_facts(driver_version=13020)) == ()


def test_driver_unknown():
    facts = h100_facts(driver_version=None, driver_error="libcuda.so.1 cannot be loaded: not found")
    assert problems(facts) == (
        "CUDA driver version unknown (libcuda.so.1 cannot be loaded: not found); "
        "the library needs 13.0 (13000) or newer",)


def test_driver_min_nil_is_not_checked():
    index = make_index((make_target(env={"cuda_driver_min": None}),))
    assert problems(h100_facts(driver_version=None), index) == ()


def test_torch_cuda_runtime_major_differs():
    assert problems(h100_facts(torch_cuda="12.8")) == (
        "torch's CUDA runtime is 12.8 (major 12) but the library links against CUDA 13 (cuda_runtime_major); "
        "install a torch build for CUDA 13",)


def test_tvm_ffi_version_differs():
    assert problems(h100_facts(tvm_ffi_version="0.2.1")) == (
        "apache-tvm-ffi 0.2.1 is installed but the library exports the ABI of 0.1.15: major.minor 0.2 != 0.1 "
        "(pip install 'apache-tvm-ffi==0.1.*')",)
    # patch releases and local suffixes are the same ABI
    assert problems(h100_facts(tvm_ffi_version="0.1.99")) == ()


def test_tvm_ffi_missing():
    assert problems(h100_facts(tvm_ffi_version=None)) == (
        "apache-tvm-ffi is not installed; the library exports the ABI of 0.1.15 (pip install 'apache-tvm-ffi==0.1.*')",)


def test_dsl_runtime_missing():
    index = make_index((make_target(env={"link_mode": "dsl-runtime"}),))
    facts = h100_facts(dsl_runtime_lib=None, dsl_runtime_error="AOTGEMM_DSL_RUNTIME_LIB is not set and neither "
                       "nvidia-cutlass-dsl-libs-cu13 nor nvidia-cutlass-dsl-libs-cu12 is installed")
    assert problems(facts, index) == (
        "link_mode 'dsl-runtime' needs libcute_dsl_runtime.so, which was not found (AOTGEMM_DSL_RUNTIME_LIB is not "
        "set and neither nvidia-cutlass-dsl-libs-cu13 nor nvidia-cutlass-dsl-libs-cu12 is installed); "
        "pip install nvidia-cutlass-dsl-libs-cu13 or set AOTGEMM_DSL_RUNTIME_LIB to the file's path",)
    # found: fine; static-runtime libraries never need it
    assert problems(h100_facts(), index) == ()
    assert problems(facts) == ()


def test_all_problems_are_listed_together():
    index = make_index((make_target(env={"link_mode": "dsl-runtime"}),))
    facts = h100_facts(driver_version=12000, torch_cuda="12.4", tvm_ffi_version="0.3.0", dsl_runtime_lib=None,
                       dsl_runtime_error="x")
    r = check_environment(index, facts=facts)
    assert not r.usable and len(r.problems) == 4
    assert [p.split(" ")[0] for p in r.problems] == ["CUDA", "torch's", "apache-tvm-ffi", "link_mode"]
    text = r.describe()
    assert text.startswith("environment: NOT usable (4 problems):\n  - CUDA driver 12.0")
    assert text.count("\n  - ") == 4


def test_format_driver():
    assert format_driver(13000) == "13.0" and format_driver(12080) == "12.8" and format_driver(12020) == "12.2"


# --- locating libcute_dsl_runtime.so without importing cutlass ---------------------
def test_dsl_runtime_from_env_var(tmp_path, monkeypatch):
    missing = tmp_path / "nope.so"
    monkeypatch.setenv("AOTGEMM_DSL_RUNTIME_LIB", str(missing))
    assert find_dsl_runtime(13) == (None, f"AOTGEMM_DSL_RUNTIME_LIB is set to {str(missing)!r}, which is not a file")
    real = tmp_path / "libcute_dsl_runtime.so"
    real.write_bytes(b"")
    monkeypatch.setenv("AOTGEMM_DSL_RUNTIME_LIB", str(real))
    assert find_dsl_runtime(13) == (str(real), "")


@pytest.mark.parametrize("major", [13, 12])
def test_dsl_runtime_from_installed_distribution(monkeypatch, major):
    monkeypatch.delenv("AOTGEMM_DSL_RUNTIME_LIB", raising=False)
    try:
        md.distribution(f"nvidia-cutlass-dsl-libs-cu{major}")
    except md.PackageNotFoundError:
        pytest.skip(f"nvidia-cutlass-dsl-libs-cu{major} is not installed")
    path, why = find_dsl_runtime(major)
    assert why == "" and path.endswith(f"cu{major}/lib/libcute_dsl_runtime.so") and "stubs" not in path


def test_verify_env_on_cpu_prints_one_clean_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from click.testing import CliRunner

    from aotgemm.cli import main

    make_bundle(tmp_path / "s.agb")
    result = CliRunner().invoke(main, ["verify", "--env", str(tmp_path / "s.agb")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "environment: NOT usable (1 problem):\n  - no GPU: " in result.output
