"""TMA + warpgroup-MMA swap-AB decode GEMM ("swapab_tma" designs), M up to 64, in the CuTe DSL.

Why a second tensor-core design: at M = 8..64 the cp.async kernel
(decode_kernels) runs many small CTAs, each re-reading x through L2 and
keeping 3-4 stages in flight per warp; cuBLAS there (nvjet 128x16, ncu on the
H200) runs one warp-specialised CTA per SM with an 11-stage TMA pipeline of
128x64 weight tiles. This design is that shape of kernel, specialised on the
weight (N, K static), with split-K over a thread-block cluster:

* Swap-AB: weight rows are the warpgroup MMA's M side (64 per consumer
  warpgroup), tokens its N side (max_m = 8..256; builds offer 8..64, see
  decode_designs.TMA_MAX_M).
* One producer warp issues TMA loads of a 64-row x `bk` tile of W per
  consumer warpgroup and the x rows of a max_m x `bk` tile per stage,
  `stages` deep (PipelineTmaAsync: full/empty mbarriers; no thread copies a
  byte itself). x is read once per CTA per k tile, not once per warp.
* x rows in power-of-two boxes (`x_boxes`): M rounded up to 8 rows, as a sum
  of boxes of max_m, max_m/2, ..., 8 rows, each one 128-byte swizzle atom of
  k wide, and the stage's transaction bytes set from M at run time. One
  max_m-row box read past M is zero-filled by TMA, and that fill was slow: a
  max_m 64 kernel lost to cuBLAS at M = 33 where it won at 64 (session 8's
  "rejected: edge" lines), and a max_m 128 one ran 17.7 us at M = 65 against
  13.4 us at 128 on 4096 x 4096 (session 12).
* Consumer warpgroups run wgmma (bf16 m64nXk16, e4m3 m64nXk32) from the
  swizzled shared-memory tiles, one k tile in flight. e4m3 promotes: each k
  tile's MMAs go into a zeroed temporary that is added into the float32
  accumulator once the next tile's MMAs are issued (promote_group: k tiles
  per loop iteration and drain), the numerics of torch._scaled_mm's default
  (use_fast_accum=False) rather than of its fast mode.
* Split-K over `ck` CTAs of a cluster: each CTA takes K/ck, pushes its fp32
  partials into the shared memory of the CTA that owns the rows
  (st.shared::cluster, decode_epilogue.push_slot), one cluster barrier, then a
  fixed-order sum: deterministic, no atomics, no workspace. With ck = 1 the
  partials go through the CTA's own shared memory, which also coalesces the
  output stores. Each thread reads its partials 4 columns at a time (16-byte
  loads) and writes 4 outputs of a token in one 8-byte store (`out_vec`; a gated epilogue
  only where it owns 64 or more columns, as before), with
  the epilogue's column-independent factor (scale_tensor's scale_a * scale_b)
  read once before the loop. Session 16 (call C) had taken 4 columns a step only
  where a CTA owns 64 or more (0.5-6% faster; 0.2-5% slower for owners of 8-32,
  split-K over 2-8 CTAs), with 4 two-byte stores a step and, in e4m3, the
  scales read again for each column (the compiler cannot hoist loads above
  the stores): a third of an e4m3 max_m 128 kernel's warp samples at M = 128
  (ncu, session 30 call G). With the one store and the scales read once, on
  the H200 (session 30, calls H and I; medians over 32-114 designs, back to
  back): e4m3 owners of 64+ columns 1.4%, 2.8%, 7.9%, 11.7%, 14.4% faster at
  M = 16, 33, 64, 96, 128 (up to 1.25x); owners of 8-32 columns now 0.5-4.4%
  faster with 4 a step than with 1 in e4m3 (in a model 1.4-8.4%) and 0.2-4.8%
  in bf16, whose owners of 64+ gained 0.1-1.4%. A "pull" form, where each owner instead read its slice
  from every peer's shared memory with ld.shared::cluster.v4 after a second
  cluster barrier, was 1-4% slower than these scalar remote stores at M <= 64
  (call B).
* `ov` (partials overlay the stages; not offered by builds): the fp32 partials
  ([source CTA][token][slot], up to 74 KB for 128 rows of 128 tokens) take
  the pipeline's stage buffers, which are idle once the main loop is over,
  instead of a region of their own. No partial is written before every reader
  of those stages is done: one more cluster barrier (or, with no cluster, a
  named barrier of the consumer warps) after the main loop. It lets a 128-row
  CTA of 128 tokens split K four ways at two CTAs per SM (98 KB with 3
  stages, against 172 KB), its 32 clusters of 4 resident at once; on the H200
  that design was the slowest of its weight (4096 x 4096 at M = 128: 20.0 us
  against 13.0 for a 64-row one with 7 stages). What ov bought was stages:
  1.10-1.33x for designs it took from 3 to 5, 1-5% lost for those that had 7
  (one more barrier), and no design that beat cuBLAS where the others did not
  (bench/decode_probe.py --overlay, session 29).
* `tt` (token tiles, 1 or 2; not offered by builds): max_m tokens over tt CTAs
  along the grid's third axis, max_m/tt each (at least 64), both streaming
  the same weight rows (without the evict-first policy, so that the second
  read can hit L2). A tile past M loads no x and writes nothing. At 256
  tokens this keeps the x tile of a stage at 128 rows, where one CTA holding
  all 256 gets 3-5 stages. On the H200 (bench/decode_probe.py --tokens,
  session 29): 0.94-1.15x the best single-tile design as in a model, and
  0.73-1.05x cuBLAS at M = 129-256, so no bucket won.
* x multicast over `cn` CTAs of a cluster along the weight rows (cn > 1): they
  need the same x tile, so the first of them loads it once from L2 into all
  their shared memories (TMA multicast), and each stage is refilled only when
  all cn CTAs have released it (the pipeline's consumers signal every peer).
  At M = 64-256 a 64-row CTA otherwise reads as many x bytes as weight bytes
  or more through L2. Measured on the H200 (session 15, decode_probe
  --multicast): correct, and no faster in a model, so builds do not offer it
  (decode_designs.TMA_MAX_M says why).
* PDL: the weights of the first `stages` k tiles are requested before
  griddepcontrol.wait (they do not depend on the previous kernel); x after.
  The next kernel is released when the partials are out, unless the design
  sets `late` (decode_kernels' docstring says why builds do not).
* The weight tiles' TMA loads carry an L2 evict-first cache policy (read
  once; x and the outputs stay): on the H200, 52 designs on 6 weights at
  M = 4-64 ran 2.0% faster back to back and 1.5% in a model in the median
  of 204 timings (in a model from 2.8% slower, on the lm_head, to 4.9%
  faster), and k tiles of 512 bytes of a row (fewer stages, the same shared
  memory) ran 2.6% slower in a model than 256-byte ones and 4.2% than
  128-byte ones, in the median (session 18, call A).
* Fused epilogues as in decode_kernels (decode_epilogue: bias, residual_add,
  swiglu and geglu for bf16; scale_tensor / scale_row / scale_rowwise for fp8): a gated one gives warpgroup
  0 gate rows and warpgroup 1 the matching up rows (weight_row), so wg = 2.

Design fields besides kind/n/k/max_m/pdl: wg (consumer warpgroups: 64*wg
weight rows per CTA), bk (k per tile: 64 bf16 / 128 e4m3 is one 128-byte
swizzle atom), stages, ck (cluster split-K), cn (x multicast; absent for 1), ov (partials over the stages;
absent unless set), tt (token tiles; absent for 1). Imports cutlass only inside build_tma.
"""

from .decode_epilogue import is_gated

_SWIZZLE_BYTES = 1024  # a 128-byte-swizzled tile's alignment
_EVICT_FIRST = 0x12F0000000000000  # createpolicy's L2::evict_first, as CUTLASS's CacheHintSm90 spells it


def _eb(d: dict) -> int:
    return 1 if d.get("dtype") == "float8_e4m3fn" else 2


def _rows(d: dict) -> int:
    return 64 * d["wg"]


def _cn(d: dict) -> int:
    return d.get("cn", 1)


def _tt(d: dict) -> int:
    return d.get("tt", 1)


def _bn(d: dict) -> int:
    """Tokens per CTA (the wgmma N side): max_m split over `tt` token tiles."""
    return d["max_m"] // _tt(d)


def _part(d: dict) -> int:
    return _rows(d) // d["ck"]


def out_vec(d: dict) -> int:
    """Output columns per step of the output stage: 4 (one 16-byte load of fp32 partials per source CTA, one 8-byte
    store of 4 bf16 outputs) wherever the CTA's columns of its tile (64 * wg / ck) come in fours, which every valid
    design's do; else 1. A gated epilogue (half the columns: gate and up rows pair up) keeps session 16's rule, 4
    only for 64 or more: its owners of 8-32 columns were not timed with 4 a step (session 30, call I timed identity and
    scale_tensor ones)."""
    if is_gated(d.get("epilogue")):
        return 4 if _outc(d) >= 64 else 1
    return 4 if _outc(d) % 4 == 0 else 1


def _outc(d: dict) -> int:
    return _part(d) // 2 if is_gated(d.get("epilogue")) else _part(d)


def ragged_n(d: dict) -> bool:
    """Whether the last CTA's weight rows run past N (a vocabulary split over tensor-parallel ranks: Llama-3.1's
    128256 over 8 is 16032 rows, 250.5 tiles of 64). TMA zero-fills the rows past N, and still counts the whole box
    in the stage's transaction bytes, so the main loop is unchanged; the output stage skips the columns past N."""
    return d["n"] % _rows(d) != 0


def row_tiles(d: dict) -> int:
    """CTAs along the weight rows: N / (64 * wg), rounded up (ragged_n)."""
    return -(-d["n"] // _rows(d))


def threads(d: dict) -> int:
    """Consumer warpgroups plus one producer warp."""
    return 128 * d["wg"] + 32


def validate_tma(d: dict) -> None:
    n, k, bk, ck, wg, s = d["n"], d["k"], d["bk"], d["ck"], d["wg"], d["stages"]
    gated = is_gated(d.get("epilogue"))
    if d["max_m"] not in (8, 16, 32, 64, 128, 256):
        raise ValueError("swapab_tma designs serve max_m 8, 16, 32, 64, 128 or 256 (the wgmma N side)")
    if _tt(d) not in (1, 2) or _bn(d) < 64 and _tt(d) > 1:
        raise ValueError("tt (token tiles) must be 1 or 2, with at least 64 tokens per tile")
    if _eb(d) == 1 and _bn(d) > 128:
        # e4m3 promotes each k tile through temporaries of max_m/2 registers: at 256 tokens two of them and
        # the accumulator would take 384 registers a thread
        raise ValueError("e4m3 swapab_tma designs serve max_m up to 128")
    if wg not in (1, 2):
        raise ValueError("wg (consumer warpgroups) must be 1 or 2")
    # 512 bytes (four atoms) only for probes: on the largest weights it ran 0.7-3.4% slower than 256 (fewer stages;
    # bench/decode_probe.py --stream, session 36), and no table or rule gives it
    if bk * _eb(d) not in (128, 256, 512):
        raise ValueError(f"bk={bk}: a k tile must be 128, 256 or 512 bytes of a row (whole 128-byte swizzle atoms)")
    if n % _rows(d) and (gated or _cn(d) > 1 or n % 8):
        # a last CTA past N (ragged_n) serves the plain and fused-per-column epilogues; gated pairs gate and up
        # rows N/2 apart, and a multicast group needs whole row tiles
        raise ValueError(f"n={n} is not a multiple of the CTA's {_rows(d)} rows"
                         + ("" if gated or _cn(d) > 1 else " nor of 8"))
    if ck not in (1, 2, 4, 8):
        raise ValueError("cluster size must be 1, 2, 4 or 8")
    cn = _cn(d)
    if cn not in (1, 2, 4, 8) or cn * ck > 8:
        raise ValueError(f"cn={cn}: the x multicast group must be 1, 2, 4 or 8 CTAs, and cn*ck at most 8 "
                         "(a portable cluster)")
    if (n // _rows(d)) % cn:
        raise ValueError(f"n={n}: its {n // _rows(d)} row tiles do not split into clusters of cn={cn}")
    if k % (bk * ck):
        raise ValueError(f"k={k} is not a multiple of bk*ck = {bk * ck}")
    if s < 2:
        raise ValueError("stages must be >= 2")
    if _outc(d) < 1:
        raise ValueError(f"ck={ck} leaves a CTA no output columns of its {_rows(d)} rows")
    if gated:
        if wg != 2:
            raise ValueError(f"{d['epilogue']}: warpgroup 0 takes gate rows and warpgroup 1 their up rows: wg must "
                             "be 2")
        if (_rows(d) // 2) % ck:
            raise ValueError(f"{d['epilogue']}: ck must divide the CTA's {_rows(d) // 2} gate rows")
    if d.get("ov"):
        if cn > 1:
            raise ValueError("ov: a multicast group's peers may still be filling this CTA's stages; use cn=1")
        if _part_bytes(d) > _tile_bytes(d):
            raise ValueError(f"ov: the {_part_bytes(d)} bytes of partials do not fit in the {_tile_bytes(d)} bytes "
                             "of stages they overlay; give the design more stages")
    if tma_smem_bytes(d) > 227 * 1024:
        raise ValueError(f"needs {tma_smem_bytes(d)} bytes of shared memory")


def x_boxes(max_m: int) -> list[int]:
    """The heights of the TMA boxes x is loaded in: max_m, max_m/2, ..., 8 rows (M rounded up to 8 is a sum
    of distinct ones)."""
    return [max_m >> i for i in range(max_m.bit_length()) if max_m >> i >= 8]


def x_box_plan(m, max_m: int, minimum=min):
    """How x's first M rows are loaded: M rounded up to 8 rows (at most max_m), as a sum of distinct box heights
    of x_boxes (its binary digits). Returns (rows, use, offsets): per box height, whether it is loaded and at
    which row, a multiple of its height (a TMA box index). For Python ints, and for the kernel's run-time
    Int32 M with minimum=cutlass.min: the one definition of the rule the kernel runs and the tests check."""
    rows = minimum((m + 7) // 8 * 8, max_m)
    use, offsets = [], []
    covered = rows - rows  # zero, of M's type
    for box in x_boxes(max_m):
        use.append((rows & box) != 0)
        offsets.append(covered)
        covered = covered + (rows & box)
    return rows, use, offsets


def promote_group(d: dict) -> int:
    """k tiles per drain of an e4m3 design's promoting main loop: a temporary of max_m/2 registers per tile in
    flight, about 64 registers of them in all."""
    return max(2, min(8, 128 // _bn(d)))


def _tile_bytes(d: dict) -> int:
    """The pipeline's stage buffers: per stage, wg 64-row weight tiles and one max_m-row x tile."""
    return d["stages"] * (_rows(d) + _bn(d)) * d["bk"] * _eb(d)


def _part_bytes(d: dict) -> int:
    """The fp32 split-K partials: [source CTA][token][slot], LDP = PART + 4 slots per token."""
    return d["ck"] * _bn(d) * (_part(d) + 4) * 4


def tma_smem_bytes(d: dict) -> int:
    part = 0 if d.get("ov") else _part_bytes(d)
    return 2 * d["stages"] * 8 + 2 * _SWIZZLE_BYTES + _tile_bytes(d) + part + 64


def build_tma(d: dict):
    """The @cute.jit launcher for swapab_tma design d.  Imports cutlass."""
    import cutlass
    import cutlass.cute as cute
    import cutlass.pipeline as pipeline
    import cutlass.utils.hopper_helpers as sm90_utils
    from cutlass import const_expr
    from cutlass.cute.nvgpu import cpasync, warpgroup
    from cutlass.cutlass_dsl import if_generate
    from cutlass.tensor_utils import LayoutEnum

    from .decode_design_dicts import releases_early
    from .decode_epilogue import column_factor, epilogue_value, jit_launcher, push_slot, uniform_factor, weight_row
    from .decode_ptx import ld_shared_v4_f32, st_dsmem_f32, st_global_v4_bf16

    BF16, F32 = cutlass.BFloat16, cutlass.Float32
    FP8_IN = d.get("dtype") == "float8_e4m3fn"
    EL = cutlass.Float8E4M3FN if FP8_IN else BF16
    N, K = d["n"], d["k"]
    BN, BK, S, CK, WG, PDL = _bn(d), d["bk"], d["stages"], d["ck"], d["wg"], d["pdl"]
    TT = _tt(d)
    CN = _cn(d)
    CLUSTER = CN * CK
    OV = bool(d.get("ov"))
    ROWS = _rows(d)
    RAGGED = ragged_n(d)
    PART = _part(d)
    LDP = PART + 4                 # token stride of the partials (spreads banks)
    EPI = d.get("epilogue", "identity")
    SWI = is_gated(EPI)
    OUT_ROWS = ROWS // 2 if SWI else ROWS
    N_OUT = N // 2 if SWI else N   # out's row stride (the launcher's out is [M, N_OUT] row-major)
    OUTC = PART // 2 if SWI else PART
    THREADS = threads(d)
    VW = out_vec(d)                # output columns per step of the output stage
    QPT = OUTC // VW               # steps per token
    KT = K // (BK * CK)            # k tiles per CTA
    PRE = min(S, KT)               # k tiles whose weights are requested up front
    PRODUCER_WARP = 4 * WG
    MMA_K = 32 if FP8_IN else 16
    # Hopper's e4m3 wgmma keeps fewer bits than float32 in the accumulator it adds into; promoting each k tile
    # into a float32 sum (as cuBLASLt does for torch._scaled_mm's default, use_fast_accum=False) gives its
    # numerics: the error of whole-K accumulation was up to 1.6x _scaled_mm's (session 8, fp8_accum_probe).
    PROMOTE = FP8_IN
    PG = promote_group(d)
    W_BYTES = ROWS * BK * _eb(d)   # a stage's weight bytes; its x bytes depend on M (x_box_plan)
    KA = BK * _eb(d) // 128        # 128-byte swizzle atoms of k per tile; an x box is one atom wide
    BKA = BK // KA
    XB = x_boxes(BN)

    def load_cols(part, off):
        # VW consecutive fp32 partials from offset off of `part` (launcher scope, as load_w)
        if const_expr(VW == 1):
            return (part[off],)
        return ld_shared_v4_f32(cutlass.Int32((part.iterator + off).toint()))

    def load_w(pipe, st, tma_w, tAgA, tAsA, bn, kt, x_bytes):
        # stage st's weight tiles (one per consumer warpgroup) of k tile kt, once the slot is free; a
        # function of the launcher, not of the kernel: the DSL's staged loops cannot call closures
        # (so not preprocessed either: a Python range unrolls it). The stage's x bytes (M-dependent) are
        # expected before the arrive that expects its weight bytes, so that the stage cannot complete on
        # the weights alone.
        pipe.sync_object_empty.wait(st.index, st.phase)
        with cute.arch.elect_one():
            cute.arch.mbarrier_expect_tx(pipe.producer_get_barrier(st), x_bytes)
        pipe.sync_object_full.arrive(st.index, pipe.producer_mask)
        for j in range(WG):
            tile = weight_row(bn, 64 * j, ROWS, N, SWI) // 64
            cute.copy(tma_w, tAgA[(None, tile, kt)], tAsA[(None, st.index * WG + j)],
                      tma_bar_ptr=pipe.producer_get_barrier(st), **w_policy)

    # the weight tiles are read once (evict-first), unless the CTAs of the other token tile read them too
    w_policy = {"cache_policy": cutlass.Int64(_EVICT_FIRST)} if TT == 1 else {}

    def load_x(pipe, st, tma_xs, tXg, tXs, use, off, kt, mcast, base):
        # stage st's x rows of k tile kt: the boxes M's decomposition uses (`use`), at their row offsets
        # (not preprocessed, as load_w: the run-time condition is an explicit if_generate). With x
        # multicast (CN > 1) the callers are the first CTA of each multicast group, and `mcast` the
        # group's CTAs: the same shared-memory offset and barrier in each receives the tile.
        to_group = {"mcast_mask": mcast} if CN > 1 else {}

        def boxes(b):
            for a in range(KA):
                row = base + off[b] if TT > 1 else off[b]  # x's row of the box: tt > 1 offsets it by the tile
                cute.copy(tma_xs[b], tXg[b][(None, row // XB[b], kt * KA + a)],
                          tXs[b][(None, ((st.index * KA + a) * BN + off[b]) // XB[b])],
                          tma_bar_ptr=pipe.producer_get_barrier(st), **to_group)

        for b in range(len(XB)):
            if_generate(use[b], lambda b=b: boxes(b))

    def store_outputs(out, ep, g, u, row, col0, uniform):
        # the VW outputs of token `row` from column col0 on: the epilogue of each column's sums, then one 8-byte
        # store where VW is 4 (so its epilogue values are all computed before the store). Launcher scope, as load_w
        vals = []
        for j in range(VW):
            sums = (g[j], u[j]) if SWI else (g[j],)
            colf = column_factor(EPI, col0 + j, ep) if uniform is None else uniform
            vals.append(epilogue_value(EPI, sums, row, col0 + j, ep, colf))
        if const_expr(VW == 4):
            # out is [M, N_OUT] row-major and 16-byte aligned, col0 a multiple of 4: 8-byte aligned
            st_global_v4_bf16(cutlass.Int64((out.iterator + row * N_OUT + col0).toint()), *vals)
        else:
            out[row, col0] = vals[0].to(BF16)

    def issue_k_tile(tiled_mma, dst, tCrA, tCrB, stage, wgi):
        # the wgmmas of one k tile into dst, which the first one zeroes; committed as one group. Launcher
        # scope for the same reason as load_w. A fresh atom, as its ACCUMULATE field changes within the tile.
        atom = cute.make_mma_atom(tiled_mma.op)
        warpgroup.fence()
        for kb in range(BK // MMA_K):
            atom.set(warpgroup.Field.ACCUMULATE, kb > 0)
            cute.gemm(atom, dst, tCrA[(None, None, kb, stage * WG + wgi)], tCrB[(None, None, kb, stage)], dst)
        warpgroup.commit_group()

    def add_done_k_tile(pipe, rl, acc, done, pending):
        # once at most `pending` wgmma groups are in flight (done's is not), add its temporary into acc and
        # free its stage (rl: read, not advanced here; the caller's loop body advances it)
        warpgroup.wait_group(pending)
        acc.store(acc.load() + done.load())
        pipe.consumer_release(rl)

    def stages_done(producer: bool):
        # ov: the partials overlay the stages, so no thread may write one before every consumer warpgroup of the
        # CTA, and with a cluster of every CTA it pushes into, has read its last stage (the producer's last loads
        # were read by then). With a cluster all its threads meet here once (barrier.cluster counts every thread;
        # not .aligned, as the producer warp arrives from its own branch); without, the consumer warps alone, on
        # named barrier 1.
        if const_expr(CLUSTER > 1):
            cute.arch.cluster_arrive()
            cute.arch.cluster_wait()
        elif const_expr(not producer):
            cute.arch.barrier(barrier_id=1, number_of_threads=128 * WG)

    @cute.kernel
    def kernel(tma_w: cute.CopyAtom, mW: cute.Tensor, tma_xs: tuple, mXs: tuple,
               out: cute.Tensor, ep: tuple, m: cutlass.Int32, tiled_mma: cute.TiledMma,
               sa_layout: cute.ComposedLayout, sb_layout: cute.ComposedLayout, xb_layouts: tuple):
        tid, _, _ = cute.arch.thread_idx()
        bn, bk, tz = cute.arch.block_idx()
        warp = cute.arch.make_warp_uniform(cute.arch.warp_idx())
        if warp == PRODUCER_WARP:
            cpasync.prefetch_descriptor(tma_w)
            for b in cutlass.range_constexpr(len(XB)):
                cpasync.prefetch_descriptor(tma_xs[b])

        smem = cutlass.memory.SmemAllocator()
        bars = smem.allocate_array(cutlass.Int64, 2 * S, byte_alignment=8)
        sA = smem.allocate_tensor(EL, sa_layout.outer, byte_alignment=_SWIZZLE_BYTES, swizzle=sa_layout.inner)
        sB = smem.allocate_tensor(EL, sb_layout.outer, byte_alignment=_SWIZZLE_BYTES, swizzle=sb_layout.inner)
        if const_expr(OV):
            # the partials over the stages (sA, then sB right after it: its size is a multiple of the 1024-byte
            # alignment), written only once every CTA of the cluster is done with its stages (below)
            part = cute.make_tensor(cute.recast_ptr(sA.iterator, dtype=F32), cute.make_layout(CK * BN * LDP))
        else:
            part = smem.allocate_tensor(F32, cute.make_layout(CK * BN * LDP), byte_alignment=16)

        # Without multicast the pipeline is CTA-local (the cluster only reduces): one empty-barrier arrive per
        # consumer warp. With it, a stage is free once the consumer warps of all CN CTAs that receive its x tile
        # have released it: cluster (CN, CK) as the pipeline's (v, m, n, k) = (1, CN, CK, 1), whose "n"
        # multicast mode signals the CTAs sharing this one's ck coordinate (the multicast group), and the
        # consumer group is then given in threads (the pipeline counts the arrives).
        multicast = dict(cta_layout_vmnk=cute.make_layout((1, CN, CK, 1)), mcast_mode_mn=(0, 1),
                         enable_multicast_signaling=True) if CN > 1 else \
            dict(cta_layout_vmnk=cute.make_layout((1, 1, 1, 1)))
        pipe = pipeline.PipelineTmaAsync.create(
            barrier_storage=bars, num_stages=S,
            producer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread),
            consumer_group=pipeline.CooperativeGroup(pipeline.Agent.Thread, 128 * WG if CN > 1 else 4 * WG),
            tx_count=W_BYTES, **multicast)
        # this CTA's place in its x multicast group (the cluster's x coordinate) and the group's CTA mask
        # (cluster ranks cn + ck*CN)
        cn_idx = bn % CN
        mcast = cutlass.Int16(cutlass.Int32((1 << CN) - 1) << (bk * CN)) if CN > 1 else None

        # (64, BK, N/64, K/BK); a stage holds WG weight tiles (slot stage*WG + j) and one x tile, which
        # each x box size views as (rows, BKA, boxes): box i of that size is rows [i*rows, (i+1)*rows) of
        # k atom (i*rows // BN) % KA of stage i*rows // (BN*KA) (sb_layout's order: rows, then k, then stage)
        gW = cute.local_tile(mW, (64, BK), (None, None))
        tAsA, tAgA = cpasync.tma_partition(tma_w, 0, cute.make_layout(1), cute.group_modes(sA, 0, 2),
                                           cute.group_modes(gW, 0, 2))
        tXg, tXs = [], []
        for b in cutlass.range_constexpr(len(XB)):
            sXb = cute.make_tensor(sB.iterator, xb_layouts[b].outer)
            gXb = cute.local_tile(mXs[b], (XB[b], BKA), (None, None))
            s_part, g_part = cpasync.tma_partition(tma_xs[b], 0, cute.make_layout(1), cute.group_modes(sXb, 0, 2),
                                                   cute.group_modes(gXb, 0, 2))
            tXs.append(s_part)
            tXg.append(g_part)
        # M rounded up to 8 rows as a sum of distinct box heights: which boxes, at which rows
        # tt token tiles: this CTA's x rows are [base, base + m_cta) (m_cta 0 for a tile past M: it loads no x and
        # writes no output)
        base = tz * BN if TT > 1 else 0
        m_cta = cutlass.min(cutlass.max(m - base, 0), BN) if TT > 1 else m
        rows8, x_use, x_off = x_box_plan(m_cta, BN, cutlass.min)
        x_bytes = rows8 * (BK * _eb(d))
        # every CTA expects its stages' x bytes (load_w); with multicast the group's first CTA loads them
        x_load = [u & (cn_idx == 0) for u in x_use] if CN > 1 else x_use
        k0 = bk * KT

        thr = tiled_mma.get_slice(tid % 128)
        coords = thr.partition_C(cute.make_identity_tensor((64, BN)))  # (row, token) of each accumulator
        acc = cute.make_rmem_tensor(coords.shape, F32)

        if warp == PRODUCER_WARP:
            st = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, S)
            # the weights of the first k tiles do not depend on the previous kernel
            for i in cutlass.range_constexpr(PRE):
                load_w(pipe, st, tma_w, tAgA, tAsA, bn, k0 + i, x_bytes)
                st.advance()
            if const_expr(PDL):
                cute.arch.griddepcontrol_wait()
            xs = pipeline.make_pipeline_state(pipeline.PipelineUserType.Producer, S)
            for i in cutlass.range_constexpr(PRE):
                load_x(pipe, xs, tma_xs, tXg, tXs, x_load, x_off, k0 + i, mcast, base)
                xs.advance()
            for i in cutlass.range(PRE, KT, unroll=1):
                load_w(pipe, st, tma_w, tAgA, tAsA, bn, k0 + i, x_bytes)
                load_x(pipe, st, tma_xs, tXg, tXs, x_load, x_off, k0 + i, mcast, base)
                st.advance()
            pipe.producer_tail(st)
            if const_expr(OV):
                stages_done(True)
        else:
            wgi = warp // 4
            tCrA = tiled_mma.make_fragment_A(thr.partition_A(sA))
            tCrB = tiled_mma.make_fragment_B(thr.partition_B(sB))
            rd = pipeline.make_pipeline_state(pipeline.PipelineUserType.Consumer, S)
            rl = pipeline.make_pipeline_state(pipeline.PipelineUserType.Consumer, S)
            acc.fill(0.0)
            if const_expr(PROMOTE):
                # e4m3: each k tile into a zeroed temporary, added into acc once its wgmma is done. Groups of PG
                # k tiles (then one of the KT % PG left), each tile into a temporary made for its group: while
                # one tile's temporary is added, the next tile's MMAs run, and the pipeline drains once per
                # group. No temporary lives across iterations, so ptxas keeps the wgmmas asynchronous (one
                # carried round the loop made it serialise every wgmma: C7514/C7515). The pipeline states
                # advance here, in the loop body: the DSL threads only plain locals rebound in the body.
                for piece in cutlass.range_constexpr(2):
                    size = (PG, KT % PG)[piece]
                    groups = (KT // PG, 1 if KT % PG else 0)[piece]
                    if const_expr(size > 0 and groups > 0):
                        for _ in cutlass.range(groups, unroll=1):
                            tmp = [cute.make_rmem_tensor(coords.shape, F32) for _ in range(size)]
                            for i in cutlass.range_constexpr(size):
                                pipe.consumer_wait(rd)
                                issue_k_tile(tiled_mma, tmp[i], tCrA, tCrB, rd.index, wgi)
                                rd.advance()
                                if const_expr(i > 0):
                                    add_done_k_tile(pipe, rl, acc, tmp[i - 1], 1)
                                    rl.advance()
                            add_done_k_tile(pipe, rl, acc, tmp[size - 1], 0)
                            rl.advance()
            else:
                tiled_mma.set(warpgroup.Field.ACCUMULATE, True)
                warpgroup.fence()
                for kt in cutlass.range(KT, unroll=1):
                    pipe.consumer_wait(rd)
                    for kb in cutlass.range_constexpr(BK // MMA_K):
                        cute.gemm(tiled_mma, acc, tCrA[(None, None, kb, rd.index * WG + wgi)],
                                  tCrB[(None, None, kb, rd.index)], acc)
                    warpgroup.commit_group()
                    rd.advance()
                    if kt > 0:
                        # the previous k tile's wgmma is done: its stage may be refilled
                        warpgroup.wait_group(1)
                        pipe.consumer_release(rl)
                        rl.advance()
                warpgroup.wait_group(0)
                pipe.consumer_release(rl)

            if const_expr(OV):
                # the wgmmas read the stages through the async proxy; the partials are generic stores
                cute.arch.fence_proxy("async.shared", space="cta")
                stages_done(False)
            # partials -> the shared memory of the cluster CTA that owns the row, [source CTA][token][slot]
            for i in cutlass.range_constexpr(cute.size(acc)):
                row, tok = coords[i]
                owner, pslot = push_slot(wgi * 64 + row, ROWS, PART, SWI)
                off = (bk * BN + tok) * LDP + pslot
                if const_expr(CK > 1):
                    # cluster rank of the owner: the same multicast-group place, ck coordinate `owner`
                    dst = cute.arch.map_dsmem_ptr(part.iterator + off, cn_idx + owner * CN if CN > 1 else owner)
                    st_dsmem_f32(cutlass.Int32(dst.toint()), acc[i])
                else:
                    part[off] = acc[i]

        if const_expr(PDL):
            if const_expr(releases_early(d)):
                cute.arch.griddepcontrol_launch_dependents()
            # the epilogue's operands may come from the previous kernel (the producer waited already)
            cute.arch.griddepcontrol_wait()
        if const_expr(CLUSTER > 1):
            # also keeps a multicast group's CTAs resident until none will write into another's shared memory
            cute.arch.cluster_arrive()
            cute.arch.cluster_wait()
        else:
            cute.arch.sync_threads()
        # this CTA owns output columns [bk*OUTC, (bk+1)*OUTC) of the CTA tile: VW of them of one token per step,
        # each summed over the source CTAs in a fixed order (q = 0, 1, ...; gated: the gate and up slots), then
        # stored (store_outputs)
        uniform = uniform_factor(EPI, ep)
        for it in cutlass.range(tid, m_cta * QPT, THREADS, unroll=1):
            tok = it // QPT
            c0 = (it % QPT) * VW
            g = [cutlass.Float32(0.0)] * VW
            u = [cutlass.Float32(0.0)] * VW
            for q in cutlass.range_constexpr(CK):
                at = (q * BN + tok) * LDP + c0
                vals = load_cols(part, at)
                g = [g[j] + vals[j] for j in range(VW)]
                if const_expr(SWI):
                    vals = load_cols(part, at + OUTC)
                    u = [u[j] + vals[j] for j in range(VW)]
            row = base + tok if TT > 1 else tok
            col0 = bn * OUT_ROWS + bk * OUTC + c0
            if const_expr(RAGGED):
                # the last CTA's columns past N: nothing to read (bias, scales) or write. N is a multiple of 8
                # and col0 of VW, so a step's VW columns are all in or all out
                if col0 < N_OUT:
                    store_outputs(out, ep, g, u, row, col0, uniform)
            else:
                store_outputs(out, ep, g, u, row, col0, uniform)

    def launch_body(x, wt, out, ep, stream):
        # wt is W.t(): [K, N] with strides (1, K); view it as W [N, K] row-major
        w = cute.make_tensor(wt.iterator, cute.make_layout((N, K), stride=(K, 1)))
        k_major = LayoutEnum.ROW_MAJOR  # W [N, K] and x [M, K] are both K-major
        atom = cute.nvgpu.warpgroup.make_smem_layout_atom(sm90_utils.get_smem_layout_atom(k_major, EL, BK), EL)
        sa_layout = cute.tile_to_shape(atom, (64, BK, S * WG), order=(0, 1, 2))
        sb_layout = cute.tile_to_shape(atom, (BN, BK, S), order=(0, 1, 2))
        tiled_mma = sm90_utils.make_trivial_tiled_mma(
            EL, EL, k_major.sm90_mma_major_mode(), k_major.sm90_mma_major_mode(), F32, (1, 1, 1),
            tiler_mn=(64, BN))
        tma_w, mW = cpasync.make_tiled_tma_atom(cpasync.CopyBulkTensorTileG2SOp(), w,
                                                cute.slice_(sa_layout, (None, None, 0)), (64, BK))
        xb_layouts, tma_xs, mXs = [], [], []
        for rows in XB:
            # the same shared memory as sb_layout, as (rows, one k atom, boxes)
            layout = cute.tile_to_shape(atom, (rows, BKA, S * KA * BN // rows), order=(0, 1, 2))
            op = cpasync.CopyBulkTensorTileG2SMulticastOp() if CN > 1 else cpasync.CopyBulkTensorTileG2SOp()
            tma_x, mX = cpasync.make_tiled_tma_atom(op, x, cute.slice_(layout, (None, None, 0)), (rows, BKA))
            xb_layouts.append(layout)
            tma_xs.append(tma_x)
            mXs.append(mX)
        kernel(tma_w, mW, tuple(tma_xs), tuple(mXs), out, ep, x.shape[0], tiled_mma, sa_layout, sb_layout,
               tuple(xb_layouts)).launch(
            grid=[row_tiles(d), CK, TT],
            block=[THREADS, 1, 1],
            cluster=[CN, CK, 1] if CLUSTER > 1 else None,
            smem=tma_smem_bytes(d),
            stream=stream,
            use_pdl=PDL,
        )

    return jit_launcher(launch_body, EPI)
