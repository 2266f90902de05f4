"""Which decode-kernel designs to build for a weight shape (no cutlass import).

The kernels and the design-dict schema live in decode_kernels, the designs
measured fastest on the H200 in decode_design_tables; this module only chooses
among designs: the tables' first, then its rules for shapes a table lacks
(`_score`, a rough model of how well a design streams the weights; `_tma_rule`;
the fixed CUDA-core lists). decode_kernels.designs_for forwards here.
"""

import math

from .decode_design_tables import (CP_FP8_SM90, CP_SM90, CP_WHOLE_ROW_SM90, RF_FP8_SM90, RF_SM90, SIMT_FP8_LB8_SM90,
                                   SIMT_FP8_SM90, SIMT_M2_FP8_SM90, SIMT_M2_SM90, SIMT_SM90, TMA_FP8_SM90, TMA_SM90)
from .decode_kernels import (FP8, design_name, is_gated, k_step, make_design, make_simt_design, make_tma_design,
                             smem_bytes)

_SM_COUNT = {"sm_90a": 132, "sm_100a": 148}


def _clusters_held(ck: int, per_sm: int = 1) -> int:
    """How many clusters of ck CTAs an sm_90a GPU runs at once with per_sm CTAs resident per SM: a cluster
    lives inside one GPC, so the H100/H200 SXM hold 30 clusters of 4 CTAs (not 132 / 4 = 33) and 15 of 8
    (gpus.py, measured). A grid of more clusters runs in two waves: session 16 saw a 32-cluster split-K
    design active for half its time (ncu: 24.4k of 49.6k cycles)."""
    from ...gpus import GPU_MODELS

    return GPU_MODELS["H200_SXM"].clusters_for(ck) * per_sm


def _ctas(d: dict) -> int:
    return d["n"] // (16 * d["mt"] * d["wn"]) * d["ck"]


def _score(d: dict, sms: int) -> float:
    """Lower is better: a rough model of how well design d streams W on `sms` SMs.

    Calibrated on the H200 runs of 2026-11-30 (bench/results/h200-2026-11-30):
    all CTAs must be resident at once (clusters of 4-8 pack only ~90% of the SMs'
    slots: ncu's "max active clusters"), the busiest SM sets the time, 1-step
    chunks and thousands of CTAs cost bandwidth, and with mt=1 a 16-token tile
    reads as many x bytes (through L2/L1) as W bytes.
    """
    ctas = _ctas(d)
    warps = d["wn"] * d["wk"]
    per_sm_fit = min(227 * 1024 // smem_bytes(d), 64 // warps, 32)
    if ctas > per_sm_fit * sms * (0.9 if d["ck"] > 2 else 1.0):
        return 1e9  # not all CTAs resident at once: a second wave
    per_sm = ctas / sms
    balance = math.ceil(per_sm) / per_sm  # the busiest SM over the average
    s = d.get("stages", 2)
    warp_inflight = (s - 1) * d["unroll"] * 2 * d["mt"] * 512  # W bytes one warp keeps in flight
    chunks = d["k"] // (k_step(d) * d["unroll"] * d["wk"] * d["ck"])
    sm_inflight = per_sm * warps * warp_inflight  # W bytes one SM keeps in flight
    cost = balance
    cost += 0.5 * max(0.0, 1 - sm_inflight / (48 * 1024))   # too few warps streaming
    cost += 0.1 * max(0.0, 1 - warp_inflight / (12 * 1024))
    cost += 0.2 if d["unroll"] == 1 else 0.0
    cost += 0.03 * max(0.0, ctas / (4 * sms) - 1)
    cost += 0.05 * max(0.0, d["nt"] / d["mt"] - 1)
    cost += 0.1 * max(0, 2 * (s - 1) - chunks) / (s - 1)      # pipeline mostly prologue
    # reduction work; with 1-byte weights the stream takes half as long, so the fixed
    # cost of reducing partials (and of the cluster barrier) weighs twice as much
    cost += (2 if d.get("dtype") == FP8 else 1) * (0.01 * d["ck"] + 0.005 * d["wk"])
    return cost


def _spec(d: dict) -> str:
    """A cp.async design's fields in the measured tables' order, "stages,nt,mt,wn,wk,ck,unroll"."""
    return ",".join(str(d[f]) for f in ("stages", "nt", "mt", "wn", "wk", "ck", "unroll"))


# CUDA-core designs ("rows,warps,unroll") at max_m 1 for shapes SIMT_SM90 lacks: the first two of these that divide
# the shape, else `_simt_by_divisor`'s
_SIMT_FALLBACK = ["2,8,2", "4,8,1", "4,4,2", "4,4,1", "4,2,2", "4,7,2", "8,7,1", "2,4,1"]
# ... at max_m 2, for shapes SIMT_M2_SM90 lacks, after SIMT_SM90's layouts for the shape: the first two that divide it
_SIMT_M2_FALLBACK = ["2,4,2", "4,8,1", "4,4,1", "2,4,1"]


def _simt_by_divisor(k: int, vec: int) -> list[str]:
    """Designs for a K that no design of the fixed lists divides: a warp reads 32 lanes x `vec` elements per
    load (8 bf16, 16 e4m3), so the warps must divide K / (32 * vec); the most warps of up to 10 that do (then
    the next most), 2 and 4 rows, one load per row in flight (what won at bf16 K = 5, 10 and 27 times 256,
    session 15)."""
    loads = k // (32 * vec)
    warps = [w for w in range(10, 1, -1) if loads % w == 0][:2]
    return [f"{rows},{w},1" for w in warps for rows in (2, 4)]


# e4m3 at max_m 1, for shapes SIMT_FP8_SM90 lacks, in this order: by 16-byte weight loads in flight per lane
# (rows*unroll)
_SIMT_FP8_FALLBACK = ["4,4,2", "4,4,1", "2,8,2", "4,8,1", "4,7,1", "8,7,1", "4,2,2", "4,2,1", "2,4,1", "2,2,1"]


# The buckets builds offer TMA designs for: these for every weight, TMA_MEASURED_MAX_M only with the measured
# table's designs. decode_tma also builds max_m 128 and 256 (bench/decode_probe.py
# --mid-sweep); on the H200 none beat cuBLAS by 3% in a model at both edges of a bucket on the 12 shapes of
# decode_probe.MID_SHAPES (session12/call2): 64 weight rows per CTA read x's 128 rows from L2 once per CTA,
# twice the weight's bytes, and two warpgroups leave room for too few stages. Multicasting x over 2 or 4 CTAs
# along the weight rows (decode_tma's "cn"; bench/decode_probe.py --multicast, session15/callB) did not change
# that: 154 designs, all correct, and in a model none beat cuBLAS at M = 96-256 on the 12 shapes by more than
# 2% (1792 x 5120), most lost by 10-60%. At M = 33-64 none beat cuBLAS by 3% in a model where the designs
# builds offer lose, and where those win they were faster (1792 x 5120 at M = 64: 7.81 us against 8.14). So
# x's L2 traffic was not what held them back: at M = 128 a 4096 x 4096 GEMM is also 5.4 us of tensor work.
TMA_MAX_M = (16, 32, 64)
# Session 29 (bench/results/h200-2026-12-03/session29, call A: 86 designs at max_m 128 and 256 on 8 weights, all
# correct at every M) timed the max_m 128 designs again, with the output stage of session 16: in a model two
# weights' beat cuBLAS at M = 65, 96 and 128, Llama-3.1-8B's down 4096 x 14336 by 1.13x, 1.15x, 1.06x (1.16x, 1.18x,
# 1.10x back to back) and Qwen2.5-32B TP4's qkv 1792 x 5120 by 1.02x, 1.06x, 1.05x (1.19x-1.22x). The other six
# lost in a model (0.85x-0.99x at M = 128), though five of them won back to back at some M, and no max_m 256 design
# beat cuBLAS by more than 2% at M = 129-256; call F's five more weights (Qwen3-4B's and Llama-3.1-70B TP8's) won by
# 5% at most, and not at M = 65 and 96. So max_m 128 is offered where the table has designs for it, and nowhere by
# the rule. In e4m3 (session 30, bench/results/h200-2026-12-03/session30: 8 weights where _scaled_mm ran at 22-53% of
# the floor at M = 64-256) the same held: max_m 128 designs with and without `ov` (call A), with x multicast (call B:
# 3-4% slower than their twins in the median), and as two 64-token tiles (call D: the tile _scaled_mm's kernels run
# there, ncu in call C) lost in a model on 7 weights (0.79x-0.97x at M = 128); 1280 x 8192 alone won. max_m 256, as
# two 128-token tiles (an e4m3 CTA holds at most 128 tokens), lost on all 8 (0.41x-0.95x).
# Session 38 (calls A and B, `decode_probe --tma8`): max_m 8, in e4m3 on the nine weights of decode_design_tables'
# entries (1.0-3.7% over every kernel builds had offered at M = 3-8, in two runs); in bf16 no weight gained 1% in both.
TMA_MEASURED_MAX_M = (8, 128)


def _most_stages(n, k, smem_cap: int = 227 * 1024, stage_cap: int | None = None, **kw) -> dict | None:
    """The TMA design with the most stages (up to 16, and no more than a CTA's k tiles: more would only
    hold shared memory) that is valid and fits in smem_cap bytes, its stages in stage_cap bytes where given."""
    from .decode_tma import _tile_bytes

    for stages in range(max(2, min(16, k // (kw["bk"] * kw["ck"]))), 1, -1):
        try:
            d = make_tma_design(n, k, stages=stages, **kw)
        except ValueError:
            continue
        if smem_bytes(d) <= smem_cap and (stage_cap is None or _tile_bytes(d) <= stage_cap):
            return d
    return None


# bf16 stages a CTA holds where the grid is one CTA per SM: the measured table's designs keep their stages within
# this (10 at max_m 16, 8 at 32, 6 at 64 with 256-byte k tiles), and a stage more, which still fits, ran 1.1-1.7%
# slower at max_m 16 on the four weights where the rule had given it (session 35, call D). Grids of many waves (an
# lm_head's, two warpgroups a CTA) do not lose by the stage more (call H), and keep it.
ONE_WAVE_STAGE_BYTES = 200 * 1024
# A design's fewest stages: the two-stage designs the rule gave for two CTAs an SM at max_m 64 ran 0.73x-0.92x of
# cuBLAS on five weights (call D), 0.66x-0.76x on the lm_heads (call H).
MIN_RULE_STAGES = 3


def _tma_rule(n: int, k: int, max_m: int, epilogue: str, dtype: str) -> list[dict]:
    """What the H200 sweep says, for shapes the table lacks. First: one warpgroup (two for a gated epilogue,
    or when N/64 tiles would overfill two CTAs per SM), 256-byte k tiles, the largest cluster
    split-K that keeps the grid within one CTA per SM (132) and its clusters within what the GPU holds at
    once (`_clusters_held`), as many stages as fit (as fit two CTAs per SM where the grid has 133-264).
    Second: where that grid leaves SMs idle (< 100 CTAs: few rows, a short K), the next split-K with two
    CTAs per SM, if that leaves it MIN_RULE_STAGES; else the same grid with 128-byte tiles and twice the stages.
    bf16 designs of one CTA per SM keep their stages within ONE_WAVE_STAGE_BYTES."""
    eb = 1 if dtype == FP8 else 2
    wg = 2 if is_gated(epilogue) or n // 64 > 2 * 132 else 1
    tiles = -(-n // (64 * wg))  # a last tile past N where N is no multiple of it (decode_tma.ragged_n)

    def design(tile_bytes, ck, smem_cap=227 * 1024):
        # a grid of 133-264 CTAs gets the shared memory for two per SM, so that all are resident at once: on
        # 13824 x 5120 and 19456 x 2560 at M = 8-16 the second wave of one CTA per SM cost 3-8% (session 16,
        # call D). Larger grids (an lm_head's) keep deep pipelines and run in waves.
        if 132 < tiles * ck <= 264:
            smem_cap = min(smem_cap, 113 * 1024)
        one_wave = tiles * ck <= 132 and smem_cap > 113 * 1024 and eb == 2
        d = _most_stages(n, k, smem_cap, ONE_WAVE_STAGE_BYTES if one_wave else None, max_m=max_m, wg=wg,
                         bk=tile_bytes // eb, ck=ck, pdl=True, epilogue=epilogue, dtype=dtype)
        return d if d is not None and d["stages"] >= MIN_RULE_STAGES else None

    cks = [c for c in (8, 4, 2, 1) if k % (256 // eb * c) == 0 and tiles * c <= 132
           and tiles <= _clusters_held(c)] or [1]
    first = design(256, cks[0])
    more = [c for c in (2 * cks[0], 4 * cks[0]) if c <= 8 and k % (256 // eb * c) == 0 and tiles * c <= 264
            and tiles <= _clusters_held(c, 2)]
    second = design(256, more[0], 113 * 1024) if first is not None and tiles * cks[0] < 100 and more else None
    if second is None:  # or where two CTAs an SM leave it too few stages
        second = design(128, cks[0])
    return [d for d in (first, second) if d is not None]


def tma_designs_for(n: int, k: int, arch: str, max_m: int, epilogue: str = "identity",
                    dtype: str = "bfloat16") -> list[dict]:
    """Two TMA + wgmma designs of `max_m` for (n, k), or all three of a measured entry that lists three: the measured
    ones (bf16 `TMA_SM90`, e4m3 `TMA_FP8_SM90`) where valid for `epilogue` (a gated one needs wg 2), then the rule's (for
    the buckets of TMA_MAX_M; TMA_MEASURED_MAX_M's take the table's alone). sm_90a only: wgmma is a Hopper
    instruction (sm_100a has tcgen05 instead)."""
    if arch != "sm_90a":
        return []
    out: list[dict] = []
    specs = (TMA_FP8_SM90 if dtype == FP8 else TMA_SM90).get((n, k), {}).get(max_m, [])
    for spec in specs:
        st, wg, bk, ck = (int(v) for v in spec.split(","))
        try:
            out.append(make_tma_design(n, k, max_m=max_m, wg=wg, bk=bk, ck=ck, stages=st, pdl=True,
                                       epilogue=epilogue, dtype=dtype))
        except ValueError:
            continue
    if max_m in TMA_MAX_M:
        out += [d for d in _tma_rule(n, k, max_m, epilogue, dtype) if d not in out]
    # two a bucket, or every design of a table entry that lists three: the leader in a model beside the two it
    # displaced back to back (TMA_FP8_SM90), for the tuner, which ranks in a model, to choose among
    return out[:max(2, len(specs))]


def simt_designs_for(n: int, k: int, arch: str, epilogue: str = "identity", dtype: str = "bfloat16",
                     max_m: int = 1) -> list[dict]:
    """Two CUDA-core designs with PDL for max_m 1 or 2: the measured ones, else the first valid of the
    fixed list (for `epilogue`: those it allows, e.g. an even row count for a gated one), else `_simt_by_divisor`'s.
    None where K is no whole number of warp loads (the tensor-core kernels serve M = 1 there); e4m3 at max_m 1,
    whose 16-byte loads hold 16 elements, then tries 8-byte ones (`SIMT_FP8_LB8_SM90`, else the divisor rule).
    e4m3 at max_m 2: the measured table's only (`SIMT_M2_FP8_SM90`, the weights where they won in a model on the
    H200), so none for sm_100a or for other weights."""
    measured = arch == "sm_90a"
    lb8 = []  # specs of 8-byte loads, tried after every 16-byte one
    if dtype == FP8 and max_m == 2:
        specs = SIMT_M2_FP8_SM90.get((n, k), []) if measured else []
    elif dtype == FP8:
        if max_m != 1:
            return []
        specs = (SIMT_FP8_SM90.get((n, k), []) if measured else []) + _SIMT_FP8_FALLBACK + _simt_by_divisor(k, 16)
        lb8 = (SIMT_FP8_LB8_SM90.get((n, k), []) if measured else []) + _simt_by_divisor(k, 8)
    elif max_m == 2:
        specs = ((SIMT_M2_SM90.get((n, k), []) + SIMT_SM90.get((n, k), []) if measured else [])
                 + _SIMT_M2_FALLBACK + _simt_by_divisor(k, 8))
    else:
        specs = (SIMT_SM90.get((n, k), []) if measured else []) + _SIMT_FALLBACK + _simt_by_divisor(k, 8)

    def first_two(specs: list[str], load_bytes: int) -> list[dict]:
        out = []
        for spec in specs:
            rows, warps, unroll = (int(v) for v in spec.split(","))
            try:
                d = make_simt_design(n, k, max_m=max_m, rows=rows, warps=warps, unroll=unroll, pdl=True,
                                     epilogue=epilogue, dtype=dtype, load_bytes=load_bytes)
            except ValueError:
                continue
            if d not in out:
                out.append(d)
            if len(out) == 2:
                break
        return out

    return first_two(specs, 16) or first_two(lb8, 8)


def rf_designs_for(n: int, k: int, arch: str, max_m: int, epilogue: str = "identity",
                   dtype: str = "bfloat16") -> list[dict]:
    """The register-fed mma.sync designs of `max_m` measured for (n, k) on the H200 (bf16 `RF_SM90`, e4m3
    `RF_FP8_SM90`), where valid for `epilogue`; none for other shapes or sm_100a."""
    if arch != "sm_90a":
        return []
    out = []
    for spec in (RF_FP8_SM90 if dtype == FP8 else RF_SM90).get((n, k), {}).get(max_m, []):
        mt, wk, unroll = (int(v) for v in spec.split(","))
        try:
            out.append(make_design(n, k, kind="swapab_rf", nt=max_m // 8, mt=mt, wn=1, wk=wk, ck=1, unroll=unroll,
                                   pdl=True, epilogue=epilogue, dtype=dtype))
        except ValueError:
            continue
    return out


def whole_row_form(d: dict, epilogue: str = "identity", dtype: str = "bfloat16") -> dict:
    """cp.async design d with whole-row copies (design key "coal"), its other fields and PDL kept; ValueError where
    its warps do not copy whole rows."""
    return make_design(d["n"], d["k"], nt=d["nt"], mt=d["mt"], wn=d["wn"], wk=d["wk"], ck=d["ck"], unroll=d["unroll"],
                       stages=d["stages"], pdl=d["pdl"], epi=d.get("epi", "push"), epilogue=epilogue, dtype=dtype,
                       coal=True)


def designs_for(n: int, k: int, arch: str, epilogue: str = "identity", dtype: str = "bfloat16") -> list[dict]:
    """A handful of designs worth timing for weight shape (n, k), each with its max_m.

    First two CUDA-core designs for M = 1 (max_m 1, `simt_designs_for`), and two
    for M = 2 (max_m 2, which beat the tensor-core kernels there on the H200; e4m3 on the weights measured). Then two
    tensor-core buckets, max_m 8 and 16 (above 16 tokens these kernels lost to cuBLAS
    on the H200: mma.sync work and x traffic grow with the token tile, see
    decode_NOTES.md). Per bucket: the designs measured fastest for this shape
    on the H200 (sm_90a, known shapes only), then the best by `_score` of a
    small grid, four in all (sm_90a: three at max_m 8, two at 16; those of `CP_WHOLE_ROW_SM90` in their
    whole-row form), and the register-fed designs
    measured for the shape (`rf_designs_for`: K <= 1280, and e4m3 6144x2560), every one with
    PDL (it saved 0.5-1 us between back-to-back GEMMs and cost nothing
    elsewhere). Last, on sm_90a, two TMA + wgmma designs (decode_tma; three where the table's entry lists three) for
    each of max_m 16, 32 and 64 (`tma_designs_for`): one CTA per SM streaming W through
    a deep TMA pipeline, which beat both cuBLAS and the cp.async kernels at
    M = 16-32 on most shapes; and max_m 8 and 128 for the weights measured to win there (TMA_MEASURED_MAX_M). A
    fused `epilogue` keeps the
    same choice among the designs it allows (a gated one needs an even number of
    16-row tiles per CTA); its output stage adds little to a weight stream.

    Not offered, measured and lost: cp.async designs on the CUDA-core kernel's
    kind of grid for the largest weights (16 rows per CTA, K split over a
    cluster of 2-4: 1792-7168 CTAs). On Llama-3.1-8B's gate_up at M = 16 they
    ran 61-112 us against 57.1 for this list's TMA design; their SMs stay
    busier, but at 18-23% occupancy they hold too few weight bytes in flight
    (70-75% of the DRAM peak; bench/results/h200-2026-12-02/session21/callG).

    fp8 (dtype "float8_e4m3fn", any of the scale epilogues, which share the designs): the fp8
    table's designs (CP_FP8_SM90); for a shape it lacks, the first two of
    the bf16 table's geometries that are valid with 1-byte weights (same bytes in
    flight, half the chunks), then the best by `_score`.
    """
    sms = _SM_COUNT.get(arch, 132)
    out: list[dict] = simt_designs_for(n, k, arch, epilogue, dtype)
    out += simt_designs_for(n, k, arch, epilogue, dtype, max_m=2)
    fp8 = dtype == FP8
    seen: set = set()
    for nt in (1, 2):
        # with TMA designs for max_m 16 (sm_90a), fewer cp.async ones: 3 at max_m 8 and 2 at 16, so a
        # build's top five per bucket (DecodeSource.rank: smallest max_m first) still reach the TMA ones
        per_bucket = (3 if nt == 1 else 2) if arch == "sm_90a" else 4
        picked: list[dict] = []
        if arch == "sm_90a":
            measured_fp8 = CP_FP8_SM90.get((n, k)) if fp8 else None
            for spec in measured_fp8 or CP_SM90.get((n, k), []):
                st, snt, mt, wn, wk, ck, u = (int(v) for v in spec.split(","))
                if snt == nt:
                    try:
                        picked.append(make_design(n, k, nt=nt, mt=mt, wn=wn, wk=wk, ck=ck, unroll=u,
                                                  stages=st, pdl=True, epilogue=epilogue, dtype=dtype))
                    except ValueError:  # not one this epilogue (fp8: K) allows
                        continue
            if fp8 and not measured_fp8:
                picked = picked[:2]
        scored = []
        for mt in (1, 2):
            for wn in (1, 2):
                # 3 and 6 warps for a K with a factor of 3 (Qwen2.5-32B TP4's down, K = 6912: in e4m3
                # 54 chunks of 128, which powers of two split over at most 2 warps, and the score
                # then finds too few warps streaming W)
                for wk in (1, 2, 3, 4, 6):
                    for ck in (1, 2, 4, 8):
                        for unroll in (2, 4):
                            for stages in (3, 4):
                                try:
                                    d = make_design(n, k, nt=nt, mt=mt, wn=wn, wk=wk, ck=ck,
                                                    unroll=unroll, stages=stages, pdl=True,
                                                    epilogue=epilogue, dtype=dtype)
                                except ValueError:
                                    continue
                                scored.append((_score(d, sms), design_name(d), d))
        scored.sort(key=lambda e: (e[0], e[1]))
        picked += [d for sc, _, d in scored if sc < 1e8]
        count = 0
        coal = CP_WHOLE_ROW_SM90.get((n, k), set()) if arch == "sm_90a" and not fp8 else set()
        for d in picked:
            name = design_name(d)
            if name in seen:
                continue
            seen.add(name)
            if _spec(d) in coal:
                d = whole_row_form(d, epilogue, dtype)
            out.append(d)
            count += 1
            if count == per_bucket:
                break
        out += rf_designs_for(n, k, arch, 8 * nt, epilogue, dtype)
    for max_m in sorted(TMA_MAX_M + TMA_MEASURED_MAX_M):
        out += tma_designs_for(n, k, arch, max_m, epilogue, dtype)
    return out
