"""The container bake (aotgemm/bake.py, scripts/bake.sh, Dockerfile): docs/bake.md.

The unit tests at the top are fast and need nothing but this environment.

`test_bake_*` (marked `bake`) run the Dockerfile's two RUN steps for real, the
way the image build does, in two fresh virtual environments on a machine with
no GPU: the builder step installs aotgemm[build] and cross-compiles a one-layer
manifest (tests/data/bake-one-layer.toml) for H100_SXM with a cold compile cache; the runtime step
installs the runtime only (no extras) and places the bundle. Then it checks
what the image promises: no compiler in the runtime environment,
`aotgemm.runtime` imports, and `aotgemm verify --env` (the HEALTHCHECK) says
"no GPU" and exits 1. About 2 minutes with a warm pip cache; deselect with
`-m "not bake"`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aotgemm import bake, bake_checks
from aotgemm.bundle import BundleIndex, DispatchEntry, Kernel, Layer, Target, write_bundle
from aotgemm.bundle.format import FORMAT_VERSION

REPO = Path(__file__).resolve().parents[1]
BAKE_SH = REPO / "scripts" / "bake.sh"
# one layer (its comment says why); the image build in scripts/ci-image.sh bakes manifests/llama-3.1-8b.toml
MANIFEST = REPO / "tests" / "data" / "bake-one-layer.toml"
TORCH = "torch==2.13.0"  # the local CPU build; an unpinned torch pulls a multi-GB CUDA build

ENV = {"cuda_driver_min": 13000, "cuda_runtime_major": 13, "compiler": "nvidia-cutlass-dsl 4.8.1",
       "tvm_ffi": "0.1.15.post2", "link_mode": "static-runtime", "torch_tuned_with": None, "tuned_on": None,
       "tuned_driver": None, "tuned_at": None}


# --- helpers -------------------------------------------------------------------------------------------
def make_bundle(path: Path, *, model="tiny", gpu="H100_SXM", arch="sm_90a", sm_count=132, source="tuned",
                layers=((("qkv", 6144, 4096, 32)),), buckets=(16, 128), **env) -> Path:
    e = dict(ENV, **env)
    kernel = Kernel(symbol="gemm_a", source="cutlass_operators", family="Sm90StaticPersistentGemmOperator", design=(),
                    dtype="bfloat16", layout="linear", epilogue="identity", alignment=8, max_m=0, cache_key="0" * 64)
    ls = tuple(Layer(*x) for x in layers)
    dispatch = tuple(sorted((DispatchEntry("bfloat16", "linear", "identity", x.n, x.k, m, "gemm_a", source,
                                           *((5.0, 6.0) if source == "tuned" else ()))
                             for x in ls for m in buckets), key=lambda d: d.key))
    t = Target(gpu=gpu, arch=arch, sm_count=sm_count, library="lib.so", environment=tuple(sorted(e.items())),
               sources=(("cutlass_operators", "nvidia-cutlass-operators 0.3.0"),), kernels=(kernel,),
               dispatch=dispatch)
    write_bundle(path, BundleIndex(generator="test", model=model, layers=ls, m_buckets=tuple(buckets),
                                   targets=(t,)), {"lib.so": b"\x7fELF" + bytes(64)})
    return path


def facts(*, torch_cuda="13.0", tvm="0.1.15.post2", modules=(), dists=(), bundle=None) -> dict:
    return {"compiler_modules": list(modules), "compiler_dists": list(dists), "tvm_ffi": tvm,
            "torch": {"version": "2.13.0", "cuda": torch_cuda}, "aotgemm_runtime_importable": True,
            "bundle": bundle}


def bundle_facts(**env) -> dict:
    return {"model": "tiny", "layers": [["qkv", 6144, 4096]], "m_buckets": [16, 128], "dtypes": ["bfloat16"],
            "targets": [{"gpu": "H100_SXM", "arch": "sm_90a", "env": dict(ENV, **env), "tuned_entries": 2}]}


def sh(cmd, *, env=None, check=True, timeout=900, cwd=REPO, unset=()) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "AOTGEMM_BUNDLE" and k not in unset}
    e.update(env or {})
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], env=e, text=True, capture_output=True, timeout=timeout,
                       cwd=cwd)
    p.seconds = time.perf_counter() - t0
    if check and p.returncode != 0:
        pytest.fail(f"exit status {p.returncode}: {' '.join(map(str, cmd))}\n--- stdout\n{p.stdout[-6000:]}"
                    f"\n--- stderr\n{p.stderr[-6000:]}")
    return p


# --- unit tests ------------------------------------------------------------------------------------------
def test_parse_gpus():
    assert bake.parse_gpus(["H100_SXM"]) == ("H100_SXM",)
    assert bake.parse_gpus(["H100_SXM H200_SXM", "B200,H100_SXM", " "]) == ("H100_SXM", "H200_SXM", "B200")


def test_runtime_problems_clean():
    assert bake.runtime_problems(facts(bundle=bundle_facts())) == ([], [])


def test_runtime_problems_compiler_present():
    errors, _ = bake.runtime_problems(facts(modules=["cutlass"], dists=["nvidia-cutlass-dsl"]))
    assert len(errors) == 1 and "holds the compiler side" in errors[0]
    assert "module 'cutlass' is importable" in errors[0] and "nvidia-cutlass-dsl is installed" in errors[0]


def test_runtime_problems_cpu_torch_is_an_error_unless_allowed():
    f = facts(torch_cuda=None, bundle=bundle_facts())
    errors, warnings = bake.runtime_problems(f)
    assert warnings == [] and len(errors) == 1 and "CPU-only build" in errors[0]
    errors, warnings = bake.runtime_problems(f, allow_cpu_torch=True)
    assert errors == [] and len(warnings) == 1 and "CUDA 13" in warnings[0]


def test_runtime_problems_wrong_cuda_major():
    errors, _ = bake.runtime_problems(facts(torch_cuda="12.8", bundle=bundle_facts()))
    assert errors == ["target H100_SXM (sm_90a): torch's CUDA runtime is 12.8 but the kernels link against CUDA 13 "
                      "(cuda_runtime_major): install a torch build for CUDA 13"]


def test_runtime_problems_tvm_ffi_abi():
    assert bake.runtime_problems(facts(tvm="0.1.20", bundle=bundle_facts()))[0] == []  # same major.minor
    errors, _ = bake.runtime_problems(facts(tvm="0.2.0", bundle=bundle_facts()))
    assert len(errors) == 1 and "apache-tvm-ffi 0.2.0 does not export the ABI of 0.1.15.post2" in errors[0]
    errors, _ = bake.runtime_problems(facts(tvm=None, bundle=bundle_facts()))
    assert len(errors) == 1 and "(not installed)" in errors[0]


def test_runtime_problems_dsl_runtime_link_mode():
    errors, _ = bake.runtime_problems(facts(bundle=bundle_facts(link_mode="dsl-runtime")))
    assert len(errors) == 1 and "'dsl-runtime'" in errors[0] and "static-runtime" in errors[0]


def test_runtime_problems_unsound_bundle():
    errors, _ = bake.runtime_problems(facts(bundle={"error": "blob 'x': checksum mismatch"}))
    assert errors == ["the bundle is not sound: blob 'x': checksum mismatch"]


def test_required_tvm_ffi():
    assert bake.required_tvm_ffi(bundle_facts()) == (0, 1)
    assert bake.required_tvm_ffi(bundle_facts(tvm_ffi=None)) is None
    two = bundle_facts()
    two["targets"].append({"gpu": "B200", "arch": "sm_100a", "env": dict(ENV, tvm_ffi="0.2.1")})
    with pytest.raises(bake.BakeError, match="different apache-tvm-ffi ABIs"):
        bake.required_tvm_ffi(two)


def test_tuned_bundle_problems():
    manifest = {"model": "tiny", "layers": [["qkv", 6144, 4096]], "m_buckets": [16, 128], "dtypes": ["bfloat16"]}
    assert bake.tuned_bundle_problems(bundle_facts(), manifest, ("H100_SXM",)) == ([], [])

    errors, _ = bake.tuned_bundle_problems(bundle_facts(), manifest, ("H100_SXM", "H200_SXM"))
    assert errors == ["the tuned bundle has no target for H200_SXM; it has H100_SXM (build it on that GPU, or "
                      "name the GPUs it was built for with --gpus / --build-arg GPUS=...)"]

    other = dict(manifest, model="other", layers=[["qkv", 6144, 4096], ["o", 4096, 4096]], dtypes=["float16"],
                 m_buckets=[1, 16, 128])
    errors, warnings = bake.tuned_bundle_problems(bundle_facts(), other, ("H100_SXM",))
    assert errors[0] == "the tuned bundle is for model 'tiny', the manifest for 'other'"
    assert errors[1].startswith("the tuned bundle's layer shapes differ from the manifest's")
    assert errors[2] == "the tuned bundle holds no float16 kernels the manifest asks for"
    assert "only in the manifest: N=4096 K=4096; only in the bundle: none" in errors[1]
    assert len(warnings) == 1 and "M buckets" in warnings[0]

    untuned = bundle_facts()
    untuned["targets"][0]["tuned_entries"] = 0
    errors, warnings = bake.tuned_bundle_problems(untuned, manifest, ("H100_SXM",))
    assert errors == [] and len(warnings) == 1 and "no dispatch entry is tuned" in warnings[0]

    assert bake.tuned_bundle_problems({"error": "truncated"}, manifest, ("H100_SXM",))[0] == [
        "the tuned bundle is not sound: truncated"]


def test_probe_reads_a_bundle(tmp_path):
    f = bake_checks._bundle_facts(str(make_bundle(tmp_path / "b.agb")))
    assert f["model"] == "tiny" and f["dtypes"] == ["bfloat16"] and f["m_buckets"] == [16, 128]
    (t,) = f["targets"]
    assert (t["gpu"], t["arch"], t["tuned_entries"], t["dispatch_entries"]) == ("H100_SXM", "sm_90a", 2, 2)
    assert t["env"]["tvm_ffi"] == "0.1.15.post2"

    bad = tmp_path / "bad.agb"
    data = bytearray((tmp_path / "b.agb").read_bytes())
    data[-3] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert "error" in bake_checks._bundle_facts(str(bad))


def test_place_file_is_atomic_and_world_readable(tmp_path):
    src = tmp_path / "src.agb"
    src.write_bytes(b"x" * 1000)
    dest = tmp_path / "opt" / "aotgemm" / "model.agb"
    bake.place_file(src, dest)
    assert dest.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert [p.name for p in dest.parent.iterdir()] == ["model.agb"]  # no temporary left behind


def test_find_wheel(tmp_path):
    with pytest.raises(bake.BakeError, match="found 0"):
        bake.find_wheel(tmp_path)
    w = tmp_path / "aotgemm-0.1.0-py3-none-any.whl"
    w.write_bytes(b"")
    assert bake.find_wheel(tmp_path) == w and bake.find_wheel(w) == w
    (tmp_path / "aotgemm-0.2.0-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(bake.BakeError, match="found 2"):
        bake.find_wheel(tmp_path)


def test_copy_source_takes_the_package_not_the_junk(tmp_path):
    src = tmp_path / "repo"
    (src / "aotgemm" / "__pycache__").mkdir(parents=True)
    (src / "aotgemm" / "__init__.py").write_text("")
    (src / "aotgemm" / "__pycache__" / "x.pyc").write_bytes(b"")
    (src / "aotgemm" / "k.so").write_bytes(b"")
    (src / "pyproject.toml").write_text("")
    (src / "tests").mkdir()
    (src / "tests" / "t.py").write_text("")
    # Top-level junk: never copied (only the top level's files and aotgemm/ are).
    for d in ("build", "dist", ".venv", ".git"):
        (src / d / "aotgemm").mkdir(parents=True)
        (src / d / "aotgemm" / "x.py").write_text("")
    # Inside the package, a directory is source whatever its name; junk goes at every depth.
    for d in ("build", "dist", "compiler"):
        (src / "aotgemm" / d / "__pycache__").mkdir(parents=True)
        (src / "aotgemm" / d / "__init__.py").write_text("")
        (src / "aotgemm" / d / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"")
        (src / "aotgemm" / d / "k.o").write_bytes(b"")
    bake._copy_source(src, tmp_path / "copy")
    got = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert got == ["aotgemm", "aotgemm/__init__.py", "aotgemm/build", "aotgemm/build/__init__.py",
                   "aotgemm/compiler", "aotgemm/compiler/__init__.py", "aotgemm/dist", "aotgemm/dist/__init__.py",
                   "pyproject.toml"]
    with pytest.raises(bake.BakeError, match="no pyproject.toml"):
        bake._copy_source(tmp_path / "copy" / "aotgemm", tmp_path / "c2")


def test_wheelhouse_installs_everything_offline(tmp_path, monkeypatch, capsys):
    """--wheelhouse DIR (the Dockerfile's WHEELHOUSE): every pip install is --no-index --find-links DIR."""
    assert bake.wheelhouse_dir("") is None and bake.wheelhouse_dir(None) is None
    with pytest.raises(bake.BakeError, match="no such directory"):
        bake.wheelhouse_dir(str(tmp_path / "nope"))
    (tmp_path / "wh").mkdir()
    with pytest.raises(bake.BakeError, match="holds no wheel"):
        bake.wheelhouse_dir(str(tmp_path / "wh"))
    (tmp_path / "wh" / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    wh = bake.wheelhouse_dir(str(tmp_path / "wh"))
    assert wh == tmp_path / "wh"

    calls = []
    monkeypatch.setattr(bake, "run", lambda cmd, **kw: calls.append(cmd))
    env = bake.Env(Path(sys.executable), wheelhouse=wh)
    bake.install_torch(env, "torch==2.13.0", "https://download.pytorch.org/whl/cu130")  # the index is moot
    assert calls[-1][-4:] == ["--no-index", "--find-links", str(wh), "torch==2.13.0"]
    assert "--index-url" not in calls[-1]
    bake.install_torch(bake.Env(Path(sys.executable)), "torch==2.13.0", "https://download.pytorch.org/whl/cpu")
    assert calls[-1][-3:] == ["--index-url", "https://download.pytorch.org/whl/cpu", "torch==2.13.0"]

    # A wrong --wheelhouse stops the step before anything is made.
    rc = bake.main(["builder", "--manifest", str(MANIFEST), "--gpus", "H100_SXM", "--out", str(tmp_path / "out"),
                    "--venv", str(tmp_path / "venv"), "--wheelhouse", str(tmp_path / "nope")])
    assert rc == 1 and "no such directory" in capsys.readouterr().err
    assert not (tmp_path / "venv").exists()


def test_cli_usage_and_clean_errors(tmp_path):
    p = sh(["sh", BAKE_SH, "builder"], check=False, env={"BAKE_PYTHON": sys.executable})
    assert p.returncode == 2 and "required" in p.stderr
    p = sh(["sh", BAKE_SH, "builder", "--manifest", tmp_path / "nope.toml", "--gpus", "H100_SXM",
            "--out", tmp_path / "out"], check=False, env={"BAKE_PYTHON": sys.executable})
    assert p.returncode == 1 and p.stderr.strip().endswith(f"--manifest {tmp_path / 'nope.toml'}: no such file")
    assert "Traceback" not in p.stderr
    p = sh(["sh", BAKE_SH, "builder", "--manifest", MANIFEST, "--gpus", "H100_SXM", "--tuned-bundle",
            tmp_path / "nope.agb", "--out", tmp_path / "out"], check=False, env={"BAKE_PYTHON": sys.executable})
    assert p.returncode == 1 and "(it must lie in the build context)" in p.stderr
    p = sh(["sh", BAKE_SH, "runtime", "--bundle", tmp_path / "nope.agb", "--dest", tmp_path / "d.agb"],
           check=False, env={"BAKE_PYTHON": sys.executable})
    assert p.returncode == 1 and "--bundle" in p.stderr and "no such file" in p.stderr


def test_bake_sh_runs_with_a_bare_interpreter(tmp_path):
    """The Dockerfile runs scripts/bake.sh with the base image's python: aotgemm.bake needs only the stdlib."""
    code = ("import sys, runpy; sys.argv = ['bake', '--help']\n"
            "import builtins; real = builtins.__import__\n"
            "def guard(name, *a, **k):\n"
            "    if name.split('.')[0] in ('msgpack', 'zstandard', 'torch', 'click', 'rich', 'tvm_ffi', 'cutlass'):\n"
            "        raise ImportError('bare interpreter: ' + name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = guard\n"
            "runpy.run_module('aotgemm.bake', run_name='__main__')\n")
    p = sh([sys.executable, "-c", code], check=False, env={"PYTHONPATH": str(REPO)})
    assert p.returncode == 0, p.stderr
    assert "builder" in p.stdout and "runtime" in p.stdout


# --- the bake, end to end, in fresh virtual environments --------------------------------------------------
@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")):
        pytest.skip("no C++ compiler (g++): the builder step links kernels with it")
    root = tmp_path_factory.mktemp("bake")
    env = {"BAKE_PYTHON": sys.executable, "AOTGEMM_CACHE_DIR": str(root / "runtime-cache")}
    out, dest = root / "out", root / "image" / "opt" / "aotgemm" / "model.agb"
    times = {}
    b = sh(["sh", BAKE_SH, "builder", "--venv", root / "build-venv", "--manifest", MANIFEST, "--gpus", "H100_SXM",
            "--out", out, "--cache-dir", root / "compile-cache", "--torch", TORCH], env=env)
    times["builder"] = b.seconds
    r = sh(["sh", BAKE_SH, "runtime", "--venv", root / "runtime-venv", "--package", out / "dist",
            "--bundle", out / "model.agb", "--dest", dest, "--torch", TORCH, "--allow-cpu-torch"], env=env)
    times["runtime"] = r.seconds
    print(f"\nbake: builder {times['builder']:.0f} s, runtime {times['runtime']:.0f} s")
    return {"root": root, "out": out, "dest": dest, "env": env, "builder": b, "runtime": r, "times": times,
            "bpy": root / "build-venv" / "bin" / "python", "rpy": root / "runtime-venv" / "bin" / "python",
            "raotgemm": root / "runtime-venv" / "bin" / "aotgemm"}


@pytest.mark.bake
def test_bake_builder_output(baked):
    out = baked["out"]
    rec = json.loads((out / "bake.json").read_text())
    assert rec["source"] == "no-tune build" and rec["gpus"] == ["H100_SXM"] and rec["model"] == "bake-one-layer"
    (t,) = rec["targets"]
    assert t["gpu"] == "H100_SXM" and t["kernels"] > 0 and t["tuned_entries"] == 0
    assert t["env"]["link_mode"] == "static-runtime"
    assert rec["bundle_sha256"] == bake.sha256_file(out / "model.agb")
    assert len(list((out / "dist").glob("aotgemm-*.whl"))) == 1
    p = sh([baked["bpy"], "-c", "import cutlass, cutlass.operators, nvMatmulHeuristics"])  # the compiler side
    assert p.returncode == 0


@pytest.mark.bake
def test_bake_wheel_holds_every_package(baked):
    """The baked wheel holds every package of the source tree (a subpackage once went missing, hidden by
    PYTHONPATH), and the package data the compiler reads."""
    import zipfile

    import setuptools

    want = set(setuptools.find_packages(where=str(REPO), include=["aotgemm*"]))
    assert {"aotgemm", "aotgemm.compiler", "aotgemm.runtime"} <= want
    (wheel,) = (baked["out"] / "dist").glob("aotgemm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    have = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert sorted(want - have) == [], f"packages missing from {wheel.name}"
    data = {str(p.relative_to(REPO)) for p in (REPO / "aotgemm" / "native").glob("*.[ch]*")}
    assert sorted(data - set(names)) == []


@pytest.mark.bake
def test_bake_builder_venv_builds_with_no_source_tree(baked, tmp_path):
    """`aotgemm build` from the installed wheel alone: cwd outside the repository, PYTHONPATH unset."""
    bpy = baked["bpy"]
    p = sh([bpy, "-c", "import aotgemm, aotgemm.compiler.pipeline; print(aotgemm.__file__)"],
           cwd=tmp_path, unset=("PYTHONPATH",))
    assert not Path(p.stdout.strip()).is_relative_to(REPO), p.stdout
    assert Path(p.stdout.strip()).is_relative_to(bpy.parent.parent), p.stdout
    manifest = tmp_path / "one.toml"
    manifest.write_text('[model]\nname = "one-layer"\n\n[build]\ngpus = ["H100_SXM"]\ndtypes = ["bfloat16"]\n'
                        'm_buckets = [16, 128]\n\n[[layers]]\nname = "o"\nn = 4096\nk = 4096\n')
    p = sh([bpy.parent / "aotgemm", "build", manifest, "--gpu", "H100_SXM", "--no-tune", "-o", tmp_path / "one.agb",
            "--cache-dir", baked["root"] / "compile-cache"], cwd=tmp_path, unset=("PYTHONPATH",), env=baked["env"])
    p = sh([bpy.parent / "aotgemm", "verify", tmp_path / "one.agb"], cwd=tmp_path, unset=("PYTHONPATH",))
    assert p.stdout.startswith(f"{tmp_path / 'one.agb'}: OK: format v{FORMAT_VERSION}, 1 target(s)"), p.stdout


@pytest.mark.bake
def test_bake_runtime_has_no_compiler(baked):
    rpy = baked["rpy"]
    for mod in bake.COMPILER_MODULES:
        code = ("import importlib.util, sys\n"
                "try:\n"
                f"    found = importlib.util.find_spec({mod!r}) is not None\n"
                "except ModuleNotFoundError:  # a dotted name whose parent is missing\n"
                "    found = False\n"
                "print(found)\n")
        p = sh([rpy, "-c", code])
        assert p.stdout.strip() == "False", f"{mod} is importable in the runtime environment"
    dists = {d["name"].lower().replace("_", "-") for d in json.loads(
        sh([rpy, "-m", "pip", "list", "--format", "json"], env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"}).stdout)}
    assert not {d for d in dists if d.startswith("nvidia-cutlass")}, dists
    assert "nvidia-matmul-heuristics" not in dists
    assert {"aotgemm", "torch", "apache-tvm-ffi", "msgpack", "zstandard"} <= dists


@pytest.mark.bake
def test_bake_runtime_imports_aotgemm_runtime(baked):
    p = sh([baked["rpy"], "-c", "import sys, aotgemm.runtime as r; assert callable(r.load); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('cutlass', 'nvMatmulHeuristics') "
            "or m.startswith('aotgemm.compiler')); print('loaded', bad)"])
    assert p.stdout.strip() == "loaded []"


@pytest.mark.bake
def test_bake_places_the_bundle(baked):
    dest = baked["dest"]
    assert dest.read_bytes() == (baked["out"] / "model.agb").read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    p = sh([baked["raotgemm"], "verify", dest])
    assert p.stdout.startswith(f"{dest}: OK: format v{FORMAT_VERSION}, 1 target(s)")


@pytest.mark.bake
def test_bake_healthcheck_says_no_gpu(baked):
    """The HEALTHCHECK, `aotgemm verify --env` with AOTGEMM_BUNDLE set as the image sets it: exit 1, "no GPU"."""
    dest = baked["dest"]
    p = sh([baked["raotgemm"], "verify", "--env"], check=False,
           env={"AOTGEMM_BUNDLE": str(dest), **baked["env"]})
    text = p.stdout + p.stderr
    assert p.returncode == 1, text
    assert "no GPU" in text and "Traceback" not in text
    # The bundle named on the command line, as an operator would: the same verdict, from verify's own report.
    p = sh([baked["raotgemm"], "verify", "--env", dest], check=False, env=baked["env"])
    lines = p.stdout.splitlines()
    assert p.returncode == 1, p.stdout + p.stderr
    assert lines[0].startswith(f"{dest}: OK: format v{FORMAT_VERSION}, 1 target(s), ")
    assert lines[1:3] == ["environment: NOT usable (1 problem):",
                          "  - no GPU: torch 2.13.0+cpu is a CPU-only build (torch.version.cuda is None)"]
    assert "Traceback" not in p.stderr


@pytest.mark.bake
def test_bake_server_refuses_without_the_gpu(baked):
    """A server loading $AOTGEMM_BUNDLE (`aotgemm.runtime.load()`) refuses (strict) on a machine without the GPU."""
    p = sh([baked["rpy"], "-c", "import aotgemm.runtime as rt; rt.load()"], check=False,
           env={"AOTGEMM_BUNDLE": str(baked["dest"]), **baked["env"]})
    assert p.returncode != 0 and "NoGpu" in p.stderr and "no GPU" in p.stderr


@pytest.mark.bake
def test_bake_runtime_refuses_an_environment_with_the_compiler(baked, tmp_path):
    p = sh(["sh", BAKE_SH, "runtime", "--python", baked["bpy"], "--no-install", "--allow-cpu-torch",
            "--bundle", baked["out"] / "model.agb", "--dest", tmp_path / "model.agb"], check=False, env=baked["env"])
    assert p.returncode == 1 and "holds the compiler side" in p.stderr, p.stderr[-3000:]
    assert not (tmp_path / "model.agb").exists()


@pytest.mark.bake
def test_bake_runtime_refuses_cpu_torch_by_default(baked, tmp_path):
    p = sh(["sh", BAKE_SH, "runtime", "--python", baked["rpy"], "--no-install",
            "--bundle", baked["out"] / "model.agb", "--dest", tmp_path / "model.agb"], check=False, env=baked["env"])
    assert p.returncode == 1 and "is a CPU-only build" in p.stderr, p.stderr[-3000:]
    assert not (tmp_path / "model.agb").exists()


@pytest.mark.bake
def test_bake_builder_with_a_tuned_bundle(baked, tmp_path):
    """--tuned-bundle: checked (`aotgemm verify`, GPUs, manifest) and used as is; a wrong one is refused."""
    bundle = baked["out"] / "model.agb"
    common = ["sh", BAKE_SH, "builder", "--python", baked["bpy"], "--no-install", "--manifest", MANIFEST,
              "--tuned-bundle", bundle]
    p = sh(common + ["--gpus", "H100_SXM", "--out", tmp_path / "ok"], env=baked["env"])
    assert (tmp_path / "ok" / "model.agb").read_bytes() == bundle.read_bytes()
    assert json.loads((tmp_path / "ok" / "bake.json").read_text())["source"] == "tuned-bundle"
    assert "no dispatch entry is tuned" in p.stderr  # it was built with --no-tune: a warning, not an error

    p = sh(common + ["--gpus", "H100_SXM,H200_SXM", "--out", tmp_path / "bad"], check=False, env=baked["env"])
    assert p.returncode == 1 and "the tuned bundle has no target for H200_SXM; it has H100_SXM" in p.stderr
    assert not (tmp_path / "bad" / "model.agb").exists()

    other = make_bundle(tmp_path / "other.agb", model="other-model")
    p = sh(common[:-1] + [other, "--gpus", "H100_SXM", "--out", tmp_path / "bad2"], check=False, env=baked["env"])
    assert p.returncode == 1 and "the tuned bundle is for model 'other-model'" in p.stderr

    broken = tmp_path / "broken.agb"
    broken.write_bytes(bundle.read_bytes()[:-10])
    p = sh(common[:-1] + [broken, "--gpus", "H100_SXM", "--out", tmp_path / "bad3"], check=False, env=baked["env"])
    assert p.returncode == 1 and "aotgemm verify" in p.stderr and not (tmp_path / "bad3" / "model.agb").exists()
