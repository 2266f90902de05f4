"""Decode GEMM kernels of our own (source name "aotgemm"), written in the CuTe DSL.

out[M, N] = x[M, K] @ W[N, K]^T, bf16 in and out, fp32 accumulation, for the
small M of decode (max_m 8 or 16). At such M the GEMM is a stream over the
weights: the floor is W's bytes over HBM bandwidth, and every design here is
about keeping enough weight bytes in flight on all SMs and wasting none.

* Swap-AB on mma.sync.m16n8k16: weight rows fill the MMA's 16-row side and the
  tokens its 8-wide side, so 1..8 tokens pad to 8, not to a 64/128-row tile.
* A k-permutation instead of ldmatrix: mma.sync wants each lane's A values at
  k = {2c, 2c+1, 2c+8, 2c+9} of a 16-wide step, not one contiguous run. k is
  only summed over, so any permutation works if x uses the same one: lane
  (g, c) takes 8 consecutive k (16 bytes) of rows g and g+8 per 32 k, and feeds
  k 8c+4j..8c+4j+3 to MMA j in the slots mma.sync expects; x likewise. A quad
  of lanes reads 64 contiguous bytes of a row: whole sectors, no byte twice.
* "swapab_cp" (the kernels we ship): each lane cp.async's its own 16-byte
  pieces (W with .cg, L2 only: read once; x with .ca: every warp re-reads it)
  into its own shared-memory slots, `stages` deep, and reads back only what it
  wrote, so the main loop needs cp.async.wait_group and no barrier. W's
  cp.async carry an L2 evict-first policy (decode_ptx): on the H200 that ran
  them 2.2% faster back to back and 1.1% in a model in the median of 264
  timings on 13 weights at M = 1-16 (in a model from 0.9% slower to 3.9%
  faster; session 18, call B).
  Whole-row copies (design key "coal", wn 1, unroll 2-8): each cp.async
  instruction of a warp copies unroll*64 contiguous bytes of whole rows (256
  at unroll 4) instead of 64 bytes of 8 rows, into a row-major stage whose odd
  rows XOR their piece index (decode_design_dicts.coal_piece: no bank
  conflicts, no extra shared memory); lanes then read back pieces other lanes
  copied. On the H200 that ran the same designs 1.2% faster in the median of
  58 points on five weights at M = 4-16 (-2.5% to +3.8%; session 23, call E;
  padding the rows instead cost residency and lost, call D); builds use it
  for the designs where it won (decode_design_tables.CP_WHOLE_ROW_SM90).
  "swapab_rf" loads straight into registers, into two buffers: chunk i+1's
  loads are issued before chunk i's MMAs. With one buffer ptxas sank the next
  chunk's loads below the MMAs and kept too few in flight (2x slower on the
  H200, session 1). With two, on the H200 (session 19, calls D and F) it beat
  the cp.async and TMA kernels on the short-K weights (8192 x 1024 at M = 4-8
  by 6-9% back to back in bf16, by 6-17% in e4m3) and lost on every K >= 4096;
  builds offer it where measured (decode_designs.rf_designs_for). In e4m3 it
  gathers each MMA's A operand from the two rows' pieces in registers (the
  interleave the cp.async kernel does on its way out of shared memory).
  Neither a deeper register ring (the loads of chunk i+3..5 in flight, every
  chunk unrolled) nor the CTA's warps taking alternate chunks of K (one
  contiguous run per row) closed its gap on the large weights: 0.84x-0.99x of
  the best other kernel at M = 4-16 on five weights, 28672x4096 holding DRAM
  at 75-91% of its peak against 94-96% for the cp.async kernel (session 23,
  calls A and C; the change is kept as scripts/rf_ring_kx.patch there).
* Split-K at two levels so that N = 1280 still fills 132 SMs: the `wk` warps of
  a CTA and the `ck` CTAs of a thread-block cluster take disjoint K ranges.
  Partials meet in shared memory; across the cluster each CTA owns a slice of
  the rows and the others push their partials into its shared memory
  (st.shared::cluster), then one cluster barrier and a fixed-order sum:
  deterministic, no atomics, no workspace, no second kernel ("pull", reading
  the peers through DSMEM, needs two barriers and was 0.3-1.5 us slower).
* N and K are compile-time constants (one kernel per weight shape); M is a
  run-time value up to max_m = 8 * nt: x rows past M are clamped to row M-1
  when loaded (harmless duplicates) and never stored. x's row stride is a
  run-time value too (any multiple of 16 bytes >= K): an activation cut from
  a wider tensor (q from a fused qkv output) is served in place.
* PDL (`pdl`): the weights of the first stages are requested before
  griddepcontrol.wait, and the next kernel is released after the main loop.
  Design key `late` (all three kinds of decode kernel; builds do not set it)
  leaves that release out, so the next kernel launches as this one's CTAs
  exit. On the H200 it cost about 0.5 us a GEMM back to back (up to 1.0),
  and as in a model the MLP's variants ran within 0.8 us of each other; it
  only removed a loss that no model meets, one MLP's down GEMM followed
  straight by the next MLP's gate_up (bench/mlp_fused.py says when; session 24).
* Fused epilogues (design key "epilogue", absent for identity; not the "epi"
  key, which names the cluster reduction): bias, residual_add and the gated ones (swiglu, geglu) of
  aotgemm.epilogues, applied in fp32 by the final stage before its single
  rounding to bf16 (decode_epilogue.epilogue_value). For a gated one a CTA's logical rows
  are gate rows then the matching up rows (`weight_row`), and each CTA of a
  cluster owns matching gate/up pairs (`push_slot`), so the CTA that sums a
  gate row also holds its up row.
* fp8 (design "dtype": "float8_e4m3fn", W8A8): the same 16-byte pieces carry
  16 e4m3 and feed mma.sync.m16n8k32 (two per piece, 8 bytes of each row
  apiece); the DSL reads an e4m3 A fragment as contiguous registers, so each
  piece's 4-byte words are interleaved with the other row's on the way from
  shared memory. Dequantisation is the design's scale epilogue (scale_tensor,
  scale_row, scale_rowwise): the fp32 sum times scale_a * scale_b[col]
  (scale_a[tok] with scale_rowwise), once, before the bf16 store
  (decode_epilogue.column_factor, epilogue_value).

M = 1 is served better by a CUDA-core kernel (decode_simt, kind "simt",
max_m 1; see make_simt_design); compile_decode builds either kind. Design dicts
are plain JSON (see make_design); which designs to build per shape is
decode_designs' business; the dicts' fields, validation and names are
decode_design_dicts' (re-exported here). This is the only module that imports
cutlass for these kernels, inside functions, so importing it stays cheap.
"""

from ...epilogues import IDENTITY
from .decode_design_dicts import (  # noqa: F401  (re-exported: the design API)
    _validate, coal_piece, design_name, elem_bytes, k_step, make_design, make_simt_design, make_tma_design,
    releases_early, smem_bytes)
from .decode_epilogue import (  # noqa: F401  (FP8, EPILOGUES re-exported)
    BF16, EPILOGUES, FP8, column_factor, epilogue_value, fake_operands, is_gated, jit_launcher, output_n, push_slot,
    weight_row)


def designs_for(n: int, k: int, arch: str, epilogue: str = IDENTITY, dtype: str = BF16) -> list[dict]:
    """The candidate designs worth tuning for weight shape (n, k) (the whole weight: for a gated epilogue
    N counts gate and up rows) with `epilogue` on `arch`, x and W of `dtype` (fp8: a scale
    epilogue); see decode_designs.designs_for (kept apart: choosing designs needs no kernel code)."""
    from .decode_designs import designs_for as _designs_for

    return _designs_for(n, k, arch, epilogue, dtype)


# ---------------------------------------------------------------------------
# the kernels


def _build(d: dict):
    """Return the @cute.jit launcher for design d.  Imports cutlass."""
    import cutlass
    import cutlass.cute as cute
    from cutlass import const_expr
    from cutlass.cute.nvgpu import cpasync

    from .decode_ptx import cp_async_16b_read_once, evict_first_policy, ld_dsmem_f32, st_dsmem_f32

    BF16, F32 = cutlass.BFloat16, cutlass.Float32
    FP8_IN = d.get("dtype") == FP8
    EL = cutlass.Float8E4M3FN if FP8_IN else BF16   # x and W elements
    VEC = 16 // elem_bytes(d)     # elements per 16-byte piece
    KS = k_step(d)                # k per piece step (u): 4 lanes x VEC
    KIND = d["kind"]
    N, K = d["n"], d["k"]
    NT, MT, WN, WK, CK, U = d["nt"], d["mt"], d["wn"], d["wk"], d["ck"], d["unroll"]
    S = d.get("stages", 1)        # cp.async pipeline depth (swapab_cp only)
    PDL = d["pdl"]
    ROWS = 16 * MT * WN           # weight rows (output columns) per CTA
    TOK = 8 * NT                  # token slots per CTA (max_m)
    WARPS = WN * WK
    THREADS = 32 * WARPS
    KW = K // (CK * WK)           # k extent per warp
    CHUNKS = KW // (KS * U)       # chunks of U KS-wide k steps per warp
    PART = ROWS // CK             # rows each CTA of the cluster reduces
    EPI = d.get("epilogue", IDENTITY)
    SWI = is_gated(EPI)           # rows pair up: gate rows, then their up rows (weight_row)
    OUT_ROWS = ROWS // 2 if SWI else ROWS  # output columns per CTA
    OUTC = PART // 2 if SWI else PART      # output columns each CTA of the cluster writes
    LD = ROWS + 4                 # padded token stride of the partial sums (spreads banks)
    PUSH = CK > 1 and d.get("epi", "push") == "push"
    LDP = PART + 4                # push layout: token stride of the rows one CTA owns
    PART_F32 = CK * WK * TOK * LDP if PUSH else WK * TOK * LD
    # cp.async staging: per warp, per stage, SLOTS 16-byte slots per lane, lane-minor,
    # so each lane reads back exactly what it copied (no barrier in the main loop)
    SLOTS = U * (2 * MT + NT)
    STAGE_EL = SLOTS * 32 * VEC   # elements per warp-stage
    # "coal" (swapab_cp, wn 1, unroll >= 2): each cp.async instruction of a warp copies PPR-piece runs of whole
    # rows of the chunk (U*64 contiguous bytes of a row), RPI rows per instruction, into a [16*MT][U*KS]
    # row-major stage, and lanes read back pieces other lanes copied, after a __syncwarp. Odd rows store their
    # pieces with 4 (64 bytes) XORed into the piece index, so that the two rows one phase of a fragment load
    # reads (lanes g, g+1) fall in different banks; the stage is as large as without coal. Not coal: each lane
    # copies and reads back its own pieces.
    COAL = bool(d.get("coal"))
    PPR = 4 * U                   # 16-byte pieces per row of a chunk
    RPI = 32 // PPR if COAL else 0  # rows per cp.async instruction of the warp
    WROW = U * KS                 # a row of a chunk, elements
    W_EL = 16 * MT * WROW         # the W part of a coal warp-stage, elements (as many as SLOTS' W slots)
    if COAL:
        STAGE_EL = W_EL + U * NT * 32 * VEC
    PIPE_EL = WARPS * S * STAGE_EL if KIND == "swapab_cp" else 0

    # Helpers outside the @cute.kernel body are not rewritten by the DSL's
    # preprocessor: their Python loops simply unroll while tracing.
    def w_off(u, h):
        # from a lane's row of an MMA tile (w_base[t]): its row h*8 below, k step u
        return h * 8 * K + u * KS

    def gsrc(tensor, off):
        # VEC consecutive elements (16 bytes) at element offset off of a global tensor
        return cute.make_tensor((tensor.iterator + off).align(16), cute.make_layout(VEC))

    def slot(my, stage, sl):
        return cute.make_tensor((my + stage * STAGE_EL + sl * 32 * VEC).align(16), cute.make_layout(VEC))

    def w_pieces(w_base, ch):
        # this lane's 16-byte weight pieces of chunk ch, as (index in [U][MT][2 halves] order, element offset
        # in W): the one walk behind both ways of loading them, cp.async slots (issue_w) and registers (rf_load_w)
        for u in range(U):
            for t in range(MT):
                for h in range(2):
                    yield (u * MT + t) * 2 + h, w_base[t] + ch * (KS * U) + w_off(u, h)

    def x_pieces(x_base, ch):
        # this lane's 16-byte x pieces of chunk ch, as (index in [U][NT] order, element offset in x)
        for u in range(U):
            for nt in range(NT):
                yield u * NT + nt, x_base[nt] + ch * (KS * U) + u * KS

    def issue_w(w, w_base, my, ch, stage, policy):
        # cp.async.cg with L2 cache policy `policy`, through inline PTX: the DSL's cp.async atom takes none
        for i, off in w_pieces(w_base, ch):
            src = gsrc(w, off)
            dst = slot(my, stage, i)
            cp_async_16b_read_once(cutlass.Int32(dst.iterator.toint()), cutlass.Int64(src.iterator.toint()), policy)

    def issue_x(x_atom, x, x_base, my, ch, stage):
        for i, off in x_pieces(x_base, ch):
            cute.copy(x_atom, gsrc(x, off), slot(my + W_EL, stage, i) if COAL else slot(my, stage, U * 2 * MT + i))

    def issue_w_coal(w, w_lane, myw, ch, stage, policy):
        # instruction q copies logical rows q*RPI.. of the chunk: this lane's piece of row q*RPI + lane//PPR
        # (w_lane: its global offset at q = 0; weight_row is affine in the CTA and an instruction's RPI rows lie in
        # one half, so with a gated epilogue the offset of rows q*RPI.. is CTA 0's; myw: its shared offset at q = 0 for an
        # even and an odd q*RPI, the rows' parity deciding the piece swizzle)
        for q in range(2 * MT * U):
            r0 = q * RPI
            src = gsrc(w, w_lane + weight_row(0, r0, ROWS, N, SWI) * K + ch * (KS * U))
            dst = cute.make_tensor((myw[r0 % 2] + stage * STAGE_EL + r0 * WROW).align(16), cute.make_layout(VEC))
            cp_async_16b_read_once(cutlass.Int32(dst.iterator.toint()), cutlass.Int64(src.iterator.toint()), policy)

    def mma_chunk(mma, wr, xr, acc):
        # wr: [U][MT][2 halves][VEC], xr: [U][NT][VEC], acc: [MT][NT][4] f32. MMA j of a piece
        # takes its bytes 8j..8j+7 (bf16 m16n8k16: 4 elements, e4m3 m16n8k32: 8), in A's
        # register order (row g, row g+8) x (first, second 4 bytes) and B's (first, second
        # 4 bytes): the same k permutation for W and x, so the sum over k is unchanged
        H = VEC // 4  # elements per 4-byte register
        for u in range(U):
            for t in range(MT):
                for j in range(2):
                    if const_expr(FP8_IN and KIND == "swapab_rf"):
                        # register-fed: wr holds the two rows' pieces as loaded; MMA j's A operand is
                        # (row g, row g+8) x (word 2j, word 2j+1), gathered into 16 contiguous bytes
                        p0 = (u * MT + t) * 2 * VEC
                        af = cute.make_rmem_tensor(cute.make_layout(4 * H), EL)
                        for q, src in enumerate((p0 + 8 * j, p0 + VEC + 8 * j, p0 + 8 * j + 4, p0 + VEC + 8 * j + 4)):
                            for e in range(4):
                                af[4 * q + e] = wr[src + e]
                        a = cute.make_tensor(af.iterator, cute.make_layout(((H, 2, 2), 1, 1), stride=((1, H, 2 * H), 0, 0)))
                    elif const_expr(FP8_IN):
                        # the DSL reads an e4m3 A fragment as 16 contiguous bytes (it ignored a
                        # strided view), so wr_load already interleaved the rows' 4-byte words
                        a = cute.make_tensor(wr.iterator + (u * MT + t) * 2 * VEC + 4 * H * j,
                                             cute.make_layout(((H, 2, 2), 1, 1), stride=((1, H, 2 * H), 0, 0)))
                    else:
                        # a0..a7 = (row g: k 4j,4j+1), (row g+8: same), (row g: 4j+2,4j+3), (row g+8: same)
                        a = cute.make_tensor(wr.iterator + (u * MT + t) * 2 * VEC + 2 * H * j,
                                             cute.make_layout(((H, 2, 2), 1, 1), stride=((1, VEC, H), 0, 0)))
                    for nt in range(NT):
                        b = cute.make_tensor(xr.iterator + (u * NT + nt) * VEC + 2 * H * j,
                                             cute.make_layout((2 * H, 1, 1), stride=(1, 0, 0)))
                        cacc = cute.make_tensor(acc.iterator + (t * NT + nt) * 4,
                                                cute.make_layout((4, 1, 1), stride=(1, 0, 0)))
                        cute.gemm(mma, cacc, a, b, cacc)

    def rf_load_w(w_atom, w, w_base, wr, ch):
        # swapab_rf: chunk ch of this lane's weight pieces, global -> registers (wr, in w_pieces' order)
        for i, off in w_pieces(w_base, ch):
            dst = cute.make_tensor(wr.iterator + i * VEC, cute.make_layout(VEC))
            cute.copy(w_atom, gsrc(w, off), dst)

    def rf_load_x(x_atom, x, x_base, xr, ch):
        # swapab_rf: chunk ch of this lane's x pieces, global -> registers (xr, in x_pieces' order)
        for i, off in x_pieces(x_base, ch):
            dst = cute.make_tensor(xr.iterator + i * VEC, cute.make_layout(VEC))
            cute.copy(x_atom, gsrc(x, off), dst)

    def wr_load(s_atom, src, wr, base, h):
        # one 16-byte weight piece (row g if h == 0, else row g+8) from shared memory into wr
        if FP8_IN:
            # e4m3: word q of the piece goes to wr word 2q+h, so that MMA j's A operand
            # (row g, row g+8) x (word 2j, word 2j+1) is the 16 contiguous bytes at 16j
            for q in range(4):
                cute.copy(s_atom, cute.make_tensor(src.iterator + 4 * q, cute.make_layout(4)),
                          cute.make_tensor(wr.iterator + base + 8 * q + 4 * h, cute.make_layout(4)))
        else:
            cute.copy(s_atom, src, cute.make_tensor(wr.iterator + base + h * VEC, cute.make_layout(VEC)))

    def reduce_row(part, bk, tok, pslot, row):
        # the fp32 sum over the cluster's CTAs and the warps' K slices, in a fixed order, of the
        # row this CTA owns at slot `pslot` of its part (push) / logical row `row` (otherwise)
        acc_s = cutlass.Float32(0.0)
        for q in range(CK):
            for wq in range(WK):
                if PUSH:
                    acc_s = acc_s + part[((q * WK + wq) * TOK + tok) * LDP + pslot]
                elif CK > 1:
                    src_p = cute.arch.map_dsmem_ptr(part.iterator + (wq * TOK + tok) * LD + row, q)
                    acc_s = acc_s + ld_dsmem_f32(cutlass.Int32(src_p.toint()))
                else:
                    acc_s = acc_s + part[(wq * TOK + tok) * LD + row]
        return acc_s

    @cute.kernel
    def kernel(x: cute.Tensor, w: cute.Tensor, out: cute.Tensor, ep: tuple, m: cutlass.Int32, xs: cutlass.Int32):
        # ep: the epilogue's operands in call order (bias, residual, scale_a/scale_b; empty for none);
        # xs: x's row stride in elements (>= K, a multiple of 16 bytes: a slice of a wider tensor,
        # such as q cut from a fused qkv output, is read in place)
        tid, _, _ = cute.arch.thread_idx()
        bn, bk, _ = cute.arch.block_idx()
        warp = tid // 32
        lane = tid % 32
        g = lane // 4
        c = lane % 4
        wn_i = warp % WN
        wk_i = warp // WN
        k_w = (bk * WK + wk_i) * KW

        if const_expr(FP8_IN):
            mma = cute.make_mma_atom(cute.nvgpu.warp.MmaFP8Op(EL, F32, (16, 8, 32)))
        else:
            mma = cute.make_mma_atom(cute.nvgpu.warp.MmaF16BF16Op(BF16, F32, (16, 8, 16)))
        wr = cute.make_rmem_tensor(cute.make_layout(U * MT * 2 * VEC), EL)
        xr = cute.make_rmem_tensor(cute.make_layout(U * NT * VEC), EL)
        acc = cute.make_rmem_tensor(cute.make_layout(MT * NT * 4), F32)
        acc.fill(0.0)

        smem = cutlass.memory.SmemAllocator()
        part = smem.allocate_tensor(F32, cute.make_layout(PART_F32), byte_alignment=16)

        # x rows this lane feeds (clamped to m-1: rows past m are computed, never stored)
        xrows = []
        for nt in cutlass.range_constexpr(NT):
            xrows.append(cutlass.min(nt * 8 + g, m - 1))

        # element offsets of this lane's 16-byte pieces at chunk 0, u = 0, per 16-row MMA tile
        # (weight_row: with a gated epilogue a warp's tiles may be gate rows and up rows)
        w_base = []
        for t in cutlass.range_constexpr(MT):
            w_base.append((weight_row(bn, wn_i * (16 * MT) + t * 16, ROWS, N, SWI) + g) * K + k_w + c * VEC)
        x_base = []
        for nt in cutlass.range_constexpr(NT):
            x_base.append(xrows[nt] * xs + k_w + c * VEC)

        if const_expr(KIND == "swapab_rf"):
            w_atom = cute.make_copy_atom(
                cute.nvgpu.CopyG2ROp(), EL, num_bits_per_copy=128,
                l1c_evict_priority=cute.nvgpu.CacheEvictionPriority.NO_ALLOCATE)
            x_atom = cute.make_copy_atom(cute.nvgpu.CopyG2ROp(), EL, num_bits_per_copy=128)
            # two register buffers: chunk ch+1's loads are issued before chunk ch's MMAs (with one, ptxas sank
            # them below the MMAs); the first chunk's weights do not depend on the previous kernel, so with PDL
            # they are requested before griddepcontrol.wait
            wr2 = cute.make_rmem_tensor(cute.make_layout(U * MT * 2 * VEC), EL)
            xr2 = cute.make_rmem_tensor(cute.make_layout(U * NT * VEC), EL)
            rf_load_w(w_atom, w, w_base, wr, 0)
            if const_expr(PDL):
                cute.arch.griddepcontrol_wait()
            rf_load_x(x_atom, x, x_base, xr, 0)
            for ch2 in cutlass.range(CHUNKS // 2, unroll=1):
                rf_load_w(w_atom, w, w_base, wr2, 2 * ch2 + 1)
                rf_load_x(x_atom, x, x_base, xr2, 2 * ch2 + 1)
                mma_chunk(mma, wr, xr, acc)
                if 2 * ch2 + 2 < CHUNKS:
                    rf_load_w(w_atom, w, w_base, wr, 2 * ch2 + 2)
                    rf_load_x(x_atom, x, x_base, xr, 2 * ch2 + 2)
                mma_chunk(mma, wr2, xr2, acc)
            if const_expr(CHUNKS % 2 == 1):
                mma_chunk(mma, wr, xr, acc)
        else:
            # weights: cp.async.cg (L2 only: they are read once; issue_w); x: cp.async.ca (every warp re-reads it)
            x_atom = cute.make_copy_atom(cpasync.CopyG2SOp(cache_mode=cpasync.LoadCacheMode.ALWAYS),
                                         EL, num_bits_per_copy=128)
            s_atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), EL, num_bits_per_copy=32 if FP8_IN else 128)
            x_s_atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), EL, num_bits_per_copy=128)
            pipe = smem.allocate_tensor(EL, cute.make_layout(PIPE_EL), byte_alignment=128)
            my = pipe.iterator + warp * (S * STAGE_EL) + lane * VEC
            if const_expr(COAL):
                # the row and piece this lane copies in each instruction, and where lane (g, c) reads
                w_lane = weight_row(bn, lane // PPR, ROWS, N, SWI) * K + k_w + (lane % PPR) * VEC
                wbase = pipe.iterator + warp * (S * STAGE_EL) + (lane // PPR) * WROW
                myw = [wbase + coal_piece(lane // PPR + par, lane % PPR) * VEC for par in (0, 1)]
                # lane (g, c) reads piece u*4 + c of rows g, g+8, g+16... (all of g's parity)
                myr = [pipe.iterator + warp * (S * STAGE_EL) + g * WROW + coal_piece(g, u * 4 + c) * VEC
                       for u in range(U)]
            # the weights are read once: their cp.async ask L2 to evict them first (the module docstring says
            # what that gained)
            policy = evict_first_policy()

            # prologue: the weights of the first S-1 chunks do not depend on the previous
            # kernel, so with PDL they are in flight before griddepcontrol.wait
            for s0 in cutlass.range_constexpr(S - 1):
                if const_expr(COAL):
                    issue_w_coal(w, w_lane, myw, s0, s0, policy)
                else:
                    issue_w(w, w_base, my, s0, s0, policy)
            if const_expr(PDL):
                cute.arch.griddepcontrol_wait()
            for s0 in cutlass.range_constexpr(S - 1):
                issue_x(x_atom, x, x_base, my, s0, s0)
                cute.arch.cp_async_commit_group()
            for ch in cutlass.range(CHUNKS, unroll=1):
                cute.arch.cp_async_wait_group(S - 2)
                if const_expr(COAL):
                    cute.arch.sync_warp()  # the pieces this lane reads were copied by others
                stage = ch % S
                for u in cutlass.range_constexpr(U):
                    for t in cutlass.range_constexpr(MT):
                        for h in cutlass.range_constexpr(2):
                            if const_expr(COAL):
                                src_s = cute.make_tensor(
                                    (myr[u] + stage * STAGE_EL + (t * 16 + h * 8) * WROW).align(16),
                                    cute.make_layout(VEC))
                            else:
                                src_s = slot(my, stage, (u * MT + t) * 2 + h)
                            wr_load(s_atom, src_s, wr, (u * MT + t) * 2 * VEC, h)
                    for nt in cutlass.range_constexpr(NT):
                        dst = cute.make_tensor(xr.iterator + (u * NT + nt) * VEC, cute.make_layout(VEC))
                        xsl = slot(my + W_EL, stage, u * NT + nt) if COAL else slot(my, stage, U * 2 * MT + u * NT + nt)
                        cute.copy(x_s_atom, xsl, dst)
                nxt = ch + (S - 1)
                if nxt < CHUNKS:
                    if const_expr(COAL):
                        issue_w_coal(w, w_lane, myw, nxt, nxt % S, policy)
                    else:
                        issue_w(w, w_base, my, nxt, nxt % S, policy)
                    issue_x(x_atom, x, x_base, my, nxt, nxt % S)
                cute.arch.cp_async_commit_group()
                mma_chunk(mma, wr, xr, acc)
            cute.arch.cp_async_wait_group(0)

        if const_expr(not PUSH):
            # partial sums -> own shared memory, [WK][TOK][LD] fp32, row fastest
            for t in cutlass.range_constexpr(MT):
                for nt in cutlass.range_constexpr(NT):
                    for i in cutlass.range_constexpr(4):
                        # c0,c1: row g, tokens 2c, 2c+1; c2,c3: row g+8
                        r = wn_i * (16 * MT) + t * 16 + g + (i // 2) * 8
                        tok = nt * 8 + 2 * c + (i % 2)
                        part[(wk_i * TOK + tok) * LD + r] = acc[(t * NT + nt) * 4 + i]
        else:
            # push: each partial goes straight into the shared memory of the cluster CTA
            # that owns its row, at [source CTA][warp k-slice][token][row in part]; then a
            # single cluster barrier, and no remote access after it
            for t in cutlass.range_constexpr(MT):
                for nt in cutlass.range_constexpr(NT):
                    for i in cutlass.range_constexpr(4):
                        r = wn_i * (16 * MT) + t * 16 + g + (i // 2) * 8
                        tok = nt * 8 + 2 * c + (i % 2)
                        owner, pslot = push_slot(r, ROWS, PART, SWI)
                        off = ((bk * WK + wk_i) * TOK + tok) * LDP + pslot
                        dst_p = cute.arch.map_dsmem_ptr(part.iterator + off, owner)
                        st_dsmem_f32(cutlass.Int32(dst_p.toint()), acc[(t * NT + nt) * 4 + i])
        if const_expr(releases_early(d)):
            # the main loop is done: let the next kernel start its prologue
            cute.arch.griddepcontrol_launch_dependents()
        if const_expr(CK > 1):
            cute.arch.cluster_arrive()
            cute.arch.cluster_wait()
        else:
            cute.arch.sync_threads()
        # this CTA owns rows [bk*PART, (bk+1)*PART) of the CTA tile (gated: PART/2 gate rows and
        # their up rows, push_slot); fixed summation order; the epilogue's operands are read
        # here, after griddepcontrol.wait (the previous kernel may write them)
        rr = tid % OUTC
        step = THREADS // OUTC
        col = bn * OUT_ROWS + bk * OUTC + rr
        colf = column_factor(EPI, col, ep)  # fp8: scale_a * scale_b[col], read once
        for tok in cutlass.range(tid // OUTC, m, step, unroll=1):
            if const_expr(SWI):
                sums = (reduce_row(part, bk, tok, rr, bk * OUTC + rr),
                        reduce_row(part, bk, tok, OUTC + rr, ROWS // 2 + bk * OUTC + rr))
            else:
                sums = (reduce_row(part, bk, tok, rr, bk * PART + rr),)
            # fp32 epilogue, one rounding to bf16 (cuBLAS + torch rounds the GEMM first)
            out[tok, col] = epilogue_value(EPI, sums, tok, col, ep, colf).to(BF16)
        if const_expr(CK > 1 and not PUSH):
            # pull: keep this CTA's shared memory alive until every peer has read it
            cute.arch.cluster_arrive()
            cute.arch.cluster_wait()

    def launch_body(x, wt, out, ep, stream):
        m = x.shape[0]
        # wt is W.t(): [K, N] with strides (1, K); view it as W [N, K] row-major
        w = cute.make_tensor(wt.iterator, cute.make_layout((N, K), stride=(K, 1)))
        kernel(x, w, out, ep, m, x.stride[0]).launch(
            grid=[N // ROWS, CK, 1],
            block=[THREADS, 1, 1],
            cluster=[1, CK, 1] if CK > 1 else None,
            smem=smem_bytes(d),
            stream=stream,
            use_pdl=PDL,
        )

    return jit_launcher(launch_body, EPI)


def compile_decode(design: dict, symbol: str, object_path: str, target_sm: str) -> None:
    """Compile the kernel `design` describes for `target_sm` (e.g. "sm_90a") and export it.

    The exported TVM-FFI function follows the one call convention
    (aotgemm.problem): fn(x, wt, out, *the epilogue's operands, stream): x
    [M, K] row-major and wt = W.t() ([K, N], strides (1, K)), both bf16 or
    both float8_e4m3fn (the design's dtype), out bf16 [M, n_out] row-major
    (n_out = N/2 for a gated epilogue), the operands in the registry's order and shapes
    (bias [N], residual [M, N] row-major, bf16; scale_a [1] and scale_b [1]
    or [N], float32), stream the raw CUDA stream as an int.  M is dynamic,
    1..max_m.
    """
    import os

    _validate(design)
    arch = target_sm if target_sm.startswith("sm_") else f"sm_{target_sm}"
    os.environ["CUTE_DSL_ARCH"] = arch
    import cutlass
    import cutlass.cute as cute
    from cutlass.cute.runtime import make_fake_tensor

    n, k = design["n"], design["k"]
    name = design.get("epilogue", IDENTITY)
    n_out = output_n(name, n)
    el = cutlass.Float8E4M3FN if design.get("dtype") == FP8 else cutlass.BFloat16
    sym_m = cute.sym_int32(symbol="M")
    # x's row stride is dynamic, a whole number of 16-byte pieces (the kernels load 16 bytes at a time)
    sym_xs = cute.sym_int32(divisibility=16 // (1 if el is cutlass.Float8E4M3FN else 2), symbol="x_row_stride")
    x = make_fake_tensor(el, (sym_m, k), (sym_xs, 1), assumed_align=16)
    wt = make_fake_tensor(el, (k, n), (1, k), assumed_align=16)
    out = make_fake_tensor(cutlass.BFloat16, (sym_m, n_out), (n_out, 1), assumed_align=16)
    extras = fake_operands(name, sym_m, n, n_out)
    stream = cute.runtime.make_fake_stream()
    if design["kind"] == "simt":
        from .decode_simt import build_simt

        fn = build_simt(design)
    elif design["kind"] == "swapab_tma":
        from .decode_tma import build_tma

        fn = build_tma(design)
    else:
        fn = _build(design)
    opts = [cute.GPUArch(arch), cute.EnableTVMFFI(True)]
    dump = os.environ.get("AOTGEMM_DECODE_DUMP")  # debugging: keep PTX and cubin here
    if dump:
        from cutlass.base_dsl.compiler import DumpDir, KeepCUBIN, KeepPTX

        opts += [KeepPTX(True), KeepCUBIN(True), DumpDir(dump)]
    compiled = cute.compile[tuple(opts)](fn, x, wt, out, *extras, stream)
    compiled.export_to_c(object_path, function_name=symbol)
