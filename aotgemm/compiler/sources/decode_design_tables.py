"""The decode-kernel designs measured fastest on the H200 (sm_90a), per weight shape: data only.

decode_designs chooses among designs and puts these first for sm_90a; shapes a table lacks get its rules
(`_score`, `_tma_rule`, the fixed CUDA-core lists). Each table says which probe measured it and what it beat, so a
new entry is a measured one with its provenance, and a reader of an archived result can find the run behind a
design. (Before session 38 these lived in decode_designs under names with a leading underscore: _MEASURED_SM90 is
CP_SM90, _MEASURED_FP8_SM90 CP_FP8_SM90, _COAL_SM90 CP_WHOLE_ROW_SM90, the others the same names without it.)

Fields, by kernel kind (decode_kernels):
* cp.async (`swapab_cp`): "stages,nt,mt,wn,wk,ck,unroll";
* CUDA-core (`simt`): "rows,warps,unroll";
* register-fed (`swapab_rf`), per max_m: "mt,wk,unroll";
* TMA + wgmma (`swapab_tma`), per max_m: "stages,wg,bk,ck".
"""

# The fastest designs per weight shape measured on the H200 (132 SMs) on 2026-11-30,
# best first by the mean of (ours / cuBLAS) over both figures at M 1,4,8 (nt=1) or
# 12,16 (nt=2) (bench/results/h200-2026-11-30/decode_probe_run4_explore2.*). Fields:
# "stages,nt,mt,wn,wk,ck,unroll". designs_for puts them first for sm_90a.
CP_SM90 = {
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
    # CP_WHOLE_ROW_SM90 gives it). Six stages, which the score's grid (3 and 4) leaves out, in five. On the other four
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

# cp.async designs (fields as in CP_SM90, whichever list picked them) built in their whole-row form
# (design key "coal": each cp.async instruction of a warp copies runs of unroll*64 contiguous bytes of whole rows,
# not 64 bytes of 8 rows; decode_kernels): those that ran at least 1% faster than without it at every M timed,
# 4-16, back to back on the H200 (bench/results/h200-2026-12-02/session23, call E, scripts/coal_table.py; over
# all 58 points of 29 twins the median gain was 1.2%, from -2.5% to +3.8%). bf16 only: e4m3 was not measured.
CP_WHOLE_ROW_SM90 = {
    (4096, 14336): {"4,1,1,1,2,2,4", "4,1,1,1,4,1,4", "4,2,2,1,4,2,2"},
    (6144, 4096): {"4,1,1,1,2,1,4", "4,1,1,1,4,1,2", "4,2,2,1,1,4,2"},
    (13824, 5120): {"3,1,2,1,1,2,4", "4,1,1,1,1,1,4", "4,1,2,1,1,2,2", "4,2,2,1,1,2,2"},
    (28672, 4096): {"4,1,2,1,1,1,2", "4,2,2,1,1,1,2"},
    # session 37 (calls A and B): of CP_SM90's new entries, the whole-row forms that ran 1% or more ahead of
    # their twins in the mean over M = 3-8 of both runs, back to back and in a model: 1.2% (1792 x 5120) to 5.2%
    # (5120 x 6912's first); on 2560 x 4096 and 5120 x 1280 the two forms were within 0.6%
    (1792, 5120): {"6,1,1,1,1,8,2"}, (5120, 6912): {"6,1,1,1,1,2,4", "6,1,1,1,2,2,2"}, (6144, 2560): {"4,1,1,1,1,2,4"},
    (7168, 8192): {"6,1,1,1,1,2,2"},
}

# CUDA-core designs for M = 1 (decode_simt), "rows,warps,unroll", measured on the H200
# on 2026-11-30 (decode_probe_run5_simt.*): at M=1 they beat the tensor-core kernel
# on all nine shapes (1536x4096: 4.23 vs 5.60 us). Their max_m=4 versions lost to the
# tensor-core max_m=8 kernels at M=2..4 on 8 of 9 shapes, so only max_m=1 is offered.
SIMT_SM90 = {
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

# CUDA-core designs for M = 2 (max_m 2), "rows,warps,unroll": of 2-8 rows, 3-10 warps and 1-2 loads per row in
# flight, the best two at M = 2 by plain + model time on the H200 (bench/results/h200-2026-12-02/session17,
# call A, `decode_probe --simt-m`). They beat every kernel builds timed at M = 2 before (cp.async max_m 8, TMA
# max_m 16) on all 12 weights, by 1.2-13% back to back (5120x1280: 4.59 against 5.20 us; 28672x4096: 53.8
# against 56.2, where cuBLAS took 56.0). At max_m 4 the same kernels lose at M = 3-4: four tokens' x values
# and 4 x rows accumulators take 140-150 registers, three CTAs of 128 threads per SM, and the weight bytes
# those lanes hold in flight (48 KB per SM) do not stream W at the HBM rate (28672x4096: 63 us, cuBLAS 56).
# Neither an L2 bulk prefetch of the rows nor a persistent grid with x in shared memory changed that (the
# same session, calls A and D: 10-15% slower, and 0.71x-0.96x of cuBLAS).
SIMT_M2_SM90 = {
    (6144, 4096): ["2,4,2", "4,8,1"], (4096, 4096): ["2,4,2", "4,4,1"], (28672, 4096): ["2,4,2", "4,8,1"],
    (4096, 14336): ["4,8,1", "2,4,2"], (128256, 4096): ["2,4,2", "4,8,1"],
    # session 36 call G: 5 warps, which session 17's grid (two warp counts per weight, 4 and 10 here) left out, ran
    # 5.99 us against 6.53 for "2,4,1" (1.091x back to back, 1.057x in a model)
    (1792, 5120): ["2,5,2", "2,5,1"],
    (5120, 1280): ["4,5,1", "2,5,1"], (13824, 5120): ["4,4,1", "2,10,1"], (5120, 6912): ["4,3,1", "8,3,1"],
    (6144, 2560): ["2,5,1", "4,10,1"], (2560, 4096): ["2,4,2", "2,4,1"], (19456, 2560): ["4,5,1", "2,5,1"],
}

# fp8 (e4m3, W8A8) on the H200 on 2026-11-30 (bench/results/h200-2026-11-30/fp8_decode_probe_run1.*):
# every design of designs_for then (both scale epilogues) plus 58 more geometries (scale "tensor"),
# ranked per bucket by the mean over M (1,2,4,8 for nt=1; 8,16 for nt=2) and both scale
# epilogues of (time / the fastest kernel's at that point). Same fields as CP_SM90.
CP_FP8_SM90 = {
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
SIMT_FP8_SM90 = {
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
RF_SM90 = {(8192, 1024): {8: ["1,8,2"], 16: ["1,8,1"]}, (5120, 1280): {16: ["1,8,1"]}}

# e4m3, the same fields, from session 19 call F (`fp8_decode_probe --rf`, 76 kernels on 4 weights, all correct;
# against `_scaled_mm` with per-tensor scales): 8192x1024 at M = 4 3.50 us against 4.08 for the best cp.async or TMA
# kernel (at M = 9-16 level back to back and 5.15-5.29 us against 5.69-5.74 in a model), 5120x1280 at M = 4-8 3.31-3.46
# against 3.62-3.64, 6144x2560 at M = 4-8 5.97-6.08 against 6.24-6.36; at max_m 16 on the last two, and on 4096x4096,
# they lost.
RF_FP8_SM90 = {(8192, 1024): {8: ["1,8,1"], 16: ["1,8,1"]}, (5120, 1280): {8: ["1,5,4"]}, (6144, 2560): {8: ["1,8,1"]}}

# fp8 CUDA-core designs for M = 2 (max_m 2), "rows,warps,unroll", from the e4m3 grid of session 17 (call E,
# `fp8_decode_probe --simt-m`, 334 kernels, all correct), the best two by the mean over both scale forms of their
# speed-up at M = 2. Back to back they ran 0.91x-1.04x of the best tensor-core kernel, so they were first left
# out; in a model (a kernel writing x just before, what the tuner ranks by) they beat the best tensor-core kernel
# timed there on these 8 weights, by 1-13% (1280x8192 per tensor: 1.41x against 1.29x over `_scaled_mm`;
# 4096x4096 1.11x against 1.03x; 28672x4096 1.02x against 0.97x), and lost on 4096x14336, 7168x8192 and
# 6144x2560, which get none. The tuner keeps them only where they also hold back to back.
SIMT_M2_FP8_SM90 = {
    (1280, 8192): ["2,8,1", "2,8,2"], (1792, 5120): ["2,5,2", "4,5,2"], (2560, 4096): ["2,4,1", "2,4,2"],
    (4096, 4096): ["4,4,2", "2,4,2"], (6144, 4096): ["4,8,1", "4,4,2"], (13824, 5120): ["4,5,2", "2,5,2"],
    (19456, 2560): ["8,5,1", "4,5,1"], (28672, 4096): ["4,4,2", "4,8,1"],
}

# fp8 CUDA-core designs loading 8 bytes a lane (decode_simt's `lb`), same fields, for an e4m3 K that is no whole number
# of 16-byte warp loads (1280 = 2.5 x 32 x 16), where no design above is valid: the best two at M = 1 by both scale
# forms, back to back and in a model, from session 36 call C (`fp8_decode_probe --simt-lb8`: 96 of them on Qwen2.5-32B
# TP4's o and down, all correct). Against the best kernel builds had offered there (register-fed and cp.async), both
# scale forms: 5120 x 1280 3.43 us against 3.50 back to back, 1.247x over _scaled_mm in a model against 1.176x;
# 5120 x 6912 10.20 against 10.47, 1.124x against 1.060x. At max_m 2 they lost (1.21x against 1.36x back to back).
SIMT_FP8_LB8_SM90 = {(5120, 1280): ["4,5,1", "8,5,1"], (5120, 6912): ["2,9,3", "2,3,3"]}

# TMA + wgmma designs (decode_tma) per weight shape and max_m, measured on the H200 on 2026-12-01
# (bench/results/h200-2026-12-01/session6, call B: 339 designs, every one correct at every M): the
# best two by the mean over the bucket's M (8 and 16 for max_m 16, else max_m) of cuBLAS/ours,
# plain and with a copy kernel writing x first. Fields "stages,wg,bk,ck". Shapes the table lacks
# get `_tma_rule`'s, which is what this table mostly says: one 64-row warpgroup, 256-byte k tiles,
# the cluster split-K that keeps the grid at one CTA per SM, and as many stages as fit.
TMA_SM90 = {
    (1280, 8192): {16: ["10,1,64,8", "10,1,128,4"], 32: ["8,1,128,4", "8,1,64,8"], 64: ["6,1,128,4", "12,1,64,4"]},
    # max_m 16-64 from session 35 call I (30 designs, `decode_probe --tma-table`, as call D below): at 16 the table's
    # first ran 1.283x over cuBLAS in the bucket's mean, the rule's best 1.258x; at 32 and 64 the rule's are these.
    # (Session 39's re-sweep, call A, put 11,2,64,4 ahead at 16 in a model, 1.177x against 1.150x at M = 16 in two
    # runs; in call B's tune of the bundle it ran 1.252x against this entry's first 1.286x, so it is not here.)
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
# max_m 8, on the nine e4m3 weights where the best ran 1% or more ahead of every kernel builds had offered at M = 3-8 in
# each of two runs on two machines (bench/results/h200-2026-12-04/session38, calls A and B: `fp8_decode_probe --tma8`,
# 240 kernels on 16 weights, all correct; `scripts/tma8_table.py`): the best two by the mean of _scaled_mm/ours at
# M = 3, 4, 5, 8 back to back, per-tensor scales. Against the best offered (mostly these tables' max_m 16 designs): 1.532x against 1.488x on
# 1280 x 8192, 1.657x against 1.600x on 1792 x 5120, 1.235x against 1.193x on 2560 x 4096, 1.163x against 1.121x on
# 8192 x 3584, 1.090x against 1.060x on 5120 x 6912 (a cp.async one), 1.0-1.6% on the other four. Of the max_m 16
# design, a max_m 8 one holds half the promotion temporaries (4 registers a k tile) and pushes half the partials.
# In bf16 the same grid gained 1% or more on no weight in both runs (28672 x 4096 +1.7% and -0.1%), so bf16 has none.
# Entries of three designs at max_m 16 and 32: first the design that led in a model (x written just before, as the
# tuner ranks) on six weight-buckets of session 38's re-sweep (call G, `fp8_decode_probe --tma-table`, 280 kernels,
# all correct; `fp8_tma_table.txt`, its last part), then the two the entry held, kept because the sweep's leaders back
# to back lost in bundles (call H). In a model, against the entry's best: 2560 x 9728 at 32 1.248x against 1.208x,
# 5120 x 6912 at 16 1.062x against 1.027x, 6144 x 2560 at 16 1.102x against under 1.048x, 6144 x 4096 at 32 1.124x
# against 1.095x, 8192 x 3584 at 16 1.068x against under 1.031x; 4096 x 4096 at 32 1.069x against 0.987x at the two
# points of four where it was timed in a model. Session 39's tune of the four per-tensor bundles (call A) took each
# of the six, ahead of the entry's others as finalists on the same machine, in a model: 1.060x against 1.028x
# (4096 x 4096 at 32), 1.087x against 1.062x (6144 x 4096 at 32), 1.086x against 1.009x (6144 x 2560 at 16), 1.236x
# against 1.219x (2560 x 9728 at 32), 1.056x against 1.030x (5120 x 6912 at 16), 1.079x against 1.088x (8192 x 3584
# at 16, a tie there taken for its 1.178x back to back).
TMA_FP8_SM90 = {
    # max_m 128: the one e4m3 weight whose max_m 128 design beat _scaled_mm in a model at M = 65-128 (session 30,
    # calls A and D: 1.035x, 1.074x-1.091x, 1.030x-1.033x; 1.12x-1.20x back to back), of 8 weights timed there
    (1280, 8192): {8: ["8,2,128,8", "4,1,256,8"],
                   16: ["4,1,256,8", "4,2,256,8"], 32: ["8,1,256,4", "4,2,256,8"], 64: ["6,1,256,4", "12,1,128,4"],
                   128: ["7,1,128,4"]},
    (1792, 5120): {8: ["5,2,128,8", "5,1,256,4"],
                   16: ["5,1,256,4", "5,2,128,8"], 32: ["5,1,256,4", "10,1,128,4"], 64: ["5,1,256,4", "10,1,128,4"]},
    (2560, 4096): {8: ["8,2,128,4", "4,2,256,4"],
                   16: ["4,1,256,4", "4,2,256,4"], 32: ["4,2,256,4", "4,1,256,4"], 64: ["6,1,256,2", "12,1,128,2"]},
    (2560, 9728): {16: ["10,1,128,4", "11,1,256,2"], 32: ["16,1,128,2", "8,1,128,4", "8,1,256,2"],
                   64: ["6,1,256,2", "12,1,128,2"]},
    (4096, 4096): {8: ["8,1,256,2", "11,2,128,2"],
                   16: ["10,1,256,1", "8,1,256,2"], 32: ["16,1,128,1", "8,1,256,1", "8,1,256,2"],
                   64: ["6,1,256,2", "12,1,128,2"]},
    (4096, 14336): {8: ["16,1,128,2", "10,1,256,2"],
                    16: ["11,1,256,2", "10,1,256,2"], 32: ["8,1,256,2", "16,1,128,2"], 64: ["6,1,256,2", "12,1,128,2"]},
    (5120, 1280): {16: ["5,1,256,1", "5,1,128,2"], 32: ["5,1,256,1", "10,1,128,1"], 64: ["5,1,256,1", "10,1,128,1"]},
    # max_m 64: 12,1,128,1 third, the one point of 32 where session 42's re-timing of the max_m 64 entries with
    # today's output stage (bench/results/h200-2026-12-05/session42, call E: 120 designs on 16 weights, all correct,
    # each ranked in a model) found a design builds lacked 1% ahead in a model and back to back: 1.038x over
    # _scaled_mm in a model at M = 33 against the entry's 1.018x (1.033x against 0.986x back to back); at 64 1.007x
    # against 1.017x (1.005x against 0.979x). The other 15 weights' entries led or tied within 1%.
    (5120, 6912): {8: ["16,1,128,1", "10,1,256,1"],
                   16: ["16,1,128,1", "10,1,256,1", "10,1,128,2"], 32: ["8,1,256,1", "9,1,256,1"],
                   64: ["6,1,256,1", "7,2,128,2", "12,1,128,1"]},
    (6144, 2560): {16: ["16,1,128,1", "5,2,128,4", "5,2,256,2"], 32: ["8,1,256,1", "8,1,128,2"],
                   64: ["6,1,256,1", "12,1,128,1"]},
    (6144, 4096): {16: ["10,1,128,2", "16,1,128,1"], 32: ["16,1,128,1", "8,1,256,1", "9,1,256,1"],
                   64: ["6,1,256,1", "12,1,128,1"]},
    # max_m 16: first a grid of 448 CTAs (ck 4, four to an SM), from session 25 call D: 1.22x over _scaled_mm at
    # M = 16 back to back and 1.19x in a model, against 1.17x for the best design before (a max_m 64 one)
    (7168, 8192): {8: ["6,2,128,4", "16,1,128,1"],
                   16: ["4,1,128,4", "5,2,256,2"], 32: ["8,1,128,2", "9,1,256,1"], 64: ["6,1,256,1", "7,2,128,2"]},
    (8192, 1024): {16: ["2,1,256,2", "4,1,128,2"], 32: ["4,1,256,1", "8,1,128,1"], 64: ["4,1,256,1", "4,1,128,2"]},
    (8192, 3584): {8: ["11,2,128,2", "5,2,256,2"],
                   16: ["10,1,128,2", "11,1,256,1", "10,1,256,1"], 32: ["9,1,256,1", "8,1,128,2"],
                   64: ["6,1,256,1", "12,1,128,1"]},
    (13824, 5120): {16: ["5,1,256,1", "10,1,128,1"], 32: ["8,1,128,1", "4,1,256,1"], 64: ["7,2,128,1", "3,2,256,1"]},
    # the two gate_up weights: 64-row CTAs, three or four to an SM (304 and 448 CTAs, grids the sweep above left
    # out), from session 25 call C (bench/results/h200-2026-12-03/session25): on 19456 x 2560 at M = 16 14.68 us
    # against 15.26 for the best design before, 1.14x over _scaled_mm in a model against 1.08x; at M = 32 1.06-1.11x
    # in a model against 0.96x; at M = 64 1.01x against 0.85x. 28672 x 4096 at M = 16 30.61 against 31.22 us; at
    # M = 32 and 64 the designs before stay, the fastest there though their 224 CTAs (203-219 KB) run in two waves.
    (19456, 2560): {16: ["4,1,128,1", "3,1,256,1"], 32: ["5,1,128,1", "2,1,256,1"], 64: ["3,1,128,1", "2,1,128,1"]},
    (28672, 4096): {8: ["2,1,256,1", "6,2,128,1"],
                    16: ["4,1,128,1", "2,1,256,1"], 32: ["2,2,256,1", "10,2,128,1"], 64: ["7,2,128,1", "3,2,256,1"]},
}
