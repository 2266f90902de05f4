"""The container bake: the steps a Dockerfile runs, as one tested program (docs/bake.md).

    bake builder --manifest M --gpus G [--tuned-bundle B] --out DIR [--venv V]
    bake runtime --bundle B --dest PATH [--package WHEEL|DIR] [--venv V]
    bake size [--venv V]

`builder` installs the compiler side (aotgemm[build]) into a Python
environment, then either checks a bundle tuned earlier on a GPU host or
cross-compiles one with no GPU (`aotgemm build --no-tune`). It writes
DIR/model.agb, DIR/dist/aotgemm-*.whl (the exact aotgemm that made the
bundle) and DIR/bake.json (what was done, for logs and CI).

`runtime` installs the runtime only (that wheel, no extras: no CuTe DSL, no
cutlass.operators, no nvMatmulHeuristics) into a Python environment, pins
apache-tvm-ffi to the ABI the bundle's libraries export, refuses an
environment that holds the compiler or cannot serve the bundle's libraries
(wrong torch CUDA major, 'dsl-runtime' link mode), checks the bundle's
integrity with `aotgemm verify` and places it at PATH atomically.

Both run the same in a Dockerfile and in fresh virtual environments (CI,
tests/test_bake.py). This module imports only the standard library at import
time, so `python -m aotgemm.bake` (scripts/bake.sh) runs from a source tree
with a bare interpreter; the checks that need aotgemm run *inside* the
target environment as `python -I -m aotgemm.bake probe ...`.

Exit status: 0 done; 1 a step or a check failed (one line "bake: error: ..."
says which); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .bake_checks import (  # noqa: F401  (re-exported: the checks are part of the bake's interface)
    COMPILER_DIST_PREFIXES,
    COMPILER_DISTS,
    COMPILER_MODULES,
    BakeError,
    _report,
    compiler_leaks,
    log,
    major_minor,
    probe_facts,
    required_tvm_ffi,
    runtime_problems,
    size_facts,
    tuned_bundle_problems,
)

# What `runtime` installs torch as unless told otherwise: the release the project
# is tested with. An unpinned torch resolves to the newest CUDA build on PyPI (GBs).
DEFAULT_TORCH = "torch==2.13.0"
BUNDLE_NAME = "model.agb"
RECORD_NAME = "bake.json"
WHEEL_DIR = "dist"

# What a wheel build never takes from the source tree. Only the top level's files and aotgemm/ are
# copied, so build/, dist/, .venv/, .git/ at the top never are; inside aotgemm/ every directory is
# package source whatever its name (a subpackage named `build` was once dropped from the wheel here),
# and only bytecode and compiled leftovers are skipped, at every depth.
_JUNK_DIRS = {"__pycache__"}
_JUNK_SUFFIXES = (".pyc", ".so", ".o")


# --- environments ----------------------------------------------------------------------------
@dataclass
class Env:
    """The Python environment a step installs into and runs in."""

    python: Path
    timings: dict[str, float] = field(default_factory=dict)
    # A directory of wheels to install everything from, with no index (no network); None: the indexes.
    wheelhouse: Path | None = None

    def pip_source_args(self) -> list[str]:
        return ["--no-index", "--find-links", str(self.wheelhouse)] if self.wheelhouse else []

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    def aotgemm_cmd(self) -> list[str]:
        exe = self.bin_dir / "aotgemm"
        return [str(exe)] if exe.exists() else [str(self.python), "-I", "-m", "aotgemm.cli"]


def resolve_env(venv: str | None, python: str | None) -> Env:
    """--venv DIR (created when missing) or --python PY (an existing interpreter) or this interpreter."""
    if venv and python:
        raise BakeError("give --venv or --python, not both")
    if venv:
        d = Path(venv).absolute()
        py = d / "bin" / "python"
        if not py.exists():
            log(f"creating virtual environment {d}")
            run([sys.executable, "-m", "venv", str(d)])
        return Env(py)
    if python:
        p = Path(python)
        if not p.exists():
            found = shutil.which(python)
            if not found:
                raise BakeError(f"--python {python}: no such interpreter")
            p = Path(found)
        return Env(p.absolute())
    return Env(Path(sys.executable))


def wheelhouse_dir(value: str | None) -> Path | None:
    """--wheelhouse DIR: a directory holding wheels ('' = none: install from the indexes)."""
    d = _opt_path(value)
    if d is None:
        return None
    if not d.is_dir():
        raise BakeError(f"--wheelhouse {value}: no such directory (it must lie in the build context)")
    if not any(d.glob("*.whl")):
        raise BakeError(f"--wheelhouse {value}: holds no wheel (*.whl); fill it with `pip download -d {value} ...` "
                        "(scripts/ci-image.sh shows how)")
    return d


def _clean_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    # A step must not load a bundle on import (aotgemm.runtime autoloads AOTGEMM_BUNDLE).
    env.pop("AOTGEMM_BUNDLE", None)
    # A step runs the aotgemm installed in its environment, never a source tree: scripts/bake.sh puts
    # the tree on PYTHONPATH to run this module, which would otherwise hide a package missing from
    # the wheel (it did: the compiler package).
    env.pop("PYTHONPATH", None)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    env.update(extra or {})
    return env


def run(cmd: list[str], *, capture: bool = False, check: bool = True, env: dict | None = None,
        cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """Run a command (echoed); raise BakeError when it fails and `check`."""
    log("$ " + " ".join(_quote(c) for c in cmd))
    # A neutral cwd: `python -m` must not pick up a source tree lying in the current directory.
    proc = subprocess.run(cmd, cwd=cwd or tempfile.gettempdir(), env=_clean_env(env), text=True,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        tail = ""
        if capture:
            tail = "\n" + ((proc.stdout or "") + (proc.stderr or ""))[-4000:]
        raise BakeError(f"command failed with exit status {proc.returncode}: {' '.join(cmd)}{tail}")
    return proc


def _quote(s: str) -> str:
    return s if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def pip_install(env: Env, args: list[str], *, index_url: str | None = None) -> None:
    # -I: pip must see only the venv. Without it, the current directory is on sys.path, and a
    # source checkout that was once `pip install -e`'d holds aotgemm.egg-info, which makes pip
    # believe aotgemm is already installed and skip the wheel (seen in CI's fresh clone).
    cmd = [str(env.python), "-I", "-m", "pip", "install", "--progress-bar", "off"]
    if env.wheelhouse:
        # Everything from the wheelhouse, nothing from any index: an index URL given too is moot.
        cmd += env.pip_source_args()
    elif index_url:
        cmd += ["--index-url", index_url]
    run(cmd + args)


def install_torch(env: Env, spec: str | None, index_url: str | None) -> None:
    """Install torch first, on its own, so the package's `torch>=` never pulls an unpinned build."""
    if not spec:
        return
    t0 = time.perf_counter()
    pip_install(env, [spec], index_url=index_url or None)
    env.timings["install_torch"] = time.perf_counter() - t0


def probe(env: Env, *, bundle: Path | None = None, manifest: Path | None = None) -> dict:
    """Run `aotgemm.bake probe` inside `env` and return what it found (JSON)."""
    cmd = [str(env.python), "-I", "-m", "aotgemm.bake", "probe"]
    if bundle is not None:
        cmd += ["--bundle", str(bundle)]
    if manifest is not None:
        cmd += ["--manifest", str(manifest)]
    proc = run(cmd, capture=True, check=False)
    if proc.returncode != 0:
        raise BakeError(f"probing {env.python} failed (exit status {proc.returncode}); is aotgemm installed "
                        f"there?\n{(proc.stdout + proc.stderr)[-4000:]}")
    return json.loads(proc.stdout)


# --- the source tree and the wheel -------------------------------------------------------------
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _copy_source(src: Path, dst: Path) -> None:
    """What a wheel build needs: the top-level files (pyproject.toml, README, LICENSE) and aotgemm/."""
    if not (src / "pyproject.toml").is_file():
        raise BakeError(f"{src} is not a source tree of aotgemm (no pyproject.toml)")
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.is_file():
            shutil.copy2(p, dst / p.name)
    shutil.copytree(src / "aotgemm", dst / "aotgemm",
                    ignore=lambda d, names: [n for n in names if n in _JUNK_DIRS or n.endswith(_JUNK_SUFFIXES)])


def build_wheel(env: Env, src: Path, out_dir: Path) -> Path:
    """Build aotgemm's wheel from a private copy of `src` (the tree itself may be read-only or shared)."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("aotgemm-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="aotgemm-src-") as tmp:
        tree = Path(tmp) / "src"
        _copy_source(src, tree)
        # The build backend (setuptools) comes from the wheelhouse too, when there is one.
        run([str(env.python), "-I", "-m", "pip", "wheel", "--progress-bar", "off", "--no-deps", *env.pip_source_args(),
             "-w", str(out_dir), str(tree)])
    env.timings["build_wheel"] = time.perf_counter() - t0
    return find_wheel(out_dir)


def find_wheel(path: Path) -> Path:
    """A wheel file, or the one aotgemm wheel in a directory."""
    if path.is_file():
        return path
    wheels = sorted(path.glob("aotgemm-*.whl"))
    if len(wheels) != 1:
        raise BakeError(f"expected exactly one aotgemm wheel in {path}, found {len(wheels)}: "
                        f"{', '.join(w.name for w in wheels) or 'none'}")
    return wheels[0]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def place_file(src: Path, dest: Path, mode: int = 0o644) -> None:
    """Copy src to dest atomically (a temporary file in dest's directory, fsync, rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_gpus(values: list[str]) -> tuple[str, ...]:
    """--gpus "H100_SXM H200_SXM", "H100_SXM,H200_SXM" or repeated: a tuple without duplicates."""
    out: list[str] = []
    for v in values:
        for name in re.split(r"[\s,]+", v.strip()):
            if name and name not in out:
                out.append(name)
    return tuple(out)


def _opt_path(v: str | None) -> Path | None:
    return Path(v).absolute() if v and v.strip() else None


# --- commands --------------------------------------------------------------------------------------
def cmd_builder(a) -> dict:
    t_start = time.perf_counter()
    gpus = parse_gpus(a.gpus)
    if not gpus:
        raise BakeError("--gpus names no GPU")
    manifest = _opt_path(a.manifest)
    if manifest is None or not manifest.is_file():
        raise BakeError(f"--manifest {a.manifest}: no such file")
    tuned = _opt_path(a.tuned_bundle)
    if tuned is not None and not tuned.is_file():
        raise BakeError(f"--tuned-bundle {a.tuned_bundle}: no such file (it must lie in the build context)")
    out = Path(a.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    wheelhouse = wheelhouse_dir(a.wheelhouse)  # checked before a venv is made
    env = resolve_env(a.venv, a.python)
    env.wheelhouse = wheelhouse
    src = Path(a.src).absolute() if a.src else repo_root()

    if not a.no_install:
        install_torch(env, a.torch, a.torch_index_url)
    wheel = build_wheel(env, src, out / WHEEL_DIR)
    if not a.no_install:
        t0 = time.perf_counter()
        pip_install(env, [f"{wheel}[build]"])
        env.timings["install_aotgemm_build"] = time.perf_counter() - t0

    bundle_out = out / BUNDLE_NAME
    aotgemm = env.aotgemm_cmd()
    if tuned is not None:
        log(f"using the bundle tuned earlier: {tuned}")
        t0 = time.perf_counter()
        run(aotgemm + ["verify", str(tuned)])
        facts = probe(env, bundle=tuned, manifest=manifest)
        errors, warnings = tuned_bundle_problems(facts["bundle"], facts.get("manifest"), gpus)
        _report(errors, warnings, f"the tuned bundle {tuned} cannot be used")
        place_file(tuned, bundle_out)
        env.timings["check_tuned"] = time.perf_counter() - t0
        source = "tuned-bundle"
    else:
        cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
        if not cxx:
            raise BakeError("no C++ compiler: linking kernels needs g++ (apt-get install g++) or $CXX")
        t0 = time.perf_counter()
        cmd = aotgemm + ["build", str(manifest), "--no-tune", "--top-k", str(a.top_k), "-o", str(bundle_out)]
        for g in gpus:
            cmd += ["--gpu", g]
        if a.jobs:
            cmd += ["--jobs", str(a.jobs)]
        if a.cache_dir:
            cmd += ["--cache-dir", str(Path(a.cache_dir).absolute())]
        run(cmd)
        env.timings["aotgemm_build"] = time.perf_counter() - t0
        run(aotgemm + ["verify", str(bundle_out)])
        facts = probe(env, bundle=bundle_out)
        source = "no-tune build"
    bundle = facts["bundle"]
    if bundle.get("error"):
        raise BakeError(f"{bundle_out}: {bundle['error']}")
    record = {
        "step": "builder", "source": source, "manifest": str(manifest), "gpus": list(gpus),
        "tuned_bundle": str(tuned) if tuned else None, "bundle": BUNDLE_NAME,
        "bundle_sha256": sha256_file(bundle_out), "bundle_bytes": bundle_out.stat().st_size,
        "wheel": wheel.name, "wheelhouse": str(env.wheelhouse) if env.wheelhouse else None,
        "aotgemm": facts.get("aotgemm"), "python": facts.get("python"),
        "torch": facts.get("torch"), "tvm_ffi": facts.get("tvm_ffi"),
        "model": bundle["model"], "targets": bundle["targets"],
        "timings": {k: round(v, 2) for k, v in env.timings.items()},
        "seconds": round(time.perf_counter() - t_start, 2),
    }
    (out / RECORD_NAME).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    log(f"builder: {bundle_out} ({record['bundle_bytes']} bytes, {source}; targets "
        f"{', '.join(t['gpu'] for t in bundle['targets'])}) in {record['seconds']:.1f} s")
    return record


def cmd_runtime(a) -> dict:
    t_start = time.perf_counter()
    bundle = Path(a.bundle).absolute()
    if not bundle.is_file():
        raise BakeError(f"--bundle {a.bundle}: no such file")
    dest = Path(a.dest).absolute()
    wheelhouse = wheelhouse_dir(a.wheelhouse)  # checked before a venv is made
    env = resolve_env(a.venv, a.python)
    env.wheelhouse = wheelhouse

    if not a.no_install:
        install_torch(env, a.torch, a.torch_index_url)
        t0 = time.perf_counter()
        if a.package:
            wheel = find_wheel(Path(a.package).absolute())
        else:
            wheel = build_wheel(env, repo_root(), Path(tempfile.mkdtemp(prefix="aotgemm-wheel-")))
        pip_install(env, [str(wheel)])  # no extras: the runtime install
        env.timings["install_aotgemm"] = time.perf_counter() - t0

    facts = probe(env, bundle=bundle)
    if facts["bundle"].get("error"):
        raise BakeError(f"{bundle}: {facts['bundle']['error']}")
    want = required_tvm_ffi(facts["bundle"])
    if want is not None and major_minor(facts.get("tvm_ffi")) != want and not a.no_install:
        log(f"the bundle's libraries export the apache-tvm-ffi {want[0]}.{want[1]} ABI; "
            f"installed: {facts.get('tvm_ffi')}: pinning")
        pip_install(env, [f"apache-tvm-ffi=={want[0]}.{want[1]}.*"])
        facts = probe(env, bundle=bundle)
    errors, warnings = runtime_problems(facts, allow_cpu_torch=a.allow_cpu_torch)
    _report(errors, warnings, "this runtime environment cannot serve the bundle")

    place_file(bundle, dest)
    if sha256_file(dest) != sha256_file(bundle):
        raise BakeError(f"{dest}: the copy differs from {bundle}")
    aotgemm = env.aotgemm_cmd()
    run(aotgemm + ["verify", str(dest)])
    # What the HEALTHCHECK runs. On a build machine with no GPU it says so and exits 1: shown, not fatal.
    proc = run(aotgemm + ["verify", "--env", str(dest)], capture=True, check=False)
    shown = (proc.stdout + proc.stderr).strip()
    log(f"`aotgemm verify --env` here (exit status {proc.returncode}):\n{shown}")
    if proc.returncode not in (0, 1) or "Traceback" in shown:
        raise BakeError(f"`aotgemm verify --env {dest}` crashed (exit status {proc.returncode})")
    record = {"step": "runtime", "bundle": str(dest), "bundle_sha256": sha256_file(dest),
              "aotgemm": facts.get("aotgemm"), "torch": facts.get("torch"), "tvm_ffi": facts.get("tvm_ffi"),
              "python": facts.get("python"), "warnings": warnings,
              "timings": {k: round(v, 2) for k, v in env.timings.items()},
              "seconds": round(time.perf_counter() - t_start, 2)}
    log(f"runtime: {dest} in place for {env.python} in {record['seconds']:.1f} s")
    return record


def cmd_size(a) -> dict:
    env = resolve_env(a.venv, a.python)
    # This file, loaded by path inside the target environment: works there whether aotgemm is installed or not.
    code = ("import importlib.util, json, sys\n"
            "spec = importlib.util.spec_from_file_location('_aotgemm_bake', sys.argv[1])\n"
            "m = sys.modules[spec.name] = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print(json.dumps(m.size_facts()))\n")
    proc = run([str(env.python), "-I", "-c", code, str(Path(__file__).resolve())], capture=True)
    facts = json.loads(proc.stdout)
    if a.json:
        print(json.dumps(facts, indent=2, sort_keys=True))
        return facts
    mb = 1e6
    lines = [f"{env.python}: site-packages {facts['total_bytes'] / mb:.1f} MB ({', '.join(facts['site_packages'])})"]
    for name, n in sorted(facts["dists"].items(), key=lambda kv: -kv[1])[: a.top]:
        lines.append(f"  {n / mb:9.1f} MB  {name}")
    print("\n".join(lines))
    return facts


def cmd_probe(a) -> dict:
    facts = probe_facts(a.bundle, a.manifest)
    print(json.dumps(facts, sort_keys=True))
    return facts


def _env_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("environment")
    g.add_argument("--venv", help="virtual environment to install into and run in (created when missing)")
    g.add_argument("--python", help="an existing interpreter to install into and run with (default: this one)")
    g.add_argument("--torch", default=DEFAULT_TORCH,
                   help=f"torch requirement installed first, on its own (default {DEFAULT_TORCH!r}; '' skips)")
    g.add_argument("--torch-index-url", default="",
                   help="index to take torch from (e.g. https://download.pytorch.org/whl/cu130); "
                        "default: pip's configured index")
    g.add_argument("--wheelhouse", default="",
                   help="install every package (torch too) from this directory of wheels, with no index and no "
                        "network (pip --no-index --find-links DIR); '' (default): from the indexes")
    g.add_argument("--no-install", action="store_true", help="install nothing: the environment is ready")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bake", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("builder", help="install aotgemm[build]; check a tuned bundle or build one with no GPU")
    b.add_argument("--manifest", required=True, help="the model's manifest (TOML)")
    b.add_argument("--gpus", action="append", default=[], required=True,
                   help="GPU models the image serves: 'H100_SXM', 'H100_SXM,H200_SXM' (repeatable)")
    b.add_argument("--tuned-bundle", default="",
                   help="a bundle tuned earlier on a GPU host: checked and used instead of building ('' = none)")
    b.add_argument("--out", required=True, help=f"directory for {BUNDLE_NAME}, {WHEEL_DIR}/ and {RECORD_NAME}")
    b.add_argument("--src", default="", help="aotgemm's source tree (default: the one holding this file)")
    b.add_argument("--top-k", type=int, default=5, help="candidates kept per (layer, M bucket) (default 5)")
    b.add_argument("--jobs", type=int, default=0, help="parallel compile workers (default: all cores)")
    b.add_argument("--cache-dir", default="", help="compile cache (default: aotgemm's, $XDG_CACHE_HOME/aotgemm)")
    _env_args(b)
    b.set_defaults(func=cmd_builder)

    r = sub.add_parser("runtime", help="install the runtime only and place the bundle")
    r.add_argument("--bundle", required=True, help="the bundle to ship")
    r.add_argument("--dest", required=True, help="where the image keeps it (e.g. /opt/aotgemm/model.agb)")
    r.add_argument("--package", default="",
                   help=f"aotgemm wheel, or a directory holding one (the builder's {WHEEL_DIR}/); default: built "
                        "from the source tree holding this file")
    r.add_argument("--allow-cpu-torch", action="store_true",
                   help="accept a CPU-only torch (CI without a GPU); otherwise torch must be a CUDA build of "
                        "the major the bundle links against")
    _env_args(r)
    r.set_defaults(func=cmd_runtime)

    s = sub.add_parser("size", help="size of an environment's site-packages, largest distributions first")
    s.add_argument("--venv")
    s.add_argument("--python")
    s.add_argument("--top", type=int, default=15, help="distributions listed (default 15)")
    s.add_argument("--json", action="store_true", help="print the totals and every distribution as JSON")
    s.set_defaults(func=cmd_size)

    pr = sub.add_parser("probe", help="(internal) what this environment holds, as JSON")
    pr.add_argument("--bundle")
    pr.add_argument("--manifest")
    pr.set_defaults(func=cmd_probe)
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        a.func(a)
    except (BakeError, OSError) as e:
        print(f"bake: error: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
