"""aotgemm.aoti.compile and aotgemm.aoti.load: AOTInductor packages whose GEMMs run the bundle's kernels.

compile: export -> route covered GEMMs to aotgemm::aotgemm_linear -> AOTInductor
with the op's C shim (libaotgemm_aoti) -> add the bundle and its flat meta to
the .pt2 under `<root>/aotgemm/` (extensions the .pt2 loader ignores).

load: load libaotgemm_aoti -> aotgemm_aoti_init (the checks and the library,
in C, shared with the C++ loader) -> torch._inductor.aoti_load_package.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import config
from ..bundle import open_bundle
from . import meta as meta_mod
from . import native
from .errors import PackageError, UnsupportedModel

log = logging.getLogger("aotgemm.aoti")

@contextlib.contextmanager
def _library_path(directory: Path):
    """Let the linker find libaotgemm_aoti for `-laotgemm_aoti` (aot_inductor.custom_op_libs)."""
    old = os.environ.get("LIBRARY_PATH")
    os.environ["LIBRARY_PATH"] = str(directory) + (os.pathsep + old if old else "")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LIBRARY_PATH", None)
        else:
            os.environ["LIBRARY_PATH"] = old


def _dynamic_shapes(example_inputs: Sequence[Any], max_m: int):
    import torch
    from torch.export import Dim

    m = Dim("m", min=1, max=max_m)
    shapes = []
    for i, x in enumerate(example_inputs):
        if isinstance(x, torch.Tensor) and x.dim() >= 1:
            if x.shape[0] < 2:
                raise UnsupportedModel(
                    f"example input {i} has {x.shape[0]} row(s); with dynamic_m=True give at least 2 "
                    "(torch.export specialises sizes 0 and 1); any M from 1 up works at run time")
            shapes.append({0: m})
        else:
            shapes.append(None)
    return tuple(shapes)


def _device_of(ep) -> str:
    import torch

    for t in list(ep.state_dict.values()) + list(ep.constants.values()):
        if isinstance(t, torch.Tensor):
            return "cuda" if t.is_cuda else "cpu"
    for x in ep.example_inputs[0] if ep.example_inputs else ():
        if isinstance(x, torch.Tensor):
            return "cuda" if x.is_cuda else "cpu"
    return "cpu"


def _package_target(bundle, device: str) -> str | None:
    """The bundle target a CUDA package will be served by: the one for the GPU compiling it (AOTInductor
    compiles for the GPU present). None (route what any target serves) for CPU packages, or when the
    bundle has no target for this GPU (loading will refuse or fall back, as for any package)."""
    if device != "cuda":
        return None
    import torch

    from ..gpus import identify

    if not torch.cuda.is_available():
        return None
    idx = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(idx)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    if model is None or bundle.index.target(model.name) is None:
        log.warning("aotgemm.aoti.compile: the bundle has no target for GPU %d (%s); routing the GEMMs any "
                    "target serves", idx, props.name)
        return None
    return model.name


def _archive_root(zf: zipfile.ZipFile) -> str:
    names = zf.namelist()
    if not names or "/" not in names[0]:
        raise PackageError(f"{zf.filename}: not a .pt2 archive (no root folder)")
    return names[0].split("/", 1)[0]


def _append_records(package: Path, records: dict[str, bytes | Path]) -> None:
    """Add files under the archive's root folder, uncompressed (the C side reads the bundle in place)."""
    with zipfile.ZipFile(package, "a", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        root = _archive_root(zf)
        for name, content in records.items():
            arc = f"{root}/{name}"
            if isinstance(content, Path):
                zf.write(content, arc, compress_type=zipfile.ZIP_STORED)
            else:
                zf.writestr(zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0)), content,
                            compress_type=zipfile.ZIP_STORED)


def _unheld_gemms(ep, held: set[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """(dtype, N, K) of each GEMM left in `ep`'s graph (after routing) of a 16-bit dtype whose (N, K) no layer of
    the bundle has: what a bundle built for another model leaves unserved, for compile's warning."""
    import torch

    from .rewrite import _match, _static, _val

    out = []
    for node in ep.graph_module.graph.nodes:
        m = _match(node)
        wv = _val(m[1]) if m is not None else None
        if wv is None or wv.dim() != 2 or not _static(*wv.shape) or wv.dtype not in (torch.bfloat16, torch.float16):
            continue
        n, k = (int(d) for d in wv.shape)
        if (n, k) not in held:
            out.append((str(wv.dtype).removeprefix("torch."), n, k))
    return out


def compile(  # noqa: A001 - the public name the project asks for
    model_or_exported_program,
    example_inputs: Sequence[Any],
    bundle: str | os.PathLike,
    package_path: str | os.PathLike,
    *,
    dynamic_m: bool = True,
    max_m: int = 1 << 16,
    embed_bundle: bool = True,
    embed_native: bool = True,
    cxx: str | None = None,
    inductor_configs: dict[str, Any] | None = None,
    fold_slow_fallbacks: bool = False,
) -> str:
    """Compile a model into an AOTInductor package whose covered GEMMs run the bundle's kernels.

    `model_or_exported_program`: an nn.Module (exported here with the first
    dimension of every tensor input dynamic when `dynamic_m`) or an
    ExportedProgram (used as exported; its graph is rewritten in place).
    `bundle`: the .agb file; it is validated (every blob) and, with
    `embed_bundle`, stored in the package as `aotgemm/bundle.agb`; the package
    records its SHA-256 and index SHA-256 either way. `embed_native`: store
    the libaotgemm_aoti built here as `aotgemm/libaotgemm_aoti.aotgemm-native`, so
    a serving machine needs no compiler and no cache folder. `cxx`: the C++ compiler
    for the package and libaotgemm_aoti (default $CXX, else g++).

    Each covered GEMM and folded epilogue goes to the bundle only at the M its kernels
    serve (meta.served_ranges): where those are not every M the package admits, a
    torch.cond on M runs the computation as it was elsewhere (aoti/guard.py), so the
    package is plain AOTInductor at every M the bundle leaves to cuBLAS.
    `fold_slow_fallbacks`: fold the epilogues (and route the fp8 calls) at every M
    instead, with no cond (where no kernel serves, the shim then runs cuBLAS and the
    unfused epilogue: for SwiGLU slower than Inductor's fused kernel). Returns the
    package path. The package is written to a temporary file and renamed.
    """
    import torch

    t0 = time.perf_counter()
    bundle_path = Path(bundle)
    bf = open_bundle(bundle_path, verify_blobs=True)
    cxx = native.requested_cxx(cxx)
    lib_path = native.build_native(cxx=cxx)

    from ..runtime.table import dtype_name
    from .op import op as aotgemm_op
    from .op import shims
    from .rewrite import route_exported_program

    aotgemm_op()
    example_inputs = tuple(example_inputs)
    if isinstance(model_or_exported_program, torch.export.ExportedProgram):
        ep = model_or_exported_program
    elif isinstance(model_or_exported_program, torch.nn.Module):
        shapes = _dynamic_shapes(example_inputs, max_m) if dynamic_m else None
        ep = torch.export.export(model_or_exported_program, example_inputs, dynamic_shapes=shapes)
    else:
        raise UnsupportedModel(f"expected an nn.Module or an ExportedProgram, got {type(model_or_exported_program).__name__}")

    device = _device_of(ep)
    target = _package_target(bf, device)
    covered = meta_mod.coverage(bf, target)
    fusable = meta_mod.epilogue_coverage(bf, target)
    if fold_slow_fallbacks:  # folded at every M: a set
        fusable = set(fusable)
    routed = route_exported_program(ep, covered, fusable)
    if not routed:
        log.warning("aotgemm.aoti.compile: no GEMM of the model is covered by %s; the package will not use it", bundle_path)
    else:
        log.info("aotgemm.aoti.compile: routed %d GEMM(s) to the bundle", len(routed))
    missing = _unheld_gemms(ep, {(layer.n, layer.k) for layer in bf.index.layers})
    if missing:
        log.warning("aotgemm.aoti.compile: %d GEMM(s) the package leaves to Inductor have shapes %s does not hold, "
                    "e.g. %s N=%d K=%d: was it built from this model's manifest?", len(missing), bundle_path.name,
                    *missing[0])

    specs = []
    for x in (ep.example_inputs[0] if ep.example_inputs else example_inputs):
        if isinstance(x, torch.Tensor):
            shape = tuple(-1 if (dynamic_m and i == 0) else int(d) for i, d in enumerate(x.shape))
            specs.append(meta_mod.InputSpec(dtype_name(x.dtype), shape))
    file_sha = meta_mod.file_sha256(bundle_path)
    text = meta_mod.render(bf, device=device, inputs=specs, routed=routed, file_sha=file_sha)

    configs = dict(inductor_configs or {})
    configs["aot_inductor.custom_ops_to_c_shims"] = shims()
    configs["aot_inductor.custom_op_libs"] = [native.LINK_NAME]
    md = dict(configs.get("aot_inductor.metadata") or {})
    md.update({"aotgemm.bundle": bundle_path.name, "aotgemm.bundle_sha256": file_sha,
               "aotgemm.native_sha256": meta_mod.file_sha256(lib_path) if embed_native else "",
               "aotgemm.index_sha256": meta_mod.index_sha256(bf), "aotgemm.routed_gemms": str(len(routed))})
    configs["aot_inductor.metadata"] = md
    if cxx:
        configs["cpp.cxx"] = (None, cxx)

    out = Path(package_path)
    if out.suffix != ".pt2":
        raise UnsupportedModel(f"package path {out} must end in .pt2")
    out.parent.mkdir(parents=True, exist_ok=True)
    # A temporary folder beside the target, so the archive's root folder takes the final name.
    tmp_dir = Path(tempfile.mkdtemp(prefix=".aotgemm-aoti-", dir=out.parent))
    tmp = tmp_dir / out.name
    try:
        with _library_path(lib_path.parent):
            torch._inductor.aoti_compile_and_package(ep, package_path=str(tmp), inductor_configs=configs)
        records: dict[str, bytes | Path] = {meta_mod.META_RECORD: text.encode()}
        if embed_native:
            records[meta_mod.NATIVE_RECORD] = lib_path
        if embed_bundle:
            records[meta_mod.BUNDLE_RECORD] = bundle_path
        _append_records(tmp, records)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    log.info("aotgemm.aoti.compile: wrote %s in %.1f s", out, time.perf_counter() - t0)
    return str(out)


def package_info(package_path: str | os.PathLike) -> meta_mod.MetaInfo:
    """What the package's aotgemm meta says (bundle identity, inputs, routed GEMMs, dispatch)."""
    try:
        with zipfile.ZipFile(package_path) as zf:
            root = _archive_root(zf)
            text = zf.read(f"{root}/{meta_mod.META_RECORD}").decode()
    except KeyError:
        raise PackageError(f"{package_path}: not a package made by aotgemm.aoti.compile "
                           f"(it has no {meta_mod.META_RECORD})") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise PackageError(f"{package_path}: cannot read the package ({e})") from None
    return meta_mod.parse(text)


def _embedded_native(package_path, cache_dir) -> Path | None:
    """The package's own libaotgemm_aoti, installed into the cache (None: the package has none, so the
    one built here is used, as for packages made before it was embedded)."""
    try:
        with zipfile.ZipFile(package_path) as zf:
            root = _archive_root(zf)
            try:
                data = zf.read(f"{root}/{meta_mod.NATIVE_RECORD}")
            except KeyError:
                return None
    except (OSError, zipfile.BadZipFile) as e:
        raise PackageError(f"{package_path}: cannot read the package ({e})") from None
    return native.install_embedded(data, cache_dir)


def _native_for(package_path, cache_dir):
    """libaotgemm_aoti for this process: the one already loaded, else the package's copy, else built here."""
    lib = native.loaded()
    return lib if lib is not None else native.load_native(path=_embedded_native(package_path, cache_dir))


def _flags(strict: bool | None, cpu_kernels: bool = False) -> int:
    strict = config.strict() if strict is None else strict
    return (0 if strict else native.FLAG_NONSTRICT) | (native.FLAG_CPU_KERNELS if cpu_kernels else 0)


def _device_index(info: meta_mod.MetaInfo, device_index: int | None, device: native.DeviceSpec | None) -> int:
    if info.device != "cuda" and device is None:
        return -1
    if device_index is not None:
        return device_index
    if device is not None:
        return 0
    import torch

    return torch.cuda.current_device() if torch.cuda.is_available() else 0


def check(package_path: str | os.PathLike, *, bundle: str | os.PathLike | None = None,
          device_index: int | None = None, device: native.DeviceSpec | None = None,
          strict: bool | None = None) -> str:
    """Run the package checks libaotgemm_aoti runs at load, without loading anything.

    Raises BundleNotFound, BundleIntegrityError, WrongGpu, NoGpu, DriverTooOld
    or PackageError; returns the warning of a non-strict mismatch ("" if none).
    `device`: check against this GPU description instead of the device present.
    """
    info = package_info(package_path)
    lib = _native_for(package_path, None)
    return native.check(lib, package_path, bundle, _device_index(info, device_index, device), device, _flags(strict))


def load(package_path: str | os.PathLike, *, bundle: str | os.PathLike | None = None,
         device_index: int | None = None, strict: bool | None = None, cache_dir: str | os.PathLike | None = None,
         run_single_threaded: bool = False, _device: native.DeviceSpec | None = None, _cpu_kernels: bool = False):
    """Load a package made by aotgemm.aoti.compile; return the runner (torch._inductor.aoti_load_package's).

    Checks the bundle first (inside the package, or `bundle`): present, the
    one the package was built with, intact, built for this GPU; extracts and
    loads its kernel library; then loads the package. Nothing is compiled or
    benchmarked. `_device`/`_cpu_kernels` exist for tests on machines without a GPU.
    """
    import torch

    info = package_info(package_path)
    lib = _native_for(package_path, cache_dir)
    index = _device_index(info, device_index, _device)
    native.init(lib, package_path, bundle, index, _device, str(cache_dir or config.cache_dir()),
                _flags(strict, _cpu_kernels))
    import inspect

    params = inspect.signature(torch._inductor.aoti_load_package).parameters
    kwargs = {"run_single_threaded": run_single_threaded} if "run_single_threaded" in params else {}
    if info.device == "cuda" and "device_index" in params:
        kwargs["device_index"] = index
    return torch._inductor.aoti_load_package(os.fspath(package_path), **kwargs)


def counters() -> dict[str, int]:
    """The shim's counters (calls, hits, misses and misses by reason); zeros before load."""
    lib = native.loaded()
    return native.counters(lib) if lib else {k: 0 for k in native.COUNTERS}


def by_reason() -> dict[str, int]:
    """The shim's misses by reason, named as aotgemm.runtime.stats().by_reason() names them (non-zero ones)."""
    from ..dispatch_rule import MISS_REASONS

    c = counters()
    return {r.text: c[r.counter] for r in MISS_REASONS if c[r.counter]}


def reset_counters() -> None:
    lib = native.loaded()
    if lib:
        lib.aotgemm_aoti_reset_counters()


def lookup(dtype: str, n: int, k: int, m: int) -> str | None:
    """The shim's dispatch decision for a GEMM: a kernel symbol, "cublas", or None (no entry / no library)."""
    lib = native.loaded()
    if not lib:
        return None
    r = lib.aotgemm_aoti_lookup(dtype.encode(), n, k, m)
    return r.decode() if r else None


def describe() -> str:
    """libaotgemm_aoti's state as one JSON line."""
    lib = native.loaded()
    return native.describe(lib) if lib else '{"initialized": false}'
