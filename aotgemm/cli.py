"""The `aotgemm` command line. Each command is a thin wrapper over a module function."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .epilogues import scale_kinds  # the manifest scales --fp8 takes (the registry imports no torch)
from .errors import AotGemmError
from .tune import MARGIN  # the tuner's margin, the least `aotgemm tune --margin` takes (tune imports no torch)


def _fail(e: Exception) -> None:
    click.echo(f"aotgemm: error: {e}", err=True)
    sys.exit(1)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        # Ctrl-C: one line and status 130, not click's "Aborted!" (status 1) or a traceback.
        # The compile workers ignore SIGINT; the pool kills them and removes its temporary files.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            hint = ("; kernels compiled so far are in the compile cache, a rerun starts from there"
                    if ctx.invoked_subcommand == "build" else "")
            click.echo(f"aotgemm: interrupted{hint}", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group)
@click.version_option(package_name="aotgemm")
def main() -> None:
    """Ahead-of-time CuTe DSL GEMM kernels: build, tune, inspect and verify kernel bundles."""


# --- build -------------------------------------------------------------------
@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Bundle to write (default: artifacts/<model>.agb).")
@click.option("--gpu", "gpus", multiple=True, help="GPU model to build for (repeatable; default: the manifest's).")
@click.option("--no-tune", is_flag=True, help="Pick kernels by the analytic model only, even where a GPU is present.")
@click.option("--top-k", type=click.IntRange(1, 64), default=5, show_default=True,
              help="Candidates kept per (layer, M bucket) by the ranking.")
@click.option("--jobs", type=click.IntRange(1, 256), default=None, help="Parallel compile workers (default: all cores).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Compile cache (default: $XDG_CACHE_HOME/aotgemm).")
@click.option("--compile-timeout", type=click.FloatRange(1), default=600.0, show_default=True,
              help="Seconds one kernel may take to compile before it is abandoned.")
@click.option("--link-mode", type=click.Choice(["static-runtime", "dsl-runtime"]), default="static-runtime",
              show_default=True,
              help="static-runtime: libraries need no DSL file at run time; dsl-runtime: they need "
                   "libcute_dsl_runtime.so (docs/runtime.md).")
@click.option("--sources", "sources", multiple=True,
              help="Kernel source to draw on (repeatable; default: aotgemm and cutlass_operators).")
def build(manifest, output, gpus, no_tune, top_k, jobs, cache_dir, compile_timeout, link_mode, sources) -> None:
    """Enumerate, rank, compile (and on a GPU, tune) kernels for MANIFEST; write a bundle."""
    try:
        from .compiler.pipeline import BuildOptions, run_build
        from .compiler.sources import DEFAULT_SOURCES
        from .manifest import load_manifest

        m = load_manifest(manifest)
        out = output or Path("artifacts") / f"{m.model}.agb"
        report = run_build(m, BuildOptions(output=out, gpus=tuple(gpus) or m.gpus, tune=not no_tune, top_k=top_k,
                                           jobs=jobs, cache_dir=cache_dir, compile_timeout=compile_timeout,
                                           link_mode=link_mode, sources=tuple(sources) or DEFAULT_SOURCES))
    except AotGemmError as e:
        _fail(e)
    click.echo(report.summary())


# --- inspect / verify ---------------------------------------------------------
@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the index as JSON.")
@click.option("--no-verify", is_flag=True,
              help="Read the index only: skip checking the blobs' checksums (says so on stderr).")
def inspect(bundle, as_json, no_verify) -> None:
    """Show what BUNDLE holds: GPUs, kernels, layers, buckets, the kernel chosen per bucket.

    Every blob is verified first, as by `aotgemm verify`: a damaged bundle is an
    error (exit 1), never printed as if sound.
    """
    from .inspect import bundle_json, render_bundle
    from .bundle import open_bundle

    try:
        b = open_bundle(bundle, verify_blobs=not no_verify)
    except AotGemmError as e:
        _fail(e)
    if no_verify:
        click.echo(f"aotgemm: warning: {bundle}: blobs NOT verified (--no-verify); "
                   "`aotgemm verify` checks them", err=True)
    if as_json:
        click.echo(json.dumps(bundle_json(b), indent=2, sort_keys=True))
    else:
        render_bundle(b)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path), required=False)
@click.option("--env", "check_env", is_flag=True,
              help="Also check that this machine can use the bundle (GPU model, driver, libraries).")
def verify(bundle, check_env) -> None:
    """Check BUNDLE's integrity (exit 0 when sound, 1 with one line saying what failed).

    With --env, also say whether this machine can run it. BUNDLE defaults to $AOTGEMM_BUNDLE.
    """
    from . import config
    from .bundle import open_bundle

    path = bundle or config.bundle_path()
    if not path:
        _fail(AotGemmError("no bundle given and AOTGEMM_BUNDLE is not set"))
    try:
        b = open_bundle(path, verify_blobs=True)
        n_kernels = sum(len(t.kernels) for t in b.index.targets)
        click.echo(f"{path}: OK: format v{b.index.format_version}, {len(b.index.targets)} target(s), "
                   f"{n_kernels} kernel(s), {len(b.index.blobs)} blob(s)")
        if check_env:
            # Check, don't load: nothing is extracted or dlopened.
            from .runtime.environment import check_environment

            report = check_environment(b.index)
            click.echo(report.describe())
            if not report.usable:
                sys.exit(1)
    except AotGemmError as e:
        _fail(e)


# --- manifests ----------------------------------------------------------------
@main.group()
def manifest() -> None:
    """Create and check GEMM shape manifests."""


@manifest.command("from-hf")
@click.argument("config_json", type=click.Path(exists=True, path_type=Path))
@click.option("--tp", type=click.IntRange(1, 1024), default=1, show_default=True, help="Tensor-parallel degree.")
@click.option("--name", default=None, help="Model name (default: the config's _name_or_path, else 'model'; -tpN added when tp > 1).")
@click.option("--gpu", "gpus", multiple=True, help="Target GPU model (repeatable; default H100_SXM).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the manifest here (default: standard output).")
@click.option("--no-fuse", is_flag=True,
              help="Plain GEMM layers: no gated epilogue (swiglu, geglu) on gate_up, no residual_add on o and down, "
                   "no bias on biased projections (Qwen2's qkv).")
@click.option("--m-bucket", "m_buckets", type=click.IntRange(1, 2**31 - 1), multiple=True,
              help="An M bucket to tune for (repeatable, any order; default 1, 2, 4, ..., 8192). Buckets between "
                   "the powers of two above 1024 (1536, 3072, 6144) let the tuner keep a large-tile kernel "
                   "whose lead is lost just above a power-of-two bucket's lower edge (docs/manifest-format.md, build.m_buckets).")
@click.option("--fp8", "fp8", type=click.Choice(scale_kinds()), default=None,
              help="List the layers as fp8 e4m3 W8A8 GEMMs with these scales (all but the LM head; name suffix "
                   "-fp8 or -fp8-SCALES): the recipe you will quantize the model with (torchao per tensor: tensor; "
                   "PerRow: rowwise). Default: the checkpoint's own fp8 scheme where its quantization_config has "
                   "one, else the config's dtype.")
def from_hf(config_json, tp, name, gpus, output, no_fuse, m_buckets, fp8) -> None:
    """Write a manifest from a Hugging Face config.json (CONFIG_JSON: the file, or a model folder holding one)."""
    from .bundle.io import atomic_write_bytes
    from .hf import manifest_from_hf_file
    from .manifest import dump_manifest

    try:
        m = manifest_from_hf_file(config_json, tp=tp, name=name, gpus=tuple(gpus) or None, fuse=not no_fuse,
                                  m_buckets=tuple(sorted(set(m_buckets))) or None, fp8=fp8)
    except AotGemmError as e:
        _fail(e)
    text = dump_manifest(m)
    if output:
        atomic_write_bytes(output, text.encode())
    else:
        click.echo(text, nl=False)


@manifest.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def manifest_check(paths) -> None:
    """Validate manifests; print one line per file."""
    from .manifest import load_manifest

    bad = 0
    for p in paths:
        try:
            m = load_manifest(p)
            click.echo(f"{p}: OK: {m.model}, {len(m.layers)} layer(s), {len(m.m_buckets)} bucket(s)")
        except AotGemmError as e:
            click.echo(f"aotgemm: error: {e}", err=True)
            bad += 1
    sys.exit(1 if bad else 0)


# --- bench --------------------------------------------------------------------
@main.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Benchmark these layers (default: the bundle's).")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench/results"),
              show_default=True, help="Where to write the JSON and the plot.")
@click.option("--pdl-writer", is_flag=True,
              help="Also time each GEMM after its input's writer as Inductor compiles it with PDL on "
                   "(TORCHINDUCTOR_ENABLE_PDL=1), against a baseline compiled the same way.")
def bench(bundle, manifest_path, out_dir, pdl_writer) -> None:
    """Re-measure BUNDLE's choices against cuBLAS on this GPU; print a table, write JSON and a plot."""
    try:
        from .bench import run_bench

        run_bench(bundle, manifest_path, out_dir, pdl_writer=pdl_writer)
    except AotGemmError as e:
        _fail(e)


# --- tune ---------------------------------------------------------------------
@main.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the tuned bundle (written atomically; may be BUNDLE itself).")
@click.option("--gpu-index", type=click.IntRange(0), default=0, show_default=True, help="The CUDA device to tune on.")
@click.option("--trials", type=click.IntRange(5, 200), default=15, show_default=True,
              help="Interleaved timing rounds per decision.")
@click.option("--margin", type=click.FloatRange(MARGIN, 0.5), default=MARGIN, show_default=True,
              help="The win over cuBLAS a kernel needs (0.05: 5%), or half cuBLAS's spread where wider. Widen it "
                   "to serve GPUs with more power headroom than this one: a 3% win at compute-bound M on a "
                   "power-capped H200 measured 0.985x on one that was not (docs/gpus.md).")
def tune(bundle, output, gpu_index, trials, margin) -> None:
    """Tune BUNDLE's target for this GPU against cuBLAS, with only the runtime installed (no compiler).

    Chooses among the candidates each dispatch entry keeps (`ranked`); other
    GPU models' targets are copied unchanged. Every decision, with its finalists'
    ratios, goes to TUNED with the suffix .tune.json.
    """
    try:
        from .bundle.io import atomic_write_bytes
        from .tune import tune_bundle

        result, log = tune_bundle(bundle, output, gpu_index=gpu_index, trials=trials, margin=margin)
        # every decision with its finalists and ratios, as `aotgemm build` writes it beside the bundle
        atomic_write_bytes(Path(output).with_suffix(".tune.json"), json.dumps(log.to_doc(), indent=1).encode())
    except AotGemmError as e:
        _fail(e)
    click.echo(f"wrote {output}: {result.gpu} tuned on {log.device} in {result.seconds:.1f} s; "
               f"{result.chosen} of {result.entries} entries served by bundle kernels, the rest by cuBLAS; "
               f"{len(log.excluded)} candidate(s) excluded as wrong")
    if result.changed:
        click.echo(f"{len(result.changed)} choice(s) changed:")
        for entry, before, after in result.changed:
            click.echo(f"  {entry}: {before} -> {after}")
    else:
        click.echo("no choice changed")


if __name__ == "__main__":
    main()
