"""The package checks (libaotgemm_aoti's aotgemm_aoti_check, shared by aotgemm.aoti.load and
examples/cpp): a missing, corrupt, other or wrong-GPU bundle is refused with one exception
class and a message that says what to do. Runs on stub packages (aotgemm's records without a
model), so it needs no AOTInductor compile and no GPU."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import aotgemm.aoti as aoti
from aotgemm.aoti import testing
from aotgemm.errors import BundleNotFound, EnvironmentMismatch, NoGpu

REPO = Path(__file__).resolve().parent.parent
LAYERS = [("up", 256, 128), ("down", 128, 256)]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("refusal")


@pytest.fixture(scope="module")
def bundle(work) -> Path:
    path = work / "llama.agb"
    testing.make_bundle(path, LAYERS, library=b"\x7fELF" + bytes(range(256)) * 64)
    return path


@pytest.fixture(scope="module")
def other_bundle(work) -> Path:
    path = work / "other.agb"
    testing.make_bundle(path, LAYERS, library=b"a different library" * 100)
    return path


@pytest.fixture(scope="module")
def package(work, bundle) -> Path:
    return testing.make_stub_package(work / "model.pt2", bundle)


def _flip(data: bytes, offset: int) -> bytes:
    b = bytearray(data)
    b[offset] ^= 0x40
    return bytes(b)


def test_sound_package_passes(package):
    assert aoti.check(package) == ""
    assert aoti.check(package, device=testing.fake_device("H100_SXM")) == ""


def test_missing_bundle_is_refused(work, bundle):
    pkg = testing.make_stub_package(work / "lean.pt2", bundle, embed_bundle=False)
    with pytest.raises(BundleNotFound) as e:
        aoti.check(pkg)
    msg = str(e.value)
    assert "llama.agb" in msg and "not inside it" in msg and "bundle=PATH" in msg
    # given explicitly, the same bundle passes ...
    assert aoti.check(pkg, bundle=bundle) == ""
    # ... and a path that does not exist is named
    with pytest.raises(BundleNotFound, match="nowhere.agb: no such file"):
        aoti.check(pkg, bundle=work / "nowhere.agb")


def test_another_bundle_is_refused(work, bundle, other_bundle):
    pkg = testing.make_stub_package(work / "lean2.pt2", bundle, embed_bundle=False)
    with pytest.raises(aoti.BundleIntegrityError) as e:
        aoti.check(pkg, bundle=other_bundle)
    assert "different bundle" in str(e.value) or "not the bundle this package was built with" in str(e.value)


@pytest.mark.parametrize("where", ["magic", "index", "blob", "truncated", "trailing"])
def test_corrupt_bundle_is_refused(work, bundle, where):
    data = bundle.read_bytes()
    from aotgemm.bundle import open_bundle

    bf = open_bundle(bundle)
    blob_at = bf.data_offset + bf.offsets[bf.index.targets[0].library]
    bad = {
        "magic": lambda: _flip(data, 1),
        "index": lambda: _flip(data, 60),
        "blob": lambda: _flip(data, blob_at + 7),
        "truncated": lambda: data[:-10],
        "trailing": lambda: data + b"\0" * 10,
    }[where]()
    pkg = testing.make_stub_package(work / f"corrupt-{where}.pt2", bundle, bundle_bytes=bad)
    with pytest.raises(aoti.BundleIntegrityError) as e:
        aoti.check(pkg)
    msg = str(e.value)
    expect = {"magic": "bad magic", "index": "index checksum does not match", "blob": "SHA-256 of the stored bytes",
              "truncated": "truncated", "trailing": "truncated, corrupted"}[where]
    assert expect in msg, msg
    # the same file, given from outside the package, is refused the same way
    ext = work / f"corrupt-{where}.agb"
    ext.write_bytes(bad)
    lean = testing.make_stub_package(work / f"lean-{where}.pt2", bundle, embed_bundle=False)
    with pytest.raises(aoti.BundleIntegrityError):
        aoti.check(lean, bundle=ext)


def test_wrong_gpu_is_refused(package):
    with pytest.raises(aoti.WrongGpu) as e:
        aoti.check(package, device=testing.fake_device("B200"))
    assert isinstance(e.value, EnvironmentMismatch)
    msg = str(e.value)
    assert "H100_SXM (sm_90a, 132 SMs)" in msg and "NVIDIA B200" in msg and "148 SMs" in msg
    assert "aotgemm build --gpu" in msg and "AOTGEMM_STRICT=0" in msg
    # an H100 PCIe has the same architecture but other SM counts: still refused
    with pytest.raises(aoti.WrongGpu, match="114 SMs"):
        aoti.check(package, device=testing.fake_device("H100_PCIE"))


def test_non_strict_mode_warns_instead(package):
    warning = aoti.check(package, device=testing.fake_device("B200"), strict=False)
    assert "NVIDIA B200" in warning


def test_old_driver_is_refused(package):
    with pytest.raises(aoti.DriverTooOld, match="needs CUDA driver 12080 or newer; this machine has 12000"):
        aoti.check(package, device=testing.fake_device("H100_SXM", driver_version=12000))
    assert aoti.check(package, device=testing.fake_device("H100_SXM", driver_version=13000)) == ""


def test_cuda_package_without_a_gpu(work, bundle):
    pkg = testing.make_stub_package(work / "cuda.pt2", bundle, device="cuda")
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    with pytest.raises(NoGpu, match="runs on CUDA"):
        aoti.check(pkg)


def test_not_a_package(work):
    junk = work / "junk.pt2"
    junk.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(aoti.PackageError):
        aoti.check(junk)
    plain = work / "plain.pt2"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("plain/.data/version", "1\n")
        zf.writestr("plain/data/aotinductor/model/x.cpp", "")
    with pytest.raises(aoti.PackageError, match="not a package made by aotgemm.aoti.compile"):
        aoti.check(plain)
    with pytest.raises(aoti.PackageError, match="no such package"):
        aoti.native.check(aoti.native.load_native(), work / "absent.pt2", None, -1, None, 0)


def test_malformed_meta(work, bundle):
    pkg = testing.make_stub_package(work / "badmeta.pt2", bundle, meta_text="aotgemm-aoti-meta\t99\n")
    with pytest.raises(aoti.PackageError, match="meta version 99"):
        aoti.native.check(aoti.native.load_native(), pkg, None, -1, None, 0)


def test_load_refuses_before_loading_the_model(work, bundle):
    """aotgemm.aoti.load runs the same check (in a fresh process: init is once per process)."""
    data = _flip(bundle.read_bytes(), 60)
    pkg = testing.make_stub_package(work / "load-corrupt.pt2", bundle, bundle_bytes=data)
    code = f"""
        import aotgemm.aoti as aoti
        try:
            aoti.load({str(pkg)!r})
        except aoti.BundleIntegrityError as e:
            print("refused:", e)
        import json; print(aoti.describe())
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "refused:" in proc.stdout and "index checksum does not match" in proc.stdout
    assert '"initialized": false' in proc.stdout
