"""Which decode-kernel designs to build for a weight shape (no cutlass import).

The kernels and the design-dict schema live in decode_kernels; this module
only chooses among designs: a table of designs measured fastest on the H200,
and `_score`, a rough model of how well a design streams the weights, for
shapes the table lacks. decode_kernels.designs_for forwards here.
"""

import math

from .decode_kernels import FP8, design_name, k_step, make_design, make_simt_design, make_tma_design, smem_bytes

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


# The fastest designs per weight shape measured on the H200 (132 SMs) on 2026-11-30,
# best first by the mean of (ours / cuBLAS) over both figures at M 1,4,8 (nt=1) or
# 12,16 (nt=2) (bench/results/h200-2026-11-30/decode_probe_run4_explore2.*). Fields:
# "stages,nt,mt,wn,wk,ck,unroll". designs_for puts them first for sm_90a.
_MEASURED_SM90 = {
    (28672, 4096): ["3,1,2,1,1,1,4", "4,1,2,1,1,1,2", "3,1,2,1,1,1,2", "4,1,1,2,1,1,2",
                    "4,2,2,1,1,1,2", "3,2,2,1,1,1,2", "3,2,1,1,1,1,2", "3,2,1,2,1,1,2"],
    (4096, 14336): ["4,1,1,1,2,2,4", "4,1,1,1,4,1,4", "4,1,1,1,1,1,4",
                    "4,2,2,1,4,2,2", "4,2,2,1,2,2,4", "4,2,2,1,2,2,2", "4,2,2,1,4,1,2"],
    (7168, 4096): ["3,1,1,1,1,2,4", "4,1,1,1,1,2,4", "4,1,1,1,2,2,2", "4,1,2,1,1,4,2",
                   "3,2,1,1,1,2,4", "3,2,2,1,1,4,2", "3,2,1,1,2,2,2", "6,2,1,1,1,2,2"],
    (6144, 4096): ["4,1,1,1,2,1,4", "4,1,1,1,4,1,2", "3,1,2,1,1,2,4", "4,1,1,1,1,1,4",
                   "4,2,1,2,2,2,2", "4,2,2,1,1,4,2", "4,2,2,1,2,2,2", "4,2,1,2,1,2,4"],
    (4096, 4096): ["4,1,1,1,2,2,4", "4,1,1,1,4,1,4", "4,1,1,1,1,2,4", "4,1,1,1,2,1,4",
                   "4,2,2,1,4,2,2", "4,2,2,1,2,2,4", "4,2,2,1,2,2,2", "4,2,2,2,2,2,2"],
    (4096, 3584): ["4,1,1,2,4,2,2", "4,1,1,1,1,2,4", "4,1,1,1,4,1,4", "4,1,1,1,2,1,4",
                   "4,2,2,2,4,2,2", "4,2,2,1,4,2,2", "4,2,2,1,2,2,2", "4,2,2,1,4,1,2"],
    (1280, 8192): ["3,1,1,1,1,8,4", "6,1,1,1,1,8,2", "4,1,1,1,1,8,4", "4,1,1,1,4,4,2",
                   "4,2,2,1,2,8,2", "4,2,1,2,1,8,4", "4,2,2,1,1,8,4", "4,2,1,1,1,8,4"],
    (8192, 1024): ["3,1,1,2,2,1,4", "3,1,1,1,2,1,4", "4,1,2,1,1,2,2", "4,1,2,1,2,1,2",
                   "3,2,1,1,2,1,4", "3,2,1,2,2,1,4", "4,2,2,1,2,1,2", "4,2,2,1,1,2,2"],
    (1536, 4096): ["3,1,1,1,1,8,4", "3,1,1,1,4,4,2", "4,1,2,1,2,8,2", "6,1,1,1,1,4,2",
                   "4,2,2,1,1,8,2", "4,2,2,1,1,8,4", "3,2,1,1,2,4,4", "3,2,2,1,1,8,4"],
    # max_m 8 on six weights that had _score's picks, from session 37 (bench/results/h200-2026-12-04/session37, calls
    # A and B: `decode_probe --cp-gaps`, 314 kernels on the ten weights without entries, all correct): the best two by
    # the mean of cuBLAS/ours over M = 3, 4, 5, 8, back to back and in a model, in two runs. Over the best design
    # builds had offered there (cp.async or TMA): 6144 x 2560 1.140x against 1.099x (at M = 5 8.96 us against 9.53),
    # 1792 x 5120 1.361x against 1.342x, 5120 x 1280 1.150x against 1.136x, 5120 x 6912 1.107x against 1.092x,
    # 2560 x 4096 1.339x against 1.323x, 7168 x 8192 1.143x against 1.132x (each in the form, plain or whole-row, that
    # _COAL_SM90 gives it). Six stages, which the score's grid (3 and 4) leaves out, in five. On the other four
    # (2560 x 9728, 8192 x 3584, 13824 x 5120, 19456 x 2560) what builds offered was the fastest.
    # Each keeps the best cp.async design builds had offered it among its three (the third, after these two, where the
    # score would no longer pick it): the tuner's choice among designs within 1-2% of each other moves between runs
    # (call C: on 5120 x 1280 it took the table's second, 6.42 us in a model against 6.44 for the design it had taken
    # before, and its bench ran that choice at 5.19 us back to back where session 36's had run the other at 4.95).
    (1792, 5120): ["6,1,1,1,1,8,2", "4,1,1,1,1,8,4"],
    (2560, 4096): ["6,1,2,1,1,8,2", "6,1,1,1,1,4,2", "4,1,1,1,1,4,4"],
    (5120, 1280): ["6,1,1,1,1,2,2", "4,1,1,1,4,1,2", "4,1,1,1,2,2,2"], (5120, 6912): ["6,1,1,1,1,2,4", "6,1,1,1,2,2,2"],
    (6144, 2560): ["3,1,2,1,4,2,2", "4,1,1,1,1,2,4"], (7168, 8192): ["6,1,1,1,1,2,2", "3,1,1,1,1,2,4"],
}


# cp.async designs (fields as in _MEASURED_SM90, whichever list picked them) built in their whole-row form
# (design key "coal": each cp.async instruction of a warp copies runs of unroll*64 contiguous bytes of whole rows,
# not 64 bytes of 8 rows; decode_kernels): those that ran at least 1% faster than without it at every M timed,
# 4-16, back to back on the H200 (bench/results/h200-2026-12-02/session23, call E, scripts/coal_table.py; over
# all 58 points of 29 twins the median gain was 1.2%, from -2.5% to +3.8%). bf16 only: e4m3 was not measured.
_COAL_SM90 = {
    (4096, 14336): {"4,1,1,1,2,2,4", "4,1,1,1,4,1,4", "4,2,2,1,4,2,2"},
    (6144, 4096): {"4,1,1,1,2,1,4", "4,1,1,1,4,1,2", "4,2,2,1,1,4,2"},
    (13824, 5120): {"3,1,2,1,1,2,4", "4,1,1,1,1,1,4", "4,1,2,1,1,2,2", "4,2,2,1,1,2,2"},
    (28672, 4096): {"4,1,2,1,1,1,2", "4,2,2,1,1,1,2"},
    # session 37 (calls A and B): of _MEASURED_SM90's new entries, the whole-row forms that ran 1% or more ahead of
    # their twins in the mean over M = 3-8 of both runs, back to back and in a model: 1.2% (1792 x 5120) to 5.2%
    # (5120 x 6912's first); on 2560 x 4096 and 5120 x 1280 the two forms were within 0.6%
    (1792, 5120): {"6,1,1,1,1,8,2"}, (5120, 6912): {"6,1,1,1,1,2,4", "6,1,1,1,2,2,2"}, (6144, 2560): {"4,1,1,1,1,2,4"},
    (7168, 8192): {"6,1,1,1,1,2,2"},
}


def _spec(d: dict) -> str:
    """A cp.async design's fields in the measured tables' order, "stages,nt,mt,wn,wk,ck,unroll"."""
    return ",".join(str(d[f]) for f in ("stages", "nt", "mt", "wn", "wk", "ck", "unroll"))


# CUDA-core designs for M = 1 (decode_simt), "rows,warps,unroll", measured on the H200
# on 2026-11-30 (decode_probe_run5_simt.*): at M=1 they beat the tensor-core kernel
# on all nine shapes (1536x4096: 4.23 vs 5.60 us). Their max_m=4 versions lost to the
# tensor-core max_m=8 kernels at M=2..4 on 8 of 9 shapes, so only max_m=1 is offered.
_SIMT_SM90 = {
    (28672, 4096): ["2,8,2", "4,8,1"], (4096, 14336): ["4,4,1", "4,4,2"],
    (7168, 4096): ["2,8,2", "4,8,1"], (6144, 4096): ["2,8,2", "4,8,1"],
    (4096, 4096): ["2,8,2", "4,8,1"], (4096, 3584): ["4,7,2", "8,7,1"],
    (1280, 8192): ["2,8,2", "4,8,1"], (8192, 1024): ["4,4,1", "4,2,2"],
    (1536, 4096): ["2,8,2", "4,8,1"],
    # K = 5, 10, 27 and 38 times 256, which no design of _SIMT_FALLBACK divides: every valid design with 2-8
    # rows, 2-10 warps and up to 8 loads in flight, timed at M = 1 on the H200 on 2026-12-01
    # (bench/results/h200-2026-12-01/session15/callD, decode_probe --simt-k), the best two by plain + model.
    # They beat the max_m 8 tensor-core kernels builds had offered there (5120x1280: 4.59 against 5.11 us)
    # except on 2560x9728, whose K leaves 2 warps (15.03 against 14.12 us).
    (5120, 1280): ["4,5,1", "2,5,1"], (6144, 2560): ["2,10,1", "4,5,1"], (19456, 2560): ["2,10,1", "2,5,2"],
    (151936, 2560): ["2,10,1", "2,5,1"], (5120, 6912): ["4,9,1", "2,9,1"], (2560, 9728): ["2,2,1", "4,2,1"],
    # session 36 call G (`decode_probe --simt-gaps`: every design of 2-8 rows, 2-10 warps, 1-2 loads a row in flight on
    # six weights no M = 1 probe had measured, all correct), where the best beat the fallback list's: Qwen2.5-32B
    # TP4's qkv 5.71 us against 6.37 for "4,4,1" (1.115x back to back, 1.072x in a model), its gate_up 32.65 against
    # 33.36 (1.022x); on the other four the designs builds offered were the fastest or within 1.6%
    (1792, 5120): ["2,5,2", "4,10,1"], (13824, 5120): ["2,5,2", "2,10,2"],
}
# for other shapes: the first two of these that divide the shape, else `_simt_by_divisor`'s
_SIMT_FALLBACK = ["2,8,2", "4,8,1", "4,4,2", "4,4,1", "4,2,2", "4,7,2", "8,7,1", "2,4,1"]
# CUDA-core designs for M = 2 (max_m 2), "rows,warps,unroll": of 2-8 rows, 3-10 warps and 1-2 loads per row in
# flight, the best two at M = 2 by plain + model time on the H200 (bench/results/h200-2026-12-02/session17,
# call A, `decode_probe --simt-m`). They beat every kernel builds timed at M = 2 before (cp.async max_m 8, TMA
# max_m 16) on all 12 weights, by 1.2-13% back to back (5120x1280: 4.59 against 5.20 us; 28672x4096: 53.8
# against 56.2, where cuBLAS took 56.0). At max_m 4 the same kernels lose at M = 3-4: four tokens' x values
# and 4 x rows accumulators take 140-150 registers, three CTAs of 128 threads per SM, and the weight bytes
# those lanes hold in flight (48 KB per SM) do not stream W at the HBM rate (28672x4096: 63 us, cuBLAS 56).
# Neither an L2 bulk prefetch of the rows nor a persistent grid with x in shared memory changed that (the
# same session, calls A and D: 10-15% slower, and 0.71x-0.96x of cuBLAS).
_SIMT_M2_SM90 = {
    (6144, 4096): ["2,4,2", "4,8,1"], (4096, 4096): ["2,4,2", "4,4,1"], (28672, 4096): ["2,4,2", "4,8,1"],
    (4096, 14336): ["4,8,1", "2,4,2"], (128256, 4096): ["2,4,2", "4,8,1"],
    # session 36 call G: 5 warps, which session 17's grid (two warp counts per weight, 4 and 10 here) left out, ran
    # 5.99 us against 6.53 for "2,4,1" (1.091x back to back, 1.057x in a model)
    (1792, 5120): ["2,5,2", "2,5,1"],
    (5120, 1280): ["4,5,1", "2,5,1"], (13824, 5120): ["4,4,1", "2,10,1"], (5120, 6912): ["4,3,1", "8,3,1"],
    (6144, 2560): ["2,5,1", "4,10,1"], (2560, 4096): ["2,4,2", "2,4,1"], (19456, 2560): ["4,5,1", "2,5,1"],
}
# for other shapes, after the max_m 1 table's layouts for the shape: the first two of these that divide it
_SIMT_M2_FALLBACK = ["2,4,2", "4,8,1", "4,4,1", "2,4,1"]


def _simt_by_divisor(k: int, vec: int) -> list[str]:
    """Designs for a K that no design of the fixed lists divides: a warp reads 32 lanes x `vec` elements per
    load (8 bf16, 16 e4m3), so the warps must divide K / (32 * vec); the most warps of up to 10 that do (then
    the next most), 2 and 4 rows, one load per row in flight (what won at bf16 K = 5, 10 and 27 times 256,
    session 15)."""
    loads = k // (32 * vec)
    warps = [w for w in range(10, 1, -1) if loads % w == 0][:2]
    return [f"{rows},{w},1" for w in warps for rows in (2, 4)]


# fp8 (e4m3, W8A8) on the H200 on 2026-11-30 (bench/results/h200-2026-11-30/fp8_decode_probe_run1.*):
# every design of designs_for then (both scale epilogues) plus 58 more geometries (scale "tensor"),
# ranked per bucket by the mean over M (1,2,4,8 for nt=1; 8,16 for nt=2) and both scale
# epilogues of (time / the fastest kernel's at that point). Same fields as _MEASURED_SM90.
_MEASURED_FP8_SM90 = {
    (6144, 4096): ["4,1,1,1,4,1,2", "4,1,1,1,2,1,4", "6,1,1,1,2,1,2", "4,1,2,1,2,2,2",
                   "4,2,1,2,2,2,2", "4,2,2,1,2,2,2", "4,2,2,1,1,4,2", "4,2,2,2,1,4,2"],
    (4096, 4096): ["4,1,1,1,4,1,4", "4,1,1,1,2,2,4", "4,1,1,1,2,1,4", "3,1,2,1,4,1,4",
                   "4,2,2,1,4,2,2", "3,2,2,2,2,2,4", "3,2,2,1,4,1,4", "3,2,2,1,2,2,4"],
    (28672, 4096): ["3,1,2,1,1,1,4", "4,1,2,1,1,1,2", "6,1,2,1,1,1,2", "3,1,1,2,1,1,2",
                    "4,2,2,1,1,1,2", "3,2,2,2,1,1,2", "3,2,1,1,1,1,2", "3,2,2,1,1,1,2"],
    (4096, 14336): ["4,1,1,1,4,1,4", "4,1,1,1,2,2,4", "6,1,1,2,2,1,4", "6,1,1,1,2,1,4",
                    "4,2,2,1,4,2,2", "4,2,2,1,2,2,4", "3,2,2,1,2,2,4", "6,2,2,1,2,1,4"],
    (8192, 1024): ["4,1,2,1,2,1,2", "3,1,1,1,2,1,4", "4,1,1,1,1,1,4", "3,1,1,2,2,1,4",
                   "3,2,1,2,2,1,4", "3,2,1,1,2,1,4", "4,2,2,1,2,1,2", "4,2,2,2,2,1,2"],
    (1280, 8192): ["6,1,1,1,1,8,2", "6,1,2,1,1,8,2", "6,1,1,1,2,4,2", "3,1,1,1,2,8,2",
                   "4,2,2,1,2,8,2", "4,2,1,2,1,8,4", "4,2,1,1,1,8,4", "3,2,1,1,2,8,2"],
    # max_m 8 on the ten e4m3 weights of the shipped manifests that had the bf16 table's geometries or _score's picks,
    # from session 37 call B (`fp8_decode_probe --cp-gaps`: 272 kernels, all correct): the best two cp.async designs by
    # the mean of _scaled_mm/ours at M = 3, 4, 5, 8 back to back (per-tensor scales). Where a TMA or register-fed kernel
    # was the fastest there (all but 2560 x 9728 and 6144 x 2560), these are what builds offer beside it; on 2560 x 9728
    # six stages ran 1.252x against 1.227x for the design builds had offered, on 6144 x 2560 1.147x against 1.101x
    # (the register-fed kernel there 1.139x)
    (1792, 5120): ["6,1,1,1,1,8,2", "4,1,1,1,2,2,4"], (2560, 4096): ["6,1,1,1,1,4,2", "3,1,1,1,1,4,4"],
    (2560, 9728): ["6,1,1,1,1,4,2", "6,1,1,2,2,1,4"], (5120, 1280): ["4,1,1,1,1,2,2", "4,1,1,1,1,1,4"],
    (5120, 6912): ["4,1,1,1,3,2,2", "3,1,1,1,6,1,2"], (6144, 2560): ["3,1,1,1,4,1,2", "6,1,1,1,1,2,2"],
    (7168, 8192): ["4,1,1,2,2,1,4", "3,1,1,1,1,2,4"], (8192, 3584): ["4,1,1,2,2,1,4", "4,1,1,2,1,2,4"],
    (13824, 5120): ["4,1,2,2,2,1,2", "4,1,1,1,1,1,4"], (19456, 2560): ["3,1,1,2,2,1,2", "3,1,1,1,2,1,2"],
}
# fp8 SIMT (M = 1), the same run, by time at M=1: fewer warps and 4 rows won where K allows
# (16 e4m3 per load: K per iteration doubles, and the conversions add CUDA-core work)
_SIMT_FP8_SM90 = {
    (6144, 4096): ["4,4,2", "4,4,1"], (4096, 4096): ["4,4,2", "4,4,1"], (28672, 4096): ["4,4,1", "4,4,2"],
    (4096, 14336): ["4,4,1", "4,7,1"], (8192, 1024): ["4,2,1", "2,2,1"], (1280, 8192): ["2,8,2", "4,8,1"],
    # session 36 call H (`fp8_decode_probe --simt-gaps`: 2-8 rows, 2-10 warps, 1-2 loads a row in flight on the eight
    # e4m3 weights no M = 1 probe had measured, all correct), where the best beat what builds offered: Qwen2.5-32B
    # TP4's qkv 3.83 us against 4.27 (1.712x over _scaled_mm against 1.538x; the fallback list had given it 2 warps),
    # its gate_up 1.115x against 1.083x (1.098x against 1.061x in a model), Llama-3.1-70B TP8's gate_up 1.234x against
    # 1.209x; on the other five the designs builds offered were the fastest
    (1792, 5120): ["2,5,1", "2,5,2"], (13824, 5120): ["2,5,2", "4,5,1"], (7168, 8192): ["4,8,2", "4,2,2"],
}
# Register-fed mma.sync designs (decode_kernels "swapab_rf": each lane loads its 16-byte pieces of W and x straight
# into registers, chunk i+1's before chunk i's MMAs), "mt,wk,unroll" (one warp row, no cluster) per max_m, bf16 only,
# from session 19 call D (`decode_probe --rf`, 171 kernels on 9 weights, all correct at every M up to max_m): on the
# two weights of K <= 1280 they beat every cp.async and TMA kernel of builds, back to back and in a model
# (8192x1024 at M = 4: 5.67 us against 6.13, 7.14 in a model against 7.59; 5120x1280 at M = 9: 5.63 against 6.04),
# and on the seven of K >= 4096 they lost (28672x4096 at M = 16: 64.2 us against 55.5).
_RF_SM90 = {(8192, 1024): {8: ["1,8,2"], 16: ["1,8,1"]}, (5120, 1280): {16: ["1,8,1"]}}
# e4m3, the same fields, from session 19 call F (`fp8_decode_probe --rf`, 76 kernels on 4 weights, all correct;
# against `_scaled_mm` with per-tensor scales): 8192x1024 at M = 4 3.50 us against 4.08 for the best cp.async or TMA
# kernel (at M = 9-16 level back to back and 5.15-5.29 us against 5.69-5.74 in a model), 5120x1280 at M = 4-8 3.31-3.46
# against 3.62-3.64, 6144x2560 at M = 4-8 5.97-6.08 against 6.24-6.36; at max_m 16 on the last two, and on 4096x4096,
# they lost.
_RF_FP8_SM90 = {(8192, 1024): {8: ["1,8,1"], 16: ["1,8,1"]}, (5120, 1280): {8: ["1,5,4"]}, (6144, 2560): {8: ["1,8,1"]}}
# fp8 CUDA-core designs for M = 2 (max_m 2), "rows,warps,unroll", from the e4m3 grid of session 17 (call E,
# `fp8_decode_probe --simt-m`, 334 kernels, all correct), the best two by the mean over both scale forms of their
# speed-up at M = 2. Back to back they ran 0.91x-1.04x of the best tensor-core kernel, so they were first left
# out; in a model (a kernel writing x just before, what the tuner ranks by) they beat the best tensor-core kernel
# timed there on these 8 weights, by 1-13% (1280x8192 per tensor: 1.41x against 1.29x over `_scaled_mm`;
# 4096x4096 1.11x against 1.03x; 28672x4096 1.02x against 0.97x), and lost on 4096x14336, 7168x8192 and
# 6144x2560, which get none. The tuner keeps them only where they also hold back to back.
_SIMT_M2_FP8_SM90 = {
    (1280, 8192): ["2,8,1", "2,8,2"], (1792, 5120): ["2,5,2", "4,5,2"], (2560, 4096): ["2,4,1", "2,4,2"],
    (4096, 4096): ["4,4,2", "2,4,2"], (6144, 4096): ["4,8,1", "4,4,2"], (13824, 5120): ["4,5,2", "2,5,2"],
    (19456, 2560): ["8,5,1", "4,5,1"], (28672, 4096): ["4,4,2", "4,8,1"],
}
# for other shapes, in this order: by 16-byte weight loads in flight per lane (rows*unroll)
_SIMT_FP8_FALLBACK = ["4,4,2", "4,4,1", "2,8,2", "4,8,1", "4,7,1", "8,7,1", "4,2,2", "4,2,1", "2,4,1", "2,2,1"]
# fp8 CUDA-core designs loading 8 bytes a lane (decode_simt's `lb`), same fields, for an e4m3 K that is no whole number
# of 16-byte warp loads (1280 = 2.5 x 32 x 16), where no design above is valid: the best two at M = 1 by both scale
# forms, back to back and in a model, from session 36 call C (`fp8_decode_probe --simt-lb8`: 96 of them on Qwen2.5-32B
# TP4's o and down, all correct). Against the best kernel builds had offered there (register-fed and cp.async), both
# scale forms: 5120 x 1280 3.43 us against 3.50 back to back, 1.247x over _scaled_mm in a model against 1.176x;
# 5120 x 6912 10.20 against 10.47, 1.124x against 1.060x. At max_m 2 they lost (1.21x against 1.36x back to back).
_SIMT_FP8_LB8_SM90 = {(5120, 1280): ["4,5,1", "8,5,1"], (5120, 6912): ["2,9,3", "2,3,3"]}


# TMA + wgmma designs (decode_tma) per weight shape and max_m, measured on the H200 on 2026-12-01
# (bench/results/h200-2026-12-01/session6, call B: 339 designs, every one correct at every M): the
# best two by the mean over the bucket's M (8 and 16 for max_m 16, else max_m) of cuBLAS/ours,
# plain and with a copy kernel writing x first. Fields "stages,wg,bk,ck". Shapes the table lacks
# get `_tma_rule`'s, which is what this table mostly says: one 64-row warpgroup, 256-byte k tiles,
# the cluster split-K that keeps the grid at one CTA per SM, and as many stages as fit.
_TMA_SM90 = {
    (1280, 8192): {16: ["10,1,64,8", "10,1,128,4"], 32: ["8,1,128,4", "8,1,64,8"], 64: ["6,1,128,4", "12,1,64,4"]},
    # max_m 16-64 from session 35 call I (30 designs, `decode_probe --tma-table`, as call D below): at 16 the table's
    # first ran 1.283x over cuBLAS in the bucket's mean, the rule's best 1.258x; at 32 and 64 the rule's are these
    (1792, 5120): {16: ["10,1,128,2", "5,2,128,8"], 32: ["8,1,128,4", "8,1,128,2"], 64: ["6,1,128,4", "12,1,64,4"],
                   128: ["7,1,64,4"]},
    (1536, 4096): {16: ["4,2,128,8", "4,1,128,8"], 32: ["8,1,128,4", "8,1,128,2"], 64: ["6,1,128,4", "12,1,64,4"]},
    (4096, 3584): {16: ["10,1,128,2", "16,1,64,2"], 32: ["8,1,128,2", "16,1,64,2"], 64: ["6,1,128,2", "12,1,64,2"]},
    (4096, 4096): {16: ["10,1,128,2", "16,1,64,2"], 32: ["8,1,128,2", "16,1,64,2"], 64: ["6,1,128,2", "12,1,64,2"]},
    (4096, 14336): {16: ["10,1,128,2", "10,1,128,1"], 32: ["8,1,128,2", "16,1,64,2"], 64: ["6,1,128,2", "12,1,64,2"],
                    128: ["7,1,64,2"]},
    # max_m 32 from session 35 call K (call D's sweep on this table's session-6 weights, with the kernels as they are
    # now): 8,1,128,1 ran 1.039x over cuBLAS in the bucket's mean, this entry's two before 0.998x at best; its other
    # entries, and those of the five weights below that call K timed, were still the best or within 1.5%
    (6144, 4096): {16: ["10,1,128,1", "5,1,128,2"], 32: ["8,1,128,1", "10,2,64,1"], 64: ["6,1,128,1", "7,2,64,2"]},
    (7168, 4096): {16: ["5,1,128,2", "10,1,128,1"], 32: ["4,1,128,2", "8,1,64,2"], 64: ["6,1,128,1", "7,2,64,2"]},
    (8192, 1024): {16: ["4,1,128,2", "4,2,128,2"], 32: ["8,1,128,1", "10,2,64,1"], 64: ["7,2,64,1", "6,1,128,1"]},
    # max_m 64: call K timed the rule's 3,2,64,1 (offered after the table's one) 4% ahead of 4,2,64,1
    (28672, 4096): {16: ["5,2,64,1", "2,2,128,1"], 32: ["2,2,128,1", "5,2,64,1"], 64: ["3,2,64,1", "4,2,64,1"]},
    # the other bf16 weights of the shipped manifests (Llama-3.1-70B TP8's gate_up and down, Qwen2.5-32B TP4's down, o
    # and gate_up, Qwen3-4B's qkv, o, down and gate_up), which had the rule's designs: session 35 call D
    # (bench/results/h200-2026-12-04/session35, `decode_probe --tma-table`: 221 designs, all correct at every M), the
    # best two by the mean of cuBLAS/ours at the bucket's M and its lower edge, back to back and in a model. Where the
    # rule's first design was not the best, it had one stage more than fits in 200 KB (max_m 16: 11 against 10 on four
    # weights, 1.1-1.7% slower), or a max_m 64 second design, split-K for two CTAs an SM, at 0.73x-0.92x of cuBLAS;
    # 5120 x 1280 at max_m 32 and 2560 x 4096 at max_m 32 gained 5% and 3% (1.093x against 1.040x, 1.236x against
    # 1.197x)
    (7168, 8192): {16: ["10,1,128,1", "11,1,128,1"], 32: ["9,1,128,1", "8,1,128,1"], 64: ["6,1,128,1", "7,2,64,2"]},
    (8192, 3584): {16: ["10,1,128,1", "5,1,128,2"], 32: ["9,1,128,1", "8,1,128,1"], 64: ["6,1,128,1", "12,1,64,1"]},
    (5120, 6912): {16: ["5,1,128,2", "10,1,64,2"], 32: ["4,1,128,2", "8,1,128,1"], 64: ["6,1,128,1", "12,1,64,1"]},
    (5120, 1280): {16: ["10,1,128,1", "16,1,64,1"], 32: ["8,1,128,1", "9,1,128,1"], 64: ["6,1,128,1", "12,1,64,1"]},
    (13824, 5120): {16: ["5,1,128,1", "10,1,64,1"], 32: ["4,1,128,1", "8,1,64,1"], 64: ["7,2,64,1", "5,1,64,1"]},
    (6144, 2560): {16: ["10,1,128,1", "11,1,128,1"], 32: ["8,1,128,1", "9,1,128,1"], 64: ["6,1,128,1", "12,1,64,1"]},
    (2560, 4096): {16: ["11,1,128,2", "11,2,64,4"], 32: ["10,2,64,4", "8,1,64,4"], 64: ["6,1,128,2", "7,2,64,4"]},
    (2560, 9728): {16: ["10,1,128,2", "16,1,64,2"], 32: ["8,1,128,2", "16,1,64,2"], 64: ["12,1,64,2", "6,1,128,2"]},
    (19456, 2560): {16: ["5,2,64,1", "2,2,128,1"], 32: ["4,2,64,1", "2,2,128,1"], 64: ["3,2,64,1", "4,2,64,1"]},
    # Llama-3.1-70B TP8's lm_head (128256 rows over 8 ranks: a last CTA past N, decode_tma.ragged_n), session 35 call
    # A (bench/results/h200-2026-12-04/session35: 29 designs, all correct at every M): at max_m 16 and 32 the rule's
    # designs were the fastest (M = 3-16 1.03x-1.05x over cuBLAS back to back and in a model, M = 32 1.02x); at
    # max_m 64 two 64-row warpgroups a CTA, 126 CTAs, ran 65.6 us at M = 64 against 67.9 for the rule's best
    (16032, 8192): {64: ["7,2,64,1", "5,1,64,1"]},
    # Qwen2.5-32B TP4's lm_head (152064 rows over 4 ranks), session 36 call E (`decode_probe --stream`: 26 designs,
    # all correct): one warpgroup a CTA with the most stages ran 2.1-3.0% faster than the rule's two-warpgroup
    # designs (the second here) at M = 4-32, back to back and in a model (M = 4: 90.0 against 92.2 us); on the other
    # three lm_heads and Llama-3.1-8B's gate_up the designs builds offered were the fastest, within 1%
    (38016, 5120): {16: ["11,1,128,1", "6,2,128,1"], 32: ["9,1,128,1", "5,2,128,1"]},
}
# e4m3 (bk in e4m3 elements = bytes), from the fp8 sweep on the H200 (bench/fp8_decode_probe.py compile
# --tma-sweep, then `table`; bench/results/h200-2026-12-01/session7/A): per shape of the four fp8 manifests
# and bucket, the two fastest in model mode at M = max_m. Unlike bf16, 256-byte tiles and a single CTA
# per row tile (ck 1) win on most shapes: an e4m3 k tile carries twice the k of a bf16 one.
_TMA_FP8_SM90 = {
    # max_m 128: the one e4m3 weight whose max_m 128 design beat _scaled_mm in a model at M = 65-128 (session 30,
    # calls A and D: 1.035x, 1.074x-1.091x, 1.030x-1.033x; 1.12x-1.20x back to back), of 8 weights timed there
    (1280, 8192): {16: ["4,1,256,8", "4,2,256,8"], 32: ["8,1,256,4", "4,2,256,8"], 64: ["6,1,256,4", "12,1,128,4"],
                   128: ["7,1,128,4"]},
    (1792, 5120): {16: ["5,1,256,4", "5,2,128,8"], 32: ["5,1,256,4", "10,1,128,4"], 64: ["5,1,256,4", "10,1,128,4"]},
    (2560, 4096): {16: ["4,1,256,4", "4,2,256,4"], 32: ["4,2,256,4", "4,1,256,4"], 64: ["6,1,256,2", "12,1,128,2"]},
    (2560, 9728): {16: ["10,1,128,4", "11,1,256,2"], 32: ["8,1,128,4", "8,1,256,2"], 64: ["6,1,256,2", "12,1,128,2"]},
    (4096, 4096): {16: ["10,1,256,1", "8,1,256,2"], 32: ["8,1,256,1", "8,1,256,2"], 64: ["6,1,256,2", "12,1,128,2"]},
    (4096, 14336): {16: ["11,1,256,2", "10,1,256,2"], 32: ["8,1,256,2", "16,1,128,2"], 64: ["6,1,256,2", "12,1,128,2"]},
    (5120, 1280): {16: ["5,1,256,1", "5,1,128,2"], 32: ["5,1,256,1", "10,1,128,1"], 64: ["5,1,256,1", "10,1,128,1"]},
    (5120, 6912): {16: ["10,1,256,1", "10,1,128,2"], 32: ["8,1,256,1", "9,1,256,1"], 64: ["6,1,256,1", "7,2,128,2"]},
    (6144, 2560): {16: ["5,2,128,4", "5,2,256,2"], 32: ["8,1,256,1", "8,1,128,2"], 64: ["6,1,256,1", "12,1,128,1"]},
    (6144, 4096): {16: ["10,1,128,2", "16,1,128,1"], 32: ["8,1,256,1", "9,1,256,1"], 64: ["6,1,256,1", "12,1,128,1"]},
    # max_m 16: first a grid of 448 CTAs (ck 4, four to an SM), from session 25 call D: 1.22x over _scaled_mm at
    # M = 16 back to back and 1.19x in a model, against 1.17x for the best design before (a max_m 64 one)
    (7168, 8192): {16: ["4,1,128,4", "5,2,256,2"], 32: ["8,1,128,2", "9,1,256,1"], 64: ["6,1,256,1", "7,2,128,2"]},
    (8192, 1024): {16: ["2,1,256,2", "4,1,128,2"], 32: ["4,1,256,1", "8,1,128,1"], 64: ["4,1,256,1", "4,1,128,2"]},
    (8192, 3584): {16: ["11,1,256,1", "10,1,256,1"], 32: ["9,1,256,1", "8,1,128,2"], 64: ["6,1,256,1", "12,1,128,1"]},
    (13824, 5120): {16: ["5,1,256,1", "10,1,128,1"], 32: ["8,1,128,1", "4,1,256,1"], 64: ["7,2,128,1", "3,2,256,1"]},
    # the two gate_up weights: 64-row CTAs, three or four to an SM (304 and 448 CTAs, grids the sweep above left
    # out), from session 25 call C (bench/results/h200-2026-12-03/session25): on 19456 x 2560 at M = 16 14.68 us
    # against 15.26 for the best design before, 1.14x over _scaled_mm in a model against 1.08x; at M = 32 1.06-1.11x
    # in a model against 0.96x; at M = 64 1.01x against 0.85x. 28672 x 4096 at M = 16 30.61 against 31.22 us; at
    # M = 32 and 64 the designs before stay, the fastest there though their 224 CTAs (203-219 KB) run in two waves.
    (19456, 2560): {16: ["4,1,128,1", "3,1,256,1"], 32: ["5,1,128,1", "2,1,256,1"], 64: ["3,1,128,1", "2,1,128,1"]},
    (28672, 4096): {16: ["4,1,128,1", "2,1,256,1"], 32: ["2,2,256,1", "10,2,128,1"], 64: ["7,2,128,1", "3,2,256,1"]},
}
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
TMA_MEASURED_MAX_M = (128,)


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
    """What the H200 sweep says, for shapes the table lacks. First: one warpgroup (two for swiglu,
    or when N/64 tiles would overfill two CTAs per SM), 256-byte k tiles, the largest cluster
    split-K that keeps the grid within one CTA per SM (132) and its clusters within what the GPU holds at
    once (`_clusters_held`), as many stages as fit (as fit two CTAs per SM where the grid has 133-264).
    Second: where that grid leaves SMs idle (< 100 CTAs: few rows, a short K), the next split-K with two
    CTAs per SM, if that leaves it MIN_RULE_STAGES; else the same grid with 128-byte tiles and twice the stages.
    bf16 designs of one CTA per SM keep their stages within ONE_WAVE_STAGE_BYTES."""
    eb = 1 if dtype == FP8 else 2
    wg = 2 if epilogue == "swiglu" or n // 64 > 2 * 132 else 1
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
    """Two TMA + wgmma designs of `max_m` for (n, k): the measured ones (bf16 `_TMA_SM90`, e4m3
    `_TMA_FP8_SM90`) where valid for `epilogue` (swiglu needs wg 2), then the rule's (for the buckets of TMA_MAX_M;
    TMA_MEASURED_MAX_M's take the table's alone). sm_90a only: wgmma is a Hopper instruction (sm_100a has tcgen05
    instead)."""
    if arch != "sm_90a":
        return []
    out: list[dict] = []
    for spec in (_TMA_FP8_SM90 if dtype == FP8 else _TMA_SM90).get((n, k), {}).get(max_m, []):
        st, wg, bk, ck = (int(v) for v in spec.split(","))
        try:
            out.append(make_tma_design(n, k, max_m=max_m, wg=wg, bk=bk, ck=ck, stages=st, pdl=True,
                                       epilogue=epilogue, dtype=dtype))
        except ValueError:
            continue
    if max_m in TMA_MAX_M:
        out += [d for d in _tma_rule(n, k, max_m, epilogue, dtype) if d not in out]
    return out[:2]


def simt_designs_for(n: int, k: int, arch: str, epilogue: str = "identity", dtype: str = "bfloat16",
                     max_m: int = 1) -> list[dict]:
    """Two CUDA-core designs with PDL for max_m 1 or 2: the measured ones, else the first valid of the
    fixed list (for `epilogue`: those it allows, e.g. an even row count for swiglu), else `_simt_by_divisor`'s.
    None where K is no whole number of warp loads (the tensor-core kernels serve M = 1 there); e4m3 at max_m 1,
    whose 16-byte loads hold 16 elements, then tries 8-byte ones (`_SIMT_FP8_LB8_SM90`, else the divisor rule).
    e4m3 at max_m 2: the measured table's only (`_SIMT_M2_FP8_SM90`, the weights where they won in a model on the
    H200), so none for sm_100a or for other weights."""
    measured = arch == "sm_90a"
    lb8 = []  # specs of 8-byte loads, tried after every 16-byte one
    if dtype == FP8 and max_m == 2:
        specs = _SIMT_M2_FP8_SM90.get((n, k), []) if measured else []
    elif dtype == FP8:
        if max_m != 1:
            return []
        specs = (_SIMT_FP8_SM90.get((n, k), []) if measured else []) + _SIMT_FP8_FALLBACK + _simt_by_divisor(k, 16)
        lb8 = (_SIMT_FP8_LB8_SM90.get((n, k), []) if measured else []) + _simt_by_divisor(k, 8)
    elif max_m == 2:
        specs = ((_SIMT_M2_SM90.get((n, k), []) + _SIMT_SM90.get((n, k), []) if measured else [])
                 + _SIMT_M2_FALLBACK + _simt_by_divisor(k, 8))
    else:
        specs = (_SIMT_SM90.get((n, k), []) if measured else []) + _SIMT_FALLBACK + _simt_by_divisor(k, 8)

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
    """The register-fed mma.sync designs of `max_m` measured for (n, k) on the H200 (bf16 `_RF_SM90`, e4m3
    `_RF_FP8_SM90`), where valid for `epilogue`; none for other shapes or sm_100a."""
    if arch != "sm_90a":
        return []
    out = []
    for spec in (_RF_FP8_SM90 if dtype == FP8 else _RF_SM90).get((n, k), {}).get(max_m, []):
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
    small grid, four in all (sm_90a: three at max_m 8, two at 16; those of `_COAL_SM90` in their
    whole-row form), and the register-fed designs
    measured for the shape (`rf_designs_for`: K <= 1280, and e4m3 6144x2560), every one with
    PDL (it saved 0.5-1 us between back-to-back GEMMs and cost nothing
    elsewhere). Last, on sm_90a, two TMA + wgmma designs (decode_tma) for each of
    max_m 16, 32 and 64 (`tma_designs_for`): one CTA per SM streaming W through
    a deep TMA pipeline, which beat both cuBLAS and the cp.async kernels at
    M = 16-32 on most shapes; and max_m 128 for the weights measured to win there. A fused `epilogue` keeps the
    same choice among the designs it allows (swiglu needs an even number of
    16-row tiles per CTA); its output stage adds little to a weight stream.

    Not offered, measured and lost: cp.async designs on the CUDA-core kernel's
    kind of grid for the largest weights (16 rows per CTA, K split over a
    cluster of 2-4: 1792-7168 CTAs). On Llama-3.1-8B's gate_up at M = 16 they
    ran 61-112 us against 57.1 for this list's TMA design; their SMs stay
    busier, but at 18-23% occupancy they hold too few weight bytes in flight
    (70-75% of the DRAM peak; bench/results/h200-2026-12-02/session21/callG).

    fp8 (dtype "float8_e4m3fn", any of the scale epilogues, which share the designs): the fp8
    table's designs (_MEASURED_FP8_SM90); for a shape it lacks, the first two of
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
            measured_fp8 = _MEASURED_FP8_SM90.get((n, k)) if fp8 else None
            for spec in measured_fp8 or _MEASURED_SM90.get((n, k), []):
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
        coal = _COAL_SM90.get((n, k), set()) if arch == "sm_90a" and not fp8 else set()
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
    for max_m in TMA_MAX_M + TMA_MEASURED_MAX_M:
        out += tma_designs_for(n, k, arch, max_m, epilogue, dtype)
    return out
