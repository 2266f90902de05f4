"""CPU tests of the timing side of fused epilogues: the baseline a fused kernel is timed against, and floors."""

import pytest
import torch

from aotgemm import timing
from aotgemm.problem import GemmProblem


def problem(name, n=64, k=32):
    return GemmProblem("bfloat16", "linear", name, n, k)


def test_identity_baseline_is_plain_cublas():
    assert timing.baseline_name(problem("identity")) == timing.CUBLAS_BASELINE
    x, w = torch.randn(3, 32).bfloat16(), torch.randn(64, 32).bfloat16()
    out = torch.full((3, 64), float("nan"), dtype=torch.bfloat16)
    timing.cublas_call(problem("identity"))(x, w, out, {})
    assert torch.equal(out, x @ w.t())


@pytest.mark.parametrize("name", ["bias", "residual_add", "swiglu"])
def test_without_inductor_the_baseline_is_eager_and_says_so(monkeypatch, name):
    # where Inductor cannot compile (no Triton, no GPU...), the eager epilogue is timed, and named
    monkeypatch.setitem(timing._INDUCTOR, (name, False), (None, "RuntimeError: no triton"))
    p = problem(name)
    assert timing.baseline_name(p) == f"{timing.EAGER_BASELINE} (Inductor unavailable: RuntimeError: no triton)"
    g = torch.Generator().manual_seed(0)
    x, w, extras = timing.random_operands(p, 5, g, device="cpu")
    out = torch.full((5, p.n_out), float("nan"), dtype=torch.bfloat16)
    timing.cublas_call(p)(x, w, out, extras)
    from aotgemm.epilogues import epilogue

    assert torch.equal(out, epilogue(name).unfused(x @ w.t(), **extras))


def test_a_compiled_epilogue_is_called_with_the_operands_in_registry_order(monkeypatch):
    seen = []
    monkeypatch.setitem(timing._INDUCTOR, ("residual_add", False), (lambda *a: seen.append(a), ""))
    p = problem("residual_add")
    assert timing.baseline_name(p) == timing.INDUCTOR_BASELINE
    x, w, out, r = (torch.zeros(1),) * 4
    timing.cublas_call(p)(x, w, out, {"residual": r})
    assert len(seen) == 1 and seen[0][3] is r and len(seen[0]) == 4


def test_the_pdl_baseline_is_its_own_compile(monkeypatch):
    # a model compiled with Inductor's PDL runs the epilogue compiled with PDL on: a separate function
    calls = []
    monkeypatch.setitem(timing._INDUCTOR, ("bias", False), (lambda *a: calls.append("plain"), ""))
    monkeypatch.setitem(timing._INDUCTOR, ("bias", True), (lambda *a: calls.append("pdl"), ""))
    x, w, out, b = (torch.zeros(1),) * 4
    timing.cublas_call(problem("bias"), pdl=True)(x, w, out, {"bias": b})
    timing.cublas_call(problem("bias"))(x, w, out, {"bias": b})
    assert calls == ["pdl", "plain"]


@pytest.mark.parametrize("kind", timing.WRITERS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn])
def test_model_mode_writers_copy_exactly(kind, dtype):
    # the x-writer of model mode (Inductor's PDL copy compiles on the CPU too, without PDL): every M the
    # bench reaches compiles, M = 1 included (dynamo specialises it), and the copy is bit-exact
    write = timing.writer(kind)
    for m in (1, 3, 16):
        src = torch.randn(m, 48).to(dtype)
        x = torch.full((m, 48), float("nan")).to(dtype)
        write(x, src)
        assert torch.equal(x.view(torch.uint8), src.view(torch.uint8))


def test_an_unknown_writer_is_named():
    with pytest.raises(ValueError, match="unknown model-mode writer 'pdl'; use one of copy, inductor-pdl"):
        timing.writer("pdl")


def test_floors_count_the_epilogue_bytes():
    bw, tf = 4000.0, 700.0  # GB/s, TFLOP/s: memory-bound at these M
    plain = timing.floor_for(problem("identity", 28672, 4096), 8, bw, tf)
    swiglu = timing.floor_for(problem("swiglu", 28672, 4096), 8, bw, tf)
    assert swiglu == pytest.approx(plain - 2 * 8 * 14336 / (bw * 1e3))  # writes N/2 columns
    residual = timing.floor_for(problem("residual_add", 4096, 4096), 8, bw, tf)
    bias = timing.floor_for(problem("bias", 4096, 4096), 8, bw, tf)
    base = timing.floor_for(problem("identity", 4096, 4096), 8, bw, tf)
    assert residual == pytest.approx(base + 2 * 8 * 4096 / (bw * 1e3))  # reads r [M, N]
    assert bias == pytest.approx(base + 2 * 4096 / (bw * 1e3))  # reads b [N]
    assert base == timing.floor_us(8, 4096, 4096, bw, tf)
