"""The build side's clear errors: a missing [build] extra, and a GEMM no kernel supports."""

import importlib.util

import pytest

from aotgemm.errors import BuildExtraMissing, NoCandidates


def test_missing_build_extra_names_the_install_command(monkeypatch):
    import aotgemm.compiler as compiler_pkg

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("cutlass") else real(name, *a))
    with pytest.raises(BuildExtraMissing) as e:
        compiler_pkg.require_build_extra()
    assert str(e.value) == (
        "building kernels needs nvidia-cutlass-dsl[cu13], nvidia-cutlass-operators, which is not installed; "
        "install the compiler side with: pip install 'aotgemm[build]'")


def test_cli_build_without_extra_fails_with_one_line(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import aotgemm.compiler.pipeline as pipeline
    from aotgemm.cli import main

    def missing():
        raise BuildExtraMissing("building kernels needs X; install the compiler side with: pip install 'aotgemm[build]'")

    monkeypatch.setattr(pipeline, "require_build_extra", missing)
    r = CliRunner().invoke(main, ["build", "manifests/llama-3.1-8b.toml", "-o", str(tmp_path / "x.agb")])
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1].startswith("aotgemm: error: building kernels needs X")


def test_cli_build_interrupted_prints_one_line_and_exits_130(monkeypatch, tmp_path):
    """Ctrl-C in the parent: click used to print "Aborted!" and exit 1 (after a traceback per worker)."""
    from click.testing import CliRunner

    import aotgemm.compiler.pipeline as pipeline
    from aotgemm.cli import main

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_build", interrupted)
    r = CliRunner().invoke(main, ["build", "manifests/llama-3.1-8b.toml", "-o", str(tmp_path / "x.agb")])
    assert r.exit_code == 130
    assert r.stdout == ""
    assert r.stderr == ("aotgemm: interrupted; kernels compiled so far are in the compile cache, "
                        "a rerun starts from there\n")
    assert not (tmp_path / "x.agb").exists()


@pytest.mark.build
@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
def test_gemm_no_kernel_supports_is_named_with_the_reason(tmp_path):
    from aotgemm.compiler.pipeline import BuildOptions, run_build
    from aotgemm.manifest import LayerSpec, Manifest

    # Built in code to get past manifest validation, which refuses K % 8 != 0 up front.
    m = Manifest(model="odd", gpus=("H100_SXM",), dtypes=("bfloat16",), layers=(LayerSpec("odd", 4096, 4100),),
                 m_buckets=(1,))
    with pytest.raises(NoCandidates) as e:
        run_build(m, BuildOptions(output=tmp_path / "x.agb", gpus=("H100_SXM",), tune=False,
                                  cache_dir=tmp_path / "c"))
    assert str(e.value) == (
        "no sm_90a kernel of the sources aotgemm, cutlass_operators supports layer 'odd' (bfloat16 linear "
        "N=4096 K=4100, M=1) for H100_SXM: N and K must be multiples of 8 (16-byte alignment) and the dtype "
        "and epilogue ones a source builds")
    assert not (tmp_path / "x.agb").exists()


@pytest.mark.build
@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
def test_a_gpu_of_another_model_is_said_loudly_and_not_used_to_tune(tmp_path, monkeypatch, capsys):
    import aotgemm.compiler.pipeline as pipeline
    from aotgemm.compiler.pipeline import BuildOptions, run_build
    from aotgemm.gpus import gpu_model
    from aotgemm.manifest import LayerSpec, Manifest

    monkeypatch.setattr(pipeline, "local_gpu_model", lambda: gpu_model("H200_SXM"))
    m = Manifest(model="m", gpus=("H100_SXM",), dtypes=("bfloat16",), layers=(LayerSpec("o", 4096, 4096),),
                 m_buckets=(1,))
    report = run_build(m, BuildOptions(output=tmp_path / "x.agb", gpus=("H100_SXM",), tune=True, top_k=1,
                                       cache_dir=tmp_path / "c"))
    err = capsys.readouterr().err
    assert ("aotgemm: WARNING: the GPU here is a H200_SXM, not one of the targets (H100_SXM): tuning skipped"
            in err)
    assert not report.targets[0].tuned and "tuning skipped" in report.summary()


@pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)")
def test_build_names_an_unknown_kernel_source(tmp_path):
    from click.testing import CliRunner

    from aotgemm.cli import main

    r = CliRunner().invoke(main, ["build", "manifests/llama-3.1-8b.toml", "--sources", "quack2",
                                  "-o", str(tmp_path / "x.agb")])
    assert r.exit_code == 1 and "unknown kernel source 'quack2'" in r.output, r.output
    assert not (tmp_path / "x.agb").exists()
