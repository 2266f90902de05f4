"""The runtime on a real GPU, with a real bundle built for it.

    AOTGEMM_TEST_BUNDLE=artifacts/model.agb pytest -m gpu tests/gpu/test_runtime_gpu.py -v -s

Skipped without a CUDA GPU (tests/gpu/conftest.py) or without AOTGEMM_TEST_BUNDLE.
The bundle must hold a target for this GPU and match this machine (strict load).

(a) every kernel of this GPU's target, called directly through tvm_ffi, against a
    float32 reference on fresh random inputs, output poisoned with NaN before each run,
    at M = 1, 7, 100, 1000, 3000 and at each bucket (and its lower edge) the kernel serves;
    and each chosen PDL kernel right after Inductor's PDL kernel writes its x (it must wait);
(b) a Llama-style block (fused qkv, o, gate_up, down with SiLU * up) patched vs unpatched:
    eager, torch.compile, CUDA graph (replayed after changing the input in place);
    stats show hits for the bundle's shapes, and replays are not counted; and separate q/k/v
    projections (transformers' form), which patch fuses into the bundle's qkv GEMM.
"""

from __future__ import annotations

import copy
import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

pytestmark = pytest.mark.gpu

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
KERNEL_MS = (1, 7, 100, 1000, 3000)
MODEL_MS = (1, 7, 128, 1000)
KERNEL_TOL = 1e-2  # ||out - ref|| / ||ref|| against a float32 reference
MODEL_TOL = 2e-2  # patched vs unpatched, both bf16/fp16 end to end
# (b) and the fallbacks run bf16/fp16 nn.Linear / rt.linear; fp8 layers are served through rt.scaled_mm
NO_16BIT_LAYERS = ("the bundle holds no bf16/fp16 layers for rt.linear (an fp8 bundle is served through "
                   "aotgemm.runtime.scaled_mm: tests/gpu/test_fp8_aoti_gpu.py)")


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    ref = ref.float()
    return ((out.float() - ref).norm() / ref.norm().clamp_min(1e-30)).item()


@pytest.fixture(scope="module")
def loaded():
    path = os.environ.get("AOTGEMM_TEST_BUNDLE")
    if not path:
        pytest.skip("set AOTGEMM_TEST_BUNDLE to a bundle built for this GPU")
    import aotgemm.runtime as rt

    b = rt.load(path, strict=True)
    print(f"\n{b.describe()}\ntimings (ms): " + ", ".join(f"{k} {1e3 * v:.2f}" for k, v in b.timings.items()))
    yield b
    rt.unload()


@pytest.fixture
def rt(loaded):
    import aotgemm.runtime as rt

    loaded.activate()
    rt.reset_stats()
    yield rt
    rt.reset_stats()


@pytest.fixture
def no_tf32():
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = old


# --- (a) every kernel, directly -----------------------------------------------------
def _kernel_cases(loaded):
    """symbol -> {(n, k): set of M} to test: the fixed Ms plus each bucket it serves and that bucket's lower edge."""
    from aotgemm.bundle import CUBLAS

    t, buckets = loaded.target, loaded.index.m_buckets
    layers = sorted({(layer.n, layer.k) for layer in loaded.index.layers})
    cases: dict[str, dict[tuple[int, int], set[int]]] = {k.symbol: {} for k in t.kernels}
    for e in t.dispatch:
        if e.kernel == CUBLAS:
            continue
        ms = cases[e.kernel].setdefault((e.n, e.k), set(KERNEL_MS))
        i = buckets.index(e.m_bucket)
        ms.update({e.m_bucket, (buckets[i - 1] + 1) if i else 1})
    for e in t.dispatch:  # every kept candidate too, on the shape its entry is for
        for sym in e.ranked:
            cases[sym].setdefault((e.n, e.k), set(KERNEL_MS))
    for k in t.kernels:  # a kernel no entry names: try it on the manifest's layers (if not shape-specialised)
        if not cases[k.symbol] and not k.x_row_stride:
            cases[k.symbol] = {s: set(KERNEL_MS) for s in layers if s[0] % k.alignment == 0 and s[1] % k.alignment == 0}
    return cases


@torch.no_grad()
def test_every_kernel_directly(loaded, no_tf32):
    """Each kernel called through the call convention (aotgemm.runtime.table.call_kernel), M up to its max_m.

    Every dtype the bundle holds: bf16/fp16, and fp8 e4m3 with its scales (the reference then is the float32
    GEMM of the dequantized operands), on timing.random_operands' fresh draws."""
    from aotgemm.epilogues import epilogue
    from aotgemm.problem import GemmProblem
    from aotgemm.runtime.table import call_kernel
    from aotgemm.timing import random_operands, torch_dtype

    dev = torch.device("cuda", torch.cuda.current_device())
    kernels = {k.symbol: k for k in loaded.target.kernels}
    failures, runs = [], 0
    gen = torch.Generator(dev).manual_seed(1234)
    for symbol, shapes in sorted(_kernel_cases(loaded).items()):
        kern = kernels[symbol]
        fn = loaded.module.get_function(symbol)
        epi = epilogue(kern.epilogue)
        for (n, k), ms in sorted(shapes.items()):
            problem = GemmProblem(kern.dtype, kern.layout, kern.epilogue, n, k)
            for m in sorted(ms):
                if kern.max_m and m > kern.max_m:
                    continue
                x, w, operands = random_operands(problem, m, gen, dev)  # fresh inputs every run
                if m > 1 and not kern.x_row_stride and m == max(v for v in ms if not kern.max_m or v <= kern.max_m):
                    # its largest M also with x's rows padded (a slice of a wider tensor, as q of a fused
                    # qkv output is): a kernel that takes any row stride must read the rows where they are
                    wide = torch.empty(m, k + 64, device=dev, dtype=x.dtype)
                    wide[:, :k] = x
                    x = wide[:, :k]
                out = torch.full((m, problem.n_out), float("nan"), device=dev,
                                 dtype=torch_dtype(problem.out_dtype))  # poisoned
                call_kernel(fn, problem, x, w, out, operands, torch.cuda.current_stream(dev).cuda_stream)
                ref = epi.reference(x, w, **operands)
                torch.cuda.synchronize(dev)
                runs += 1
                if not torch.isfinite(out).all():
                    bad = (~torch.isfinite(out)).sum().item()
                    failures.append(f"{symbol} N={n} K={k} M={m}: {bad} of {out.numel()} outputs not written / "
                                    "not finite")
                    continue
                err = rel_err(out, ref)
                if not err < KERNEL_TOL:
                    failures.append(f"{symbol} N={n} K={k} M={m} x row stride {x.stride(0)}: rel. error {err:.3e}")
                del x, w, operands, out, ref
    print(f"\n{runs} kernel runs over {len(kernels)} kernels, {len(failures)} failed")
    assert runs > 0, "the target has no kernels to test"
    assert not failures, f"{len(failures)} of {runs} runs wrong:\n" + "\n".join(failures[:40])


@torch.no_grad()
def test_kernels_read_x_only_after_a_pdl_writer(loaded, no_tf32):
    """Under Inductor's PDL (TORCHINDUCTOR_ENABLE_PDL=1) the kernel that writes x releases the next one before
    it stores, and a bundle kernel launched with PDL then runs alongside it: it must read x (and its epilogue
    operands) only after its griddepcontrol.wait. In one CUDA graph, per chosen kernel and bucket: x poisoned
    with NaN by a plain copy, x written by Inductor's PDL copy (timing.writer), the kernel. A kernel that read
    x early returns NaN or the previous replay's values; each of three replays gets a new source."""
    from aotgemm.bundle import CUBLAS
    from aotgemm.epilogues import epilogue
    from aotgemm.problem import GemmProblem
    from aotgemm.runtime.table import call_kernel
    from aotgemm.timing import PDL_WRITER, random_operands, torch_dtype, writer

    dev = torch.device("cuda", torch.cuda.current_device())
    write = writer(PDL_WRITER)
    kernels = {k.symbol: k for k in loaded.target.kernels}
    gen = torch.Generator(dev).manual_seed(4321)
    failures, runs = [], 0
    for e in loaded.target.dispatch:
        if e.kernel == CUBLAS or not kernels[e.kernel].design_dict.get("pdl"):
            continue
        kern, m = kernels[e.kernel], e.m_bucket
        problem = GemmProblem(kern.dtype, kern.layout, kern.epilogue, e.n, e.k)
        x, w, operands = random_operands(problem, m, gen, dev)
        src = torch.empty_like(x)
        poison = torch.full_like(x.float(), float("nan")).to(x.dtype)
        out = torch.empty(m, problem.n_out, device=dev, dtype=torch_dtype(problem.out_dtype))

        def step():
            x.copy_(poison)
            write(x, src)
            call_kernel(loaded.module.get_function(e.kernel), problem, x, w, out, operands,
                        torch.cuda.current_stream(dev).cuda_stream)

        src.copy_(random_operands(problem, m, gen, dev)[0])
        step()  # compiles the writer for this shape, outside the capture
        torch.cuda.synchronize(dev)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        for _ in range(3):
            src.copy_(random_operands(problem, m, gen, dev)[0])
            out.fill_(float("nan"))
            graph.replay()
            torch.cuda.synchronize(dev)
            runs += 1
            err = rel_err(out, epilogue(kern.epilogue).reference(src, w, **operands))
            if not err < KERNEL_TOL:
                failures.append(f"{e.kernel} N={e.n} K={e.k} M={m}: rel. error {err:.3e} after the PDL writer")
    if runs == 0:
        pytest.skip("the bundle's dispatch chooses no PDL kernel")
    print(f"\n{runs} replays (poison, PDL writer, kernel), {len(failures)} wrong")
    assert not failures, "\n".join(failures[:40])


# --- (b) a Llama-style block ---------------------------------------------------------
class LlamaBlock(nn.Module):
    """The four GEMMs of a Llama decoder layer; attention is reduced to taking q out of the fused qkv."""

    def __init__(self, hidden: int, qkv_n: int, q_width: int, gate_up_n: int, down_k: int):
        super().__init__()
        self.q_width = q_width
        self.qkv = nn.Linear(hidden, qkv_n, bias=False)
        self.o = nn.Linear(q_width, hidden, bias=False)
        self.gate_up = nn.Linear(hidden, gate_up_n, bias=False)
        self.down = nn.Linear(down_k, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.qkv(x)[..., : self.q_width]  # a strided view: rows padded to qkv_n
        h = x + self.o(q)
        gate, up = self.gate_up(h).chunk(2, dim=-1)
        return h + self.down(F.silu(gate) * up)


def _block_for(loaded) -> tuple[LlamaBlock, torch.dtype, dict[str, tuple[int, int]]]:
    layers = {layer.name: (layer.n, layer.k) for layer in loaded.index.layers}
    names = ("qkv", "o", "gate_up", "down")
    if not all(n in layers for n in names):
        pytest.skip(f"the bundle's layers are {sorted(layers)}, not a Llama block's {names}")
    (qkv_n, hidden), (o_n, q_width), (gu_n, gu_k), (down_n, down_k) = (layers[n] for n in names)
    if not (o_n == hidden == gu_k == down_n and gu_n == 2 * down_k and q_width <= qkv_n):
        pytest.skip(f"the bundle's layers do not form a Llama block: {layers}")
    held = {dt for dt, n, k in loaded.shapes if (n, k) in set(layers.values())} & set(DTYPES)
    if not held:
        pytest.skip(NO_16BIT_LAYERS)
    dt_name = "bfloat16" if "bfloat16" in held else sorted(held)[0]
    torch.manual_seed(0)
    block = LlamaBlock(hidden, qkv_n, q_width, gu_n, down_k)
    for p in block.parameters():
        nn.init.normal_(p, std=0.02)
    return block.to("cuda", DTYPES[dt_name]).eval(), DTYPES[dt_name], {n: layers[n] for n in names}


def _routes(loaded, dt_name: str, shapes: dict[str, tuple[int, int]], m: int) -> dict[str, object]:
    from aotgemm.bundle import bucket_for

    b = bucket_for(m, loaded.index.m_buckets)
    return {name: loaded.dispatch.table.get((dt_name, "linear", "identity", n, k, b)) for name, (n, k) in shapes.items()}


def _o_is_strided_miss(loaded, dt_name, shapes, m) -> bool:
    """The block feeds o a slice of qkv's output (rows qkv_n apart): a kernel compiled for compact rows
    (x_row_stride = K) must not take it when M > 1; the rule sends it to cuBLAS as non-contiguous."""
    route = _routes(loaded, dt_name, shapes, m)["o"]
    return m > 1 and route is not None and route.serves(m) and bool(route.x_row_stride)


def _expected_hits(loaded, dt_name: str, shapes: dict[str, tuple[int, int]], m: int) -> set[tuple]:
    from aotgemm.bundle import bucket_for

    b = bucket_for(m, loaded.index.m_buckets)
    return {(dt_name, *shapes[name], b) for name, route in _routes(loaded, dt_name, shapes, m).items()
            if route is not None and route.serves(m)  # a kernel, M within its max_m and the entry's min_m
            and not (name == "o" and _o_is_strided_miss(loaded, dt_name, shapes, m))}


@torch.no_grad()
def test_llama_block_eager_compile_and_cuda_graph(loaded, rt):
    block, dtype, shapes = _block_for(loaded)
    dt_name = str(dtype).removeprefix("torch.")
    ref_block = copy.deepcopy(block)  # never patched: cuBLAS
    names = rt.patch(block)
    # what patch routes: the layers an identity kernel serves at some M (LoadedBundle.served)
    assert set(names) == {n for n, (nn_, k) in shapes.items() if (dt_name, nn_, k, "identity") in loaded.served}, names
    hidden = shapes["qkv"][1]

    # eager, 2-D and 3-D inputs
    for m in MODEL_MS:
        rt.reset_stats()
        for x in (torch.randn(m, hidden, device="cuda", dtype=dtype), torch.randn(1, m, hidden, device="cuda", dtype=dtype)):
            y, ref = block(x), ref_block(x)
            assert torch.isfinite(y).all()
            assert rel_err(y, ref) < MODEL_TOL, (m, tuple(x.shape), rel_err(y, ref))
        s = rt.stats()
        want = _expected_hits(loaded, dt_name, shapes, m)
        assert want <= set(s.hits), f"M={m}: expected hits for {sorted(want)}, got {s.hits}, misses {s.misses}"
        allowed = {"bundle chose cublas", "above max_m"}
        if _o_is_strided_miss(loaded, dt_name, shapes, m):
            allowed.add("non-contiguous")
            assert s.by_reason().get("non-contiguous") == 2, s.misses  # o, for the 2-D and the 3-D x
        assert set(s.by_reason()) <= allowed, s.misses
        print(f"eager M={m}: hits {s.total_hits}, misses {s.by_reason()}")

    # torch.compile (inductor): the op stays opaque and runs per call
    compiled = torch.compile(block)
    for m in MODEL_MS:
        rt.reset_stats()
        x = torch.randn(m, hidden, device="cuda", dtype=dtype)
        y, ref = compiled(x), ref_block(x)
        assert rel_err(y, ref) < MODEL_TOL, ("compile", m, rel_err(y, ref))
        want = _expected_hits(loaded, dt_name, shapes, m)
        assert want <= set(rt.stats().hits), ("compile", m, rt.stats())

    # CUDA graph: capture once, replay after changing the input in place
    for m in MODEL_MS:
        x_static = torch.randn(m, hidden, device="cuda", dtype=dtype)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                block(x_static)
        torch.cuda.current_stream().wait_stream(side)
        rt.reset_stats()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y_static = block(x_static)
        captured = rt.stats()
        assert _expected_hits(loaded, dt_name, shapes, m) <= set(captured.hits), ("graph", m, captured)
        for _ in range(3):
            x_static.copy_(torch.randn_like(x_static))
            graph.replay()
            torch.cuda.synchronize()
            ref = ref_block(x_static)
            assert torch.isfinite(y_static).all()
            assert rel_err(y_static, ref) < MODEL_TOL, ("graph", m, rel_err(y_static, ref))
        assert rt.stats() == captured, "replays must not change the stats (counted at capture)"
        del graph

    assert rt.unpatch(block) == names


class SeparateQKV(nn.Module):
    """An attention's projections as transformers writes them (q_proj, k_proj, v_proj apart), with a stand-in
    for the attention that uses all three."""

    def __init__(self, hidden: int, n_q: int, n_kv: int):
        super().__init__()
        self.q_proj = nn.Linear(hidden, n_q, bias=False)
        self.k_proj = nn.Linear(hidden, n_kv, bias=False)
        self.v_proj = nn.Linear(hidden, n_kv, bias=False)

    def forward(self, x):
        q = self.q_proj(x)
        k = self.k_proj(x)
        v = self.v_proj(x)
        return q * torch.sigmoid(k.float().mean(-1, keepdim=True)).to(q.dtype) + v.mean(-1, keepdim=True)


@torch.no_grad()
def test_separate_qkv_projections_run_as_the_bundles_qkv_gemm(loaded, rt):
    """patch() fuses q_proj/k_proj/v_proj into one GEMM of the bundle's qkv shape (runtime/patch.py
    fuse_projections): served by its kernels, eager, compiled and in a CUDA graph, as the unpatched module."""
    _, dtype, shapes = _block_for(loaded)
    dt_name = str(dtype).removeprefix("torch.")
    qkv_n, hidden = shapes["qkv"]
    if (dt_name, qkv_n, hidden, "identity") not in loaded.served:
        pytest.skip(f"the tuner kept cuBLAS for qkv {qkv_n}x{hidden} at every M")
    n_kv = (qkv_n // 6) // 64 * 64  # any split: the stacked shape is what the bundle holds
    torch.manual_seed(1)
    attn = SeparateQKV(hidden, qkv_n - 2 * n_kv, n_kv)
    for p in attn.parameters():
        nn.init.normal_(p, std=0.02)
    attn = attn.to("cuda", dtype).eval()
    ref = copy.deepcopy(attn)
    assert rt.patch(attn) == [""]
    compiled = torch.compile(attn)
    for m in MODEL_MS:
        want = _expected_hits(loaded, dt_name, {"qkv": (qkv_n, hidden)}, m)
        for run in (attn, compiled):
            rt.reset_stats()
            x = torch.randn(1, m, hidden, device="cuda", dtype=dtype)
            y = run(x)
            assert rel_err(y, ref(x)) < MODEL_TOL, (m, run is compiled, rel_err(y, ref(x)))
            assert want <= set(rt.stats().hits), (m, run is compiled, rt.stats())
        x_static = torch.randn(m, hidden, device="cuda", dtype=dtype)
        attn(x_static)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y_static = attn(x_static)
        x_static.copy_(torch.randn_like(x_static))
        graph.replay()
        torch.cuda.synchronize()
        assert rel_err(y_static, ref(x_static)) < MODEL_TOL, ("graph", m)
        del graph
    assert rt.unpatch(attn) == [""]


@torch.no_grad()
def test_bias_side_stream_and_fallbacks(loaded, rt):
    shapes = sorted(s for s in loaded.shapes if s[0] in DTYPES)
    if not shapes:
        pytest.skip(NO_16BIT_LAYERS)
    dt_name, n, k = shapes[0]
    dtype = DTYPES[dt_name]
    w = torch.randn(n, k, device="cuda", dtype=dtype) / math.sqrt(k)
    bias = torch.randn(n, device="cuda", dtype=dtype)
    side = torch.cuda.Stream()
    for m in (1, 33, 600):
        x = torch.randn(3, m, k, device="cuda", dtype=dtype)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # the kernel must run on the current (side) stream
            y = rt.linear(x, w, bias)
        side.synchronize()
        assert y.shape == (3, m, n)
        assert rel_err(y, F.linear(x.float(), w.float(), bias.float())) < KERNEL_TOL
    # a shape the bundle does not hold, and an unaligned K: cuBLAS, counted
    rt.reset_stats()
    x = torch.randn(5, k + 3, device="cuda", dtype=dtype)
    w2 = torch.randn(n, k + 3, device="cuda", dtype=dtype)
    torch.testing.assert_close(rt.linear(x, w2), F.linear(x, w2), rtol=0, atol=0)
    assert rt.stats().by_reason() == {"no entry": 1}
    # CPU tensors of a held shape
    xc, wc = torch.randn(2, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
    torch.testing.assert_close(rt.linear(xc, wc), F.linear(xc, wc), rtol=0, atol=0)
    assert rt.stats().by_reason() == {"no entry": 1, "cpu tensor": 1}
