"""The bake's checks: what a probe reads inside a target environment, and the pure checks on its JSON.

Split from aotgemm.bake (which re-exports these names): the steps live there,
the facts and verdicts here. Like aotgemm.bake, this module imports only the
standard library at import time; `probe_facts` imports aotgemm inside the
target environment, where it runs as `python -I -m aotgemm.bake probe ...`.
"""

from __future__ import annotations

import os
import re
import sys

# The compiler side: none of these may be importable (or installed) in a runtime environment.
# The probe adds aotgemm.compiler.compiler_modules() (the kernel sources' own requires), where installed.
COMPILER_MODULES = ("cutlass", "cutlass.operators", "nvMatmulHeuristics")
COMPILER_DIST_PREFIXES = ("nvidia-cutlass",)
COMPILER_DISTS = ("nvidia-matmul-heuristics",)


class BakeError(Exception):
    """A step or a check failed; the message says which and what to do."""


def log(msg: str) -> None:
    print(f"bake: {msg}", file=sys.stderr, flush=True)



# --- checks (pure: they read a probe's JSON) -------------------------------------------------------
def major_minor(version: str | None) -> tuple[int, int] | None:
    m = re.match(r"\s*v?(\d+)\.(\d+)", str(version or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def compiler_leaks(facts: dict) -> list[str]:
    """What of the compiler side a runtime environment holds (it must hold none)."""
    out = [f"module {m!r} is importable" for m in facts.get("compiler_modules", [])]
    out += [f"distribution {d} is installed" for d in facts.get("compiler_dists", [])]
    return out


def required_tvm_ffi(bundle: dict) -> tuple[int, int] | None:
    """The apache-tvm-ffi major.minor the bundle's libraries export (one for all targets), or None."""
    wanted = {major_minor(t["env"].get("tvm_ffi")) for t in bundle["targets"]} - {None}
    if len(wanted) > 1:
        raise BakeError(f"the bundle's targets were built against different apache-tvm-ffi ABIs "
                        f"({', '.join(f'{a}.{b}' for a, b in sorted(wanted))}); one environment cannot serve them all")
    return next(iter(wanted), None)


def runtime_problems(facts: dict, *, allow_cpu_torch: bool = False) -> tuple[list[str], list[str]]:
    """(errors, warnings) for serving facts["bundle"] from the environment `facts` describes.

    What a machine with no GPU can check: the compiler is absent, torch's CUDA
    major is the one the libraries link against, apache-tvm-ffi exports the
    same ABI, and no target needs libcute_dsl_runtime.so (which ships only with
    the compiler). The GPU model and the driver are checked where the image
    runs, by `aotgemm verify --env` and `aotgemm.runtime.load`.
    """
    errors: list[str] = []
    warnings: list[str] = []
    leaks = compiler_leaks(facts)
    if leaks:
        errors.append("the runtime environment holds the compiler side (" + "; ".join(leaks)
                      + "): install aotgemm without extras into a fresh environment")
    if not facts.get("aotgemm_runtime_importable"):
        errors.append(f"aotgemm.runtime cannot be imported: {facts.get('aotgemm_runtime_error') or '?'}")
    bundle = facts.get("bundle")
    if bundle is None:
        return errors, warnings
    if bundle.get("error"):
        errors.append(f"the bundle is not sound: {bundle['error']}")
        return errors, warnings
    torch = facts.get("torch") or {}
    torch_cuda = torch.get("cuda")
    tvm = facts.get("tvm_ffi")
    for t in bundle["targets"]:
        env, where = t["env"], f"target {t['gpu']} ({t['arch']})"
        rt_major = env.get("cuda_runtime_major")
        if rt_major is not None:
            if torch_cuda is None:
                msg = (f"{where}: torch {torch.get('version')} is a CPU-only build; the kernels link against "
                       f"CUDA {rt_major}: install a torch build for CUDA {rt_major}")
                (warnings if allow_cpu_torch else errors).append(msg)
            elif (major_minor(torch_cuda + ".0") or (None,))[0] != int(rt_major):
                errors.append(f"{where}: torch's CUDA runtime is {torch_cuda} but the kernels link against CUDA "
                              f"{rt_major} (cuda_runtime_major): install a torch build for CUDA {rt_major}")
        want = major_minor(env.get("tvm_ffi"))
        if want is not None and major_minor(tvm) != want:
            errors.append(f"{where}: apache-tvm-ffi {tvm or '(not installed)'} does not export the ABI of "
                          f"{env.get('tvm_ffi')} the library was linked against (major.minor {want[0]}.{want[1]})")
        if env.get("link_mode") == "dsl-runtime":
            errors.append(f"{where}: link mode 'dsl-runtime' needs libcute_dsl_runtime.so, which ships only with "
                          "the compiler (nvidia-cutlass-dsl-libs-*); rebuild the bundle with the default link "
                          "mode 'static-runtime'")
    return errors, warnings


def tuned_bundle_problems(bundle: dict, manifest: dict | None, gpus: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for using `bundle` (a bundle tuned earlier) as the image's bundle for `manifest`, `gpus`."""
    errors: list[str] = []
    warnings: list[str] = []
    if bundle.get("error"):
        return [f"the tuned bundle is not sound: {bundle['error']}"], warnings
    have = {t["gpu"]: t for t in bundle["targets"]}
    missing = [g for g in gpus if g not in have]
    if missing:
        errors.append(f"the tuned bundle has no target for {', '.join(missing)}; it has "
                      f"{', '.join(sorted(have)) or 'none'} (build it on that GPU, or name the GPUs it was "
                      "built for with --gpus / --build-arg GPUS=...)")
    for g in gpus:
        t = have.get(g)
        if t is not None and not t.get("tuned_entries"):
            warnings.append(f"target {g}: no dispatch entry is tuned (every choice is the analytic model's); "
                            "was it built with --no-tune?")
    if manifest is not None:
        if manifest["model"] != bundle["model"]:
            errors.append(f"the tuned bundle is for model {bundle['model']!r}, the manifest for "
                          f"{manifest['model']!r}")
        want = {(n, k) for _, n, k in manifest["layers"]}
        got = {(n, k) for _, n, k in bundle["layers"]}
        if want != got:
            def fmt(s):
                return ", ".join(f"N={n} K={k}" for n, k in sorted(s)) or "none"
            errors.append(f"the tuned bundle's layer shapes differ from the manifest's: only in the manifest: "
                          f"{fmt(want - got)}; only in the bundle: {fmt(got - want)}")
        missing_dt = sorted(set(manifest["dtypes"]) - set(bundle["dtypes"]))
        if missing_dt:
            errors.append(f"the tuned bundle holds no {', '.join(missing_dt)} kernels the manifest asks for")
        if list(manifest["m_buckets"]) != list(bundle["m_buckets"]):
            warnings.append(f"the tuned bundle's M buckets {bundle['m_buckets']} differ from the manifest's "
                            f"{manifest['m_buckets']} (the bundle's are used)")
    return errors, warnings


def _report(errors: list[str], warnings: list[str], what: str) -> None:
    for w in warnings:
        log(f"warning: {w}")
    if errors:
        raise BakeError(f"{what}:\n" + "\n".join(f"  - {e}" for e in errors))


# --- probe (runs inside the target environment) ------------------------------------------------
def probe_facts(bundle: str | None = None, manifest: str | None = None) -> dict:
    import importlib.metadata as md
    import importlib.util

    facts: dict = {"python": sys.version.split()[0], "executable": sys.executable}
    try:
        facts["aotgemm"] = md.version("aotgemm")
    except md.PackageNotFoundError:
        facts["aotgemm"] = None
    mods = list(COMPILER_MODULES)
    try:  # the one list of the compiler side's modules, computed without importing any of them
        from aotgemm.compiler import compiler_modules

        mods += [m for m in compiler_modules() if m not in mods]
    except Exception as e:  # noqa: BLE001 - an older aotgemm, or a broken one: the fixed list still applies
        facts["compiler_modules_error"] = f"{type(e).__name__}: {e}"
    found = []
    for mod in mods:
        try:
            if importlib.util.find_spec(mod) is not None:
                found.append(mod)
        except (ImportError, ValueError):
            pass
    facts["compiler_modules"] = found
    dists = sorted({(d.metadata["Name"] or "").lower().replace("_", "-") for d in md.distributions()} - {""})
    facts["compiler_dists"] = [d for d in dists if d.startswith(COMPILER_DIST_PREFIXES) or d in COMPILER_DISTS]
    try:
        facts["tvm_ffi"] = md.version("apache-tvm-ffi")
    except md.PackageNotFoundError:
        facts["tvm_ffi"] = None
    try:
        import torch

        facts["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda}
    except Exception as e:  # noqa: BLE001 - reported, not raised
        facts["torch"] = None
        facts["torch_error"] = f"{type(e).__name__}: {e}"
    facts["aotgemm_runtime_importable"] = importlib.util.find_spec("aotgemm.runtime") is not None
    if bundle:
        facts["bundle"] = _bundle_facts(bundle)
    if manifest:
        from aotgemm.manifest import load_manifest

        m = load_manifest(manifest)
        facts["manifest"] = {"model": m.model, "layers": [[x.name, x.n, x.k] for x in m.layers],
                             "m_buckets": list(m.m_buckets), "dtypes": list(m.dtypes), "gpus": list(m.gpus)}
    return facts


def _bundle_facts(path: str) -> dict:
    from aotgemm.bundle import open_bundle
    from aotgemm.errors import AotGemmError

    try:
        b = open_bundle(path, verify_blobs=True)
    except AotGemmError as e:
        return {"error": str(e)}
    idx = b.index
    return {
        "model": idx.model,
        "layers": [[x.name, x.n, x.k] for x in idx.layers],
        "m_buckets": list(idx.m_buckets),
        "dtypes": sorted({d.dtype for t in idx.targets for d in t.dispatch}),
        "targets": [{"gpu": t.gpu, "arch": t.arch, "sm_count": t.sm_count, "kernels": len(t.kernels),
                     "env": {k: v for k, v in t.env.items()},
                     "tuned_entries": sum(1 for d in t.dispatch if d.decided_by == "tuned"),
                     "dispatch_entries": len(t.dispatch)} for t in idx.targets],
    }


# --- size (runs inside the target environment) --------------------------------------------------
def size_facts() -> dict:
    """Bytes of this environment's site-packages, in total and per installed distribution."""
    import importlib.metadata as md
    import sysconfig

    roots = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    total = 0
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for f in files:
                try:
                    total += os.lstat(os.path.join(dirpath, f)).st_size
                except OSError:
                    pass
    per: dict[str, int] = {}
    for d in md.distributions():
        n = 0
        for f in d.files or []:
            try:
                n += os.lstat(f.locate()).st_size
            except OSError:
                pass
        name = d.metadata["Name"] or "?"
        per[name] = per.get(name, 0) + n
    return {"site_packages": roots, "total_bytes": total, "dists": per}
