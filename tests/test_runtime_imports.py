"""The runtime imports no compiler: checked in fresh interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

try:
    from .test_runtime_fixtures import b200_only, cpu_ffi_library, make_bundle
except ImportError:
    from test_runtime_fixtures import b200_only, cpu_ffi_library, make_bundle

__all__ = ["cpu_ffi_library"]  # fixtures used here

from aotgemm.compiler import compiler_modules

# the compiler side's modules (from the kernel sources' own lists), and aotgemm's compiler package
FORBIDDEN = tuple(sorted({m.split(".")[0] for m in compiler_modules()})) + ("aotgemm.compiler",)


def _env(tmp_path: Path, **extra) -> dict:
    import aotgemm

    root = str(Path(aotgemm.__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AOTGEMM_")}
    env.update(PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
               AOTGEMM_CACHE_DIR=str(tmp_path / "cache"), **extra)
    return env


def _python(code: str, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"stderr": proc.stderr}


_REPORT = f"""
import json, sys
bad = sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))
print(json.dumps({{"forbidden": bad, "tvm_ffi": "tvm_ffi" in sys.modules, "result": result}}))
"""


def test_import_and_fallback_load_import_no_compiler(tmp_path):
    make_bundle(tmp_path / "s.agb", targets=b200_only())
    code = f"""
import warnings
warnings.simplefilter("ignore")
import aotgemm.runtime as rt
import sys
after_import = "tvm_ffi" in sys.modules
b = rt.load({str(tmp_path / "s.agb")!r}, strict=False)
result = {{"after_import_tvm_ffi": after_import, "fallback": b.fallback}}
""" + _REPORT
    r = _python(code, _env(tmp_path))
    assert r["forbidden"] == []
    assert r["result"] == {"after_import_tvm_ffi": False, "fallback": True}


def test_real_library_load_imports_no_compiler(tmp_path, cpu_ffi_library):
    make_bundle(tmp_path / "s.agb", library=cpu_ffi_library)
    sys_path = str(Path(__file__).resolve().parent)
    code = f"""
import sys
sys.path.insert(0, {sys_path!r})
import aotgemm.runtime as rt
from test_runtime_fixtures import h100_facts
b = rt.load({str(tmp_path / "s.agb")!r}, facts=h100_facts())
result = {{"fallback": b.fallback, "kernels": sorted(r.symbol for r in b.dispatch.table.values() if r.fn),
          "call": b.dispatch.table[("bfloat16", "linear", "identity", 256, 128, 128)].fn(1, 2, 3)}}
""" + _REPORT
    r = _python(code, _env(tmp_path))
    # kernels are called through TVM-FFI's C ABI: the tvm_ffi Python package (30-100 ms to import) is not needed
    assert r["forbidden"] == [] and not r["tvm_ffi"]
    assert r["result"] == {"fallback": False, "kernels": ["gemm_a"] * 4 + ["gemm_b"], "call": 2003}


def test_import_loads_nothing_even_with_aotgemm_bundle_set(tmp_path):
    """Importing is a definition only: a bundle this machine cannot use, named by AOTGEMM_BUNDLE, is not touched."""
    make_bundle(tmp_path / "s.agb", targets=b200_only())
    code = """
import aotgemm.runtime as rt, torch, os, sys
y = rt.linear(torch.randn(2, 128, dtype=torch.bfloat16), torch.randn(256, 128, dtype=torch.bfloat16))
result = {"active": rt.active() is None, "op": hasattr(torch.ops.aotgemm, "aotgemm_linear"),
          "misses": rt.stats().by_reason(), "cache": os.path.exists(os.environ["AOTGEMM_CACHE_DIR"])}
""" + _REPORT
    r = _python(code, _env(tmp_path, AOTGEMM_BUNDLE=str(tmp_path / "s.agb")))  # strict: a load would raise
    assert r["forbidden"] == [] and not r["tvm_ffi"]
    assert r["result"] == {"active": True, "op": True, "misses": {"not loaded": 1}, "cache": False}
    assert r["stderr"] == ""


def test_load_without_a_path_loads_aotgemm_bundle(tmp_path):
    make_bundle(tmp_path / "s.agb", targets=b200_only())
    code = """
import aotgemm.runtime as rt, torch
b = rt.load()
rt.linear(torch.randn(2, 128, dtype=torch.bfloat16), torch.randn(256, 128, dtype=torch.bfloat16))
result = {"loaded": str(b.path), "active": rt.active() is b, "fallback": b.fallback,
          "misses": rt.stats().total_misses}
""" + _REPORT
    r = _python(code, _env(tmp_path, AOTGEMM_BUNDLE=str(tmp_path / "s.agb"), AOTGEMM_STRICT="0"))
    assert r["forbidden"] == []
    assert r["result"] == {"loaded": str(tmp_path / "s.agb"), "active": True, "fallback": True, "misses": 1}
    assert r["stderr"].count("AotGemmFallbackWarning") == 1


def test_load_without_a_path_strict_mismatch_raises(tmp_path):
    make_bundle(tmp_path / "s.agb", targets=b200_only())
    code = "import aotgemm.runtime as rt\nrt.load()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(tmp_path, AOTGEMM_BUNDLE=str(tmp_path / "s.agb")), timeout=300)
    assert proc.returncode != 0
    assert "EnvironmentMismatch" in proc.stderr or "NoGpu" in proc.stderr


def test_load_without_a_path_or_aotgemm_bundle_says_what_to_do(monkeypatch):
    import pytest

    import aotgemm.runtime as rt
    from aotgemm.errors import BundleNotFound

    monkeypatch.delenv("AOTGEMM_BUNDLE", raising=False)
    with pytest.raises(BundleNotFound, match=r"no bundle path given and AOTGEMM_BUNDLE is not set; "
                                             r"pass the bundle's path, or set AOTGEMM_BUNDLE="):
        rt.load()
    assert rt.active() is None


def test_nothing_reads_aotgemm_autoload():
    """The switch that turned import-time loading off is gone with the import-time loading."""
    root = Path(__file__).resolve().parent.parent
    users = [str(p.relative_to(root)) for d in ("aotgemm", "bench", "tests", "docs") for p in (root / d).rglob("*")
             if p.suffix in (".py", ".md", ".cpp", ".h", ".sh") and p.name != Path(__file__).name
             and "AOTGEMM_AUTOLOAD" in p.read_text(errors="replace")]
    assert users == []
