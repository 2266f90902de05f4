"""CUDA-core decode GEMM ("simt" designs) for the smallest M (1..4), in the CuTe DSL.

At one to four tokens the tensor-core kernel (decode_kernels) pads the token
side to 8 and pays a shared-memory pipeline and a cross-warp/cluster
reduction; plain FMAs are enough work-wise (M FMAs per weight element) and
need neither. Design fields (besides kind/n/k/max_m/pdl):

  rows   weight rows (output columns) per CTA, unrolled: each x value loaded
         and converted once is used `rows` times
  warps  warps per CTA, splitting K: lane l of warp w takes the V consecutive
         k (16 bytes: V = 8 bf16 or 16 e4m3) at (w*32 + l)*V + i*(warps*32*V),
         so a warp reads 512 contiguous bytes of a row per load instruction
  unroll iterations whose loads are issued together (rows*unroll 16-byte
         weight loads in flight per lane, .L1::no_allocate: read once)
  lb     bytes per load (key absent: 16). 8 halves V, for an e4m3 K that is
         no whole number of 16-byte warp loads (1280 = 2.5 x 32 x 16): Qwen2.5
         TP4's o and down, which had no CUDA-core kernel in e4m3

M is dynamic up to max_m: x rows past M are clamped to row M-1 (computed,
never stored). fp8 designs (dtype "float8_e4m3fn", decode_kernels.FP8):
each 16-byte fragment is converted to fp32 as a whole (the DSL emits the
paired cvt e4m3x2 -> f16x2, then f16 -> f32), then FMA. Reduction:
butterfly shuffles inside each warp, then the warps' partials through shared
memory in a fixed order: deterministic.
Fused epilogues (design key "epilogue"; fp8: the scale epilogue that
dequantises): as in decode_kernels, through decode_epilogue's weight_row
(gated epilogues: rows/2 gate rows, then their up rows, per CTA), column_factor and
epilogue_value (fp32, one rounding to bf16).
"""

from .decode_epilogue import is_gated


def _load_bytes(d: dict) -> int:
    return d.get("lb", 16)


def _vec(d: dict) -> int:
    """Elements per load: 8 bf16 or 16 e4m3 in 16 bytes, half that in 8."""
    return _load_bytes(d) // (1 if d.get("dtype") == "float8_e4m3fn" else 2)


def validate_simt(d: dict) -> None:
    n, k, rows, warps, u = d["n"], d["k"], d["rows"], d["warps"], d["unroll"]
    step = warps * 32 * _vec(d)
    if _load_bytes(d) not in (8, 16):
        raise ValueError(f"lb (bytes per load) must be 8 or 16, got {_load_bytes(d)}")
    if d["max_m"] not in (1, 2, 3, 4):
        raise ValueError("simt designs serve max_m 1..4")
    if n % rows:
        raise ValueError(f"n={n} is not a multiple of rows={rows}")
    if k % (step * u):
        raise ValueError(f"k={k} is not a multiple of warps*32*{_vec(d)}*unroll = {step * u}")
    if d["max_m"] * rows > 32 * warps:
        raise ValueError("max_m*rows outputs must not exceed the CTA's threads")
    if is_gated(d.get("epilogue")) and rows % 2:
        raise ValueError(f"{d['epilogue']}: a CTA holds rows/2 gate rows and their rows/2 up rows: rows must be "
                         f"even, got {rows}")


def simt_smem_bytes(d: dict) -> int:
    return d["warps"] * d["max_m"] * d["rows"] * 4 + 64


def build_simt(d: dict):
    """The @cute.jit launcher for simt design d.  Imports cutlass."""
    import cutlass
    import cutlass.cute as cute
    from cutlass import const_expr

    from .decode_design_dicts import releases_early
    from .decode_epilogue import column_factor, epilogue_value, jit_launcher, weight_row

    BF16, F32 = cutlass.BFloat16, cutlass.Float32
    N, K = d["n"], d["k"]
    MM, R, WARPS, U, PDL = d["max_m"], d["rows"], d["warps"], d["unroll"], d["pdl"]
    FP8_IN = d.get("dtype") == "float8_e4m3fn"
    EL = cutlass.Float8E4M3FN if FP8_IN else BF16
    V = _vec(d)                        # elements per load
    LB = _load_bytes(d)
    THREADS = 32 * WARPS
    STEP = WARPS * 32 * V              # k covered by the CTA per iteration
    CHUNKS = K // (STEP * U)
    EPI = d.get("epilogue", "identity")
    SWI = is_gated(EPI)
    OUTR = R // 2 if SWI else R        # output columns per CTA

    def sum_warps(part, i):
        # output i's partials of the warps, in a fixed order
        s = cutlass.Float32(0.0)
        for wq in range(WARPS):
            s = s + part[wq * (MM * R) + i]
        return s

    @cute.kernel
    def kernel(x: cute.Tensor, w: cute.Tensor, out: cute.Tensor, ep: tuple, m: cutlass.Int32, xs: cutlass.Int32):
        tid, _, _ = cute.arch.thread_idx()
        bn, _, _ = cute.arch.block_idx()
        warp = tid // 32
        lane = tid % 32
        k0 = tid * V
        wrows = []  # the weight rows of this CTA's logical rows (gated: gate rows, then their up rows)
        for r in cutlass.range_constexpr(R):
            wrows.append(weight_row(bn, r, R, N, SWI))

        w_atom = cute.make_copy_atom(
            cute.nvgpu.CopyG2ROp(), EL, num_bits_per_copy=8 * LB,
            l1c_evict_priority=cute.nvgpu.CacheEvictionPriority.NO_ALLOCATE)
        x_atom = cute.make_copy_atom(cute.nvgpu.CopyG2ROp(), EL, num_bits_per_copy=8 * LB)
        wr = cute.make_rmem_tensor(cute.make_layout(U * R * V), EL)
        xr = cute.make_rmem_tensor(cute.make_layout(U * MM * V), EL)
        if const_expr(FP8_IN):
            # whole-fragment conversions (paired cvt), then plain fp32 FMAs
            wf = cute.make_rmem_tensor(cute.make_layout(U * R * V), F32)
            xf = cute.make_rmem_tensor(cute.make_layout(U * MM * V), F32)
        acc = cute.make_rmem_tensor(cute.make_layout(MM * R), F32)
        acc.fill(0.0)

        xrows = []
        for mi in cutlass.range_constexpr(MM):
            xrows.append(cutlass.min(mi, m - 1))

        # Every load comes after the wait, the weights' too (the tensor-core kernels request theirs before it):
        # the first chunk's weight loads moved above it gained nothing on the H200 back to back, after a plain
        # kernel, or after Inductor's PDL writer (median 0.999x-1.012x over 48 points, 0.88x-1.08x per design;
        # bench/results/h200-2026-12-02/session22, call A).
        if const_expr(PDL):
            cute.arch.griddepcontrol_wait()
        for ch in cutlass.range(CHUNKS, unroll=1):
            for u in cutlass.range_constexpr(U):
                kk = k0 + (ch * U + u) * STEP
                for r in cutlass.range_constexpr(R):
                    src = cute.make_tensor((w.iterator + wrows[r] * K + kk).align(LB), cute.make_layout(V))
                    dst = cute.make_tensor(wr.iterator + (u * R + r) * V, cute.make_layout(V))
                    cute.copy(w_atom, src, dst)
                for mi in cutlass.range_constexpr(MM):
                    src = cute.make_tensor((x.iterator + xrows[mi] * xs + kk).align(LB), cute.make_layout(V))
                    dst = cute.make_tensor(xr.iterator + (u * MM + mi) * V, cute.make_layout(V))
                    cute.copy(x_atom, src, dst)
            if const_expr(FP8_IN):
                wf.store(wr.load().to(F32))
                xf.store(xr.load().to(F32))
                for u in cutlass.range_constexpr(U):
                    for e in cutlass.range_constexpr(V):
                        for mi in cutlass.range_constexpr(MM):
                            xv = xf[(u * MM + mi) * V + e]
                            for r in cutlass.range_constexpr(R):
                                acc[mi * R + r] = acc[mi * R + r] + xv * wf[(u * R + r) * V + e]
            else:
                for u in cutlass.range_constexpr(U):
                    for e in cutlass.range_constexpr(V):
                        for mi in cutlass.range_constexpr(MM):
                            xv = xr[(u * MM + mi) * V + e].to(F32)
                            for r in cutlass.range_constexpr(R):
                                acc[mi * R + r] = acc[mi * R + r] + xv * wr[(u * R + r) * V + e].to(F32)
        if const_expr(releases_early(d)):
            cute.arch.griddepcontrol_launch_dependents()

        smem = cutlass.memory.SmemAllocator()
        part = smem.allocate_tensor(F32, cute.make_layout(WARPS * MM * R), byte_alignment=16)
        for i in cutlass.range_constexpr(MM * R):
            v = cute.arch.warp_reduction_sum(acc[i])
            if lane == 0:
                part[warp * (MM * R) + i] = v
        cute.arch.sync_threads()
        # one thread per (token, output column); the epilogue's operands are read here, after
        # griddepcontrol.wait (the previous kernel may write them)
        if tid < MM * OUTR:
            mi = tid // OUTR
            j = tid % OUTR
            if mi < m:
                if const_expr(SWI):
                    sums = (sum_warps(part, mi * R + j), sum_warps(part, mi * R + OUTR + j))
                else:
                    sums = (sum_warps(part, mi * R + j),)
                col = bn * OUTR + j
                # fp32 epilogue (fp8: dequantised here), one rounding to bf16
                colf = column_factor(EPI, col, ep)
                out[mi, col] = epilogue_value(EPI, sums, mi, col, ep, colf).to(BF16)

    def launch_body(x, wt, out, ep, stream):
        m = x.shape[0]
        w = cute.make_tensor(wt.iterator, cute.make_layout((N, K), stride=(K, 1)))
        kernel(x, w, out, ep, m, x.stride[0]).launch(grid=[N // R, 1, 1], block=[THREADS, 1, 1],
                                        smem=simt_smem_bytes(d), stream=stream, use_pdl=PDL)

    return jit_launcher(launch_body, EPI)
