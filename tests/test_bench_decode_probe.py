"""bench/decode_probe.py's design grids (the CPU half of a GPU probe): every flag names a grid, and the
--balance grid spreads the large weights over 1 to 4 CTAs per SM with cluster split-K up to 8."""

from __future__ import annotations

import json

from script_modules import load_script


def _probe():
    return load_script("bench/decode_probe.py")


def _grid_after_built(probe, designs, n, k, max_m):
    """A grid's designs past the ones builds offer for (n, k) up to `max_m`, which must come first; all distinct."""
    from aotgemm.compiler.sources import decode_kernels as dk

    offered = [d for d in dk.designs_for(n, k, "sm_90a") if d["max_m"] <= max_m]
    assert designs[:len(offered)] == offered and len(probe.symbol_table(designs)) == len(designs)
    return designs[len(offered):]


def test_balance_grid_fills_sms_in_steps_and_every_design_fits_its_residency():
    from aotgemm.compiler.sources.decode_tma import tma_smem_bytes

    probe = _probe()
    designs = probe.balance_designs(28672, 4096)
    assert designs and all(d["kind"] == "swapab_tma" and d["max_m"] in (8, 16) for d in designs)
    assert len({probe.symbol_table([d]).popitem()[0] for d in designs}) == len(designs)  # distinct kernels
    grids = {28672 // (64 * d["wg"]) * d["ck"] for d in designs}
    assert {224, 448, 896, 1792} <= grids  # one wave of 128-row CTAs up to 8-way split-K of 64-row ones
    # per geometry, one design for each of 1..4 CTAs per SM: the most stages that fit that many in 228 KB
    stages = sorted((d["stages"], tma_smem_bytes(d)) for d in designs
                    if (d["max_m"], d["wg"], d["bk"], d["ck"]) == (16, 1, 64, 1))
    assert len(stages) == 4
    for resident, (st, smem) in zip((4, 3, 2, 1), stages):
        assert resident * (smem + 1024) <= 228 * 1024, (resident, st, smem)
    # designs_for's TMA designs come first: the probe times the kernels a build offers beside the grid
    from aotgemm.compiler.sources import decode_kernels as dk
    offered = [d for d in dk.designs_for(28672, 4096, "sm_90a") if d["kind"] == "swapab_tma" and d["max_m"] == 16]
    assert designs[:len(offered)] == offered


def test_every_compile_flag_names_a_grid():
    probe = _probe()
    assert set(probe.GRIDS) == {"--tokens", "--overlay", "--rf", "--simt-m", "--out-stage", "--simt-k", "--multicast", "--balance", "--edges",
                                "--mid-sweep", "--tma-sweep", "--tma", "--simt", "--explore2", "--explore", "--wide",
                                "--tma-table", "--stream", "--simt-gaps", "--cp-gaps", "--tma8"}
    assert all(probe.GRIDS[f](4096, 4096) for f in ("--tma", "--edges", "--simt-m"))
    # each grid's weights come from one table keyed by its flag, and the flag compile takes decides both
    assert set(probe.GRID_SHAPES) <= set(probe.GRIDS)
    argv = ["compile", "out", "--stream", "--tokens"]
    assert probe.grid_flag(argv) == "--stream" and probe.GRID_SHAPES[probe.grid_flag(argv)] == probe.STREAM_SHAPES


def test_default_grid_takes_designs_for_with_its_cuda_core_and_tma_designs_first():
    """`compile` with no flag: designs_for's kernels (CUDA-core ones first, which have no cluster split-K), then the
    first without PDL and the first cluster design in its "pull" form."""
    probe = _probe()
    from aotgemm.compiler.sources import decode_kernels as dk

    designs = probe.probe_designs(4096, 4096)
    offered = dk.designs_for(4096, 4096, "sm_90a")
    assert offered[0]["kind"] == "simt" and designs[:len(offered)] == offered
    assert dict(offered[0], pdl=False) in designs
    assert [d for d in designs[len(offered):] if d.get("epi") == "pull" and d["kind"] == "swapab_cp"]


def _offered_then_grid(probe, grid_of, n, k, dtype, epilogue):
    """(the kernels builds offer at max_m 8 and 16, the rest) of grid `grid_of`'s designs for (n, k), which must list
    the offered ones first, in designs_for's order, and name every design once."""
    from aotgemm.compiler.sources import decode_kernels as dk

    designs = grid_of(n, k, dtype=dtype, epilogue=epilogue)
    offered = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["max_m"] in (8, 16)]
    assert designs[:len(offered)] == offered and len(probe.symbol_table(designs)) == len(designs)
    return offered, designs[len(offered):]


def test_cp_gaps_grid_gives_unmeasured_weights_a_cp_async_sweep_beside_the_built_kernels():
    """--cp-gaps (session 37): on the weights the cp.async tables have no designs for, the kernels builds offer at
    max_m 8 and 16 first, then cp.async designs of distinct CTA geometries (14 at max_m 8, 6 at 16), with 3 and 6
    warps along K where K has a factor of 3, and in bf16 the whole-row-copy form of the first six; e4m3 the same
    grid with per-tensor scales and no whole-row form; all distinct."""
    from aotgemm.compiler.sources import decode_design_tables as ddt

    probe = _probe()
    # what the grid found is in the tables since (session 37): e4m3 for all ten weights, bf16 where it won
    assert set(probe.CP_GAP_SHAPES) <= set(ddt.CP_FP8_SM90)
    for dtype, epilogue in (("bfloat16", "identity"), ("float8_e4m3fn", "scale_tensor")):
        for n, k in probe.CP_GAP_SHAPES:
            _, grid = _offered_then_grid(probe, probe.cp_gap_designs, n, k, dtype, epilogue)
            assert {d["kind"] for d in grid} == {"swapab_cp"} and all(d.get("epilogue") == (
                None if epilogue == "identity" else epilogue) for d in grid)
            plain = [d for d in grid if not d.get("coal")]
            assert [d["max_m"] for d in plain] == sorted(d["max_m"] for d in plain)
            for max_m, most in ((8, 14), (16, 6)):
                # one design a geometry; fewer where a geometry's every design is one builds offer
                tiles = [(d["mt"], d["wn"], d["wk"], d["ck"]) for d in plain if d["max_m"] == max_m]
                assert most - 3 <= len(tiles) <= most and len(set(tiles)) == len(tiles)
            coal = [d for d in grid if d.get("coal")]
            assert bool(coal) == (dtype == "bfloat16") and all(d["max_m"] == 8 for d in coal)
    assert any(d["wk"] in (3, 6) for d in probe.cp_gap_designs(5120, 6912) if d["kind"] == "swapab_cp")


def test_tma8_grid_gives_max_m_8_tma_designs_beside_the_kernels_builds_offer_there():
    """--tma8 (session 38): the kernels builds offer at max_m 8 and 16 first, then TMA designs of max_m 8, among them
    the twin of each offered max_m 16 TMA design (its stages, warpgroups, k tile and cluster); both dtypes, every
    weight of the grid, all distinct and valid."""
    probe = _probe()
    for dtype, epilogue in (("bfloat16", "identity"), ("float8_e4m3fn", "scale_tensor")):
        for n, k in probe.TMA8_SHAPES:
            offered, grid = _offered_then_grid(probe, probe.tma8_designs, n, k, dtype, epilogue)
            assert all(d["kind"] == "swapab_tma" and d["max_m"] == 8 and d["pdl"] for d in grid), (n, k)
            assert grid, (n, k)
            geometry = {(d["stages"], d["wg"], d["bk"], d["ck"]) for d in grid}
            tma8 = {(d["stages"], d["wg"], d["bk"], d["ck"]) for d in offered if d["kind"] == "swapab_tma"
                    and d["max_m"] == 8}  # the e4m3 table's max_m 8 designs (session 38), offered since
            for d in offered:
                if d["kind"] == "swapab_tma" and d["max_m"] == 16:
                    assert (d["stages"], d["wg"], d["bk"], d["ck"]) in geometry | tma8, (n, k, d)


def test_simt_gaps_grid_times_every_warp_count_with_both_load_sizes():
    """--simt-gaps (session 36): CUDA-core designs at max_m 1 and 2 of every warp count up to 10 that divides K's warp
    loads, with 16- and 8-byte loads (8: twice the loads, so 4 warps divide 9728's 76 where 16-byte loads leave 2),
    after the kernels builds offer up to max_m 16; all distinct."""
    probe = _probe()
    for n, k in probe.SIMT_GAP_SHAPES:
        grid = _grid_after_built(probe, probe.simt_gap_designs(n, k), n, k, 16)
        assert {d["kind"] for d in grid} == {"simt"} and {d["max_m"] for d in grid} == {1, 2}
        assert all(k % (d["warps"] * 32 * (d.get("lb", 16) // 2) * d["unroll"]) == 0 for d in grid)
    wide = {d["warps"] for d in probe.simt_gap_designs(2560, 9728) if d.get("lb") == 8}
    assert 4 in wide and 4 not in {d["warps"] for d in probe.simt_gap_designs(2560, 9728) if d["kind"] == "simt"
                                    and "lb" not in d}


def test_stream_grid_times_512_byte_k_tiles_beside_the_built_designs():
    """--stream (session 36): on the largest weights, TMA designs without split-K, one and two warpgroups, k tiles of
    128, 256 and 512 bytes a row, max_m 16 and 32, each sized for one CTA an SM and for two, after the designs
    builds offer up to max_m 32; all distinct and all fitting."""
    from aotgemm.compiler.sources.decode_tma import tma_smem_bytes

    probe = _probe()
    for n, k in probe.STREAM_SHAPES:
        grid = _grid_after_built(probe, probe.stream_designs(n, k), n, k, 32)
        assert {(d["wg"], 2 * d["bk"], d["max_m"], d["ck"]) for d in grid} <= {
            (wg, b, m, 1) for wg in (1, 2) for b in (128, 256, 512) for m in (16, 32)}
        assert any(2 * d["bk"] == 512 for d in grid) and any(tma_smem_bytes(d) <= 113 * 1024 for d in grid)
        assert all(tma_smem_bytes(d) <= 227 * 1024 and d["stages"] >= 3 for d in grid)


def test_wide_grid_gives_each_wide_weight_128_token_designs_for_one_and_two_ctas_an_sm():
    """--wide: on each of the widest weights (the ragged 16032-row lm_head among them) max_m 128 designs without
    split-K, one and two warpgroups, 128- and 256-byte k tiles, some sized for two CTAs an SM; all distinct."""
    from aotgemm.compiler.sources.decode_kernels import smem_bytes

    probe = _probe()
    assert (16032, 8192) in probe.WIDE_SHAPES
    for n, k in probe.WIDE_SHAPES:
        designs = probe.wide_designs(n, k)
        assert {(d["max_m"], d["ck"]) for d in designs} == {(128, 1)} and {d["wg"] for d in designs} == {1, 2}
        assert {d["bk"] for d in designs} == {64, 128} and len(probe.symbol_table(designs)) == len(designs)
        assert any(smem_bytes(d) <= 113 * 1024 for d in designs), (n, k)


def test_overlay_grid_pairs_each_overlaid_design_with_its_own_region_twin():
    """--overlay: max_m 128 and 256 designs with and without `ov`, each grid resident at once (its CTAs and its
    clusters, at one or two CTAs per SM); where a twin fits, it differs in its stages and the key alone."""
    from aotgemm.compiler.sources.decode_designs import _clusters_held
    from aotgemm.compiler.sources.decode_kernels import smem_bytes

    probe = _probe()
    for n, k in probe.OVERLAY_SHAPES:
        designs = probe.overlay_designs(n, k)
        assert {d["max_m"] for d in designs} == {128, 256} and any(d.get("ov") for d in designs), (n, k)
        for d in designs:
            per_sm = 1 if smem_bytes(d) > 113 * 1024 else 2
            tiles = n // (64 * d["wg"])
            assert tiles * d["ck"] <= 132 * per_sm and (d["ck"] == 1 or tiles <= _clusters_held(d["ck"], per_sm))
        key = lambda d: (d["max_m"], d["wg"], d["ck"], smem_bytes(d) > 113 * 1024)  # noqa: E731
        for d in (d for d in designs if not d.get("ov")):
            twin = [o for o in designs if o.get("ov") and key(o) == key(d)]
            assert twin and twin[0]["stages"] >= d["stages"], (n, k, d)


def test_tokens_grid_splits_256_tokens_over_two_ctas_whose_grid_fits():
    """--tokens: max_m 256 designs of two 128-token CTAs (tt 2), the grid counting both token tiles, and one
    single-tile max_m 256 design to hold them against."""
    from aotgemm.compiler.sources.decode_designs import _clusters_held
    from aotgemm.compiler.sources.decode_kernels import smem_bytes

    probe = _probe()
    for n, k in probe.OVERLAY_SHAPES:
        *designs, ref = probe.GRIDS["--tokens"](n, k)
        assert designs and all(d["max_m"] == 256 and d["tt"] == 2 for d in designs), (n, k)
        assert ref["max_m"] == 256 and "tt" not in ref and ref["ov"] == 1
        for d in designs:
            per_sm = 1 if smem_bytes(d) > 113 * 1024 else 2
            tiles = n // (64 * d["wg"]) * 2
            assert tiles * d["ck"] <= 132 * per_sm and (d["ck"] == 1 or tiles <= _clusters_held(d["ck"], per_sm))


def test_multicast_grid_shares_x_over_groups_that_fit_a_cluster():
    """--multicast: every design multicasts x over 2 or 4 CTAs, within a portable cluster (cn * ck <= 8),
    at each of max_m 64, 128 and 256, and the grids that fit one CTA per SM come first per group."""
    probe = _probe()
    for n, k in probe.MID_SHAPES:
        designs = probe.multicast_designs(n, k)
        assert {d["max_m"] for d in designs} == {64, 128, 256}, (n, k)
        for d in designs:
            assert d["cn"] in (2, 4) and d["cn"] * d["ck"] <= 8
            assert (n // (64 * d["wg"])) % d["cn"] == 0


def test_simt_k_grid_times_every_valid_m1_design_beside_the_built_ones():
    """--simt-k: on each weight whose K the fixed CUDA-core designs could not split, every valid max_m 1 design
    (its warps divide K's 256-element loads), next to the tensor-core kernels a build offers at M = 1."""
    probe = _probe()
    for n, k in probe.SIMT_K_SHAPES:
        designs = probe.simt_k_designs(n, k)
        simt = [d for d in designs if d["kind"] == "simt"]
        assert simt and all(d["max_m"] == 1 and (k // 256) % (d["warps"] * d["unroll"]) == 0 for d in simt)
        assert any(d["kind"] != "simt" for d in designs), (n, k)


def test_out_stage_grid_keeps_every_cluster_grid_in_one_wave():
    """--out-stage: designs_for's TMA designs first (the kernels a build offers), then max_m 128 and 256 designs
    whose clusters the H200 holds at once: at most 30 of 4 CTAs and 15 of 8 with one CTA per SM (twice that
    at two per SM: 113 KB of shared memory or less)."""
    from aotgemm.compiler.sources import decode_kernels as dk
    from aotgemm.gpus import GPU_MODELS

    probe = _probe()
    held = GPU_MODELS["H200_SXM"].clusters_for
    for n, k in probe.OUT_STAGE_SHAPES:
        designs = probe.out_stage_designs(n, k)
        offered = [d for d in dk.designs_for(n, k, "sm_90a") if d["kind"] == "swapab_tma"]
        assert designs[:len(offered)] == offered
        mid = designs[len(offered):]
        assert {d["max_m"] for d in mid} == {128, 256}, (n, k)
        for d in mid:
            clusters = n // (64 * d["wg"])
            per_sm = 2 if dk.smem_bytes(d) <= 113 * 1024 else 1
            assert clusters <= per_sm * held(d["ck"]) or d["ck"] == 1, (n, k, d)


def test_ab_probe_table_reprints_a_run_with_its_geomean(tmp_path, capsys):
    """bench/ab_probe.py's `table` re-prints a run from its JSON: per weight and M the best of each build, and the
    geomean of A's time over B's (> 1: B faster) over the (design, M) pairs, overall and per M."""
    ab = load_script("bench/ab_probe.py")
    row = dict(n=4096, k=4096, cublas_us=12.0, cublas_model_us=13.0, a_model_us=1.0, b_model_us=1.0,
               a_spread=0.01, b_spread=0.01)
    rows = [dict(row, m=8, symbol="aotgemm_x1", a_us=10.0, b_us=8.0),    # B 1.25x faster
            dict(row, m=8, symbol="aotgemm_x2", a_us=9.0, b_us=11.25),   # B 0.8x as fast
            dict(row, m=16, symbol="aotgemm_x1", a_us=10.0, b_us=10.0)]
    path = tmp_path / "ab_probe.json"
    path.write_text(json.dumps(rows))
    ab.table(str(path))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "M=8" in out[0] and "A/B 1.000 over 2" in out[0] and "best B    8.00 x1" in out[0]
    assert out[-1].startswith("geomean A/B over 3 (design, M): 1.0000") and "M=8: 1.000, M=16: 1.000" in out[-1]


def test_simt_m_grid_sets_cuda_core_designs_beside_the_tensor_core_ones():
    """--simt-m: CUDA-core designs at max_m 2 and 4 (rows at least max_m), next to the cp.async max_m 8 and TMA
    max_m 16 designs a build times at M = 2-4, for every weight of its list; all valid, no duplicates."""
    probe = _probe()
    for n, k in probe.SIMT_M_SHAPES:
        designs = probe.simt_m_designs(n, k)
        kinds = {(d["kind"], d["max_m"]) for d in designs}
        # (an lm_head's 128256 rows get no cp.async design: designs_for scores its grids out)
        assert {("swapab_tma", 16), ("simt", 1)} <= kinds and (("swapab_cp", 8) in kinds or n > 100000), (n, k)
        names = [dk_name(d) for d in designs]
        assert len(set(names)) == len(names)
        for d in designs:
            if d["kind"] == "simt":
                assert d["rows"] >= d["max_m"] or d["max_m"] == 1
    # where K splits over 4-10 warps, both new buckets are there
    assert {d["max_m"] for d in probe.simt_m_designs(4096, 4096) if d["kind"] == "simt"} == {1, 2, 4}


def dk_name(d):
    from aotgemm.compiler.sources import decode_kernels as dk

    return dk.design_name(d)


def test_simt_m_grid_in_e4m3():
    """The same grid in e4m3 (fp8_decode_probe compile --simt-m, per scale epilogue): a warp's 16-byte loads carry
    512 elements of a row, so K = 4096 splits over 8 or 4 warps and K = 3584 over none of the grid's counts."""
    probe = _probe()
    fp8 = "float8_e4m3fn"
    designs = probe.simt_m_designs(4096, 4096, dtype=fp8, epilogue="scale_row", max_ms=(2,))
    simt2 = [d for d in designs if d["kind"] == "simt" and d["max_m"] == 2]
    assert simt2 and all(d["dtype"] == fp8 and d["epilogue"] == "scale_row" for d in designs)
    assert {d["warps"] for d in simt2} == {8, 4}
    assert not [d for d in probe.simt_m_designs(8192, 3584, dtype=fp8, epilogue="scale_tensor", max_ms=(2,))
                if d["kind"] == "simt" and d["max_m"] == 2]


def test_rf_grid_sets_register_fed_designs_beside_the_built_tensor_core_ones():
    """--rf: per max_m 8 and 16, mt 1 and 2 and unroll 1, 2 and 4, one register-fed design (the most warps, up to
    8, that K allows; no cluster), after designs_for's cp.async and TMA designs of max_m 8 and 16."""
    probe = _probe()
    for n, k in ((5120, 1280), (4096, 4096)):
        designs = probe.rf_designs(n, k)
        rf = [d for d in designs if d["kind"] == "swapab_rf"]
        assert sorted((d["max_m"], d["mt"], d["unroll"]) for d in rf) == \
            sorted((m, mt, u) for m in (8, 16) for mt in (1, 2) for u in (1, 2, 4))
        assert all(d["ck"] == 1 and d["wn"] == 1 and d["wk"] <= 8 and d["pdl"] for d in rf)
        others = [d for d in designs if d["kind"] != "swapab_rf"]
        assert {d["kind"] for d in others} == {"swapab_cp", "swapab_tma"} and all(d["max_m"] <= 16 for d in others)


def test_fp8_probe_grid_flags_give_e4m3_designs():
    """fp8_decode_probe compile's grid flags, first given wins in this order: each is decode_probe's grid in e4m3,
    with per-tensor scales (--simt-m with both scale epilogues of fp8_decode_probe.SCALES)."""
    mod = load_script("bench/fp8_decode_probe.py")
    assert list(mod.GRIDS) == ["--cp-gaps", "--tma8", "--tma-table", "--tma-table-64", "--simt-gaps", "--simt-lb8", "--overlay", "--multicast", "--tokens", "--rf", "--simt-m",
                               "--edges", "--mid-sweep"]
    assert set(mod.GRID_SHAPES) <= set(mod.GRIDS)
    for flag, grid in mod.GRIDS.items():
        designs = grid(4096, 4096)
        assert designs and all(d["dtype"] == "float8_e4m3fn" for d in designs), flag
        assert {d["epilogue"] for d in designs} == (
            {"scale_tensor", "scale_row"} if flag in ("--simt-m", "--simt-lb8") else {"scale_tensor"}), flag
    # session 36: max_m 1 CUDA-core designs of every warp count that divides K's loads, after the built kernels
    gaps = mod.GRIDS["--simt-gaps"](1792, 5120)
    simt = [d for d in gaps if d["kind"] == "simt"]
    assert {d["warps"] for d in simt} >= {2, 5, 10} and all(d["max_m"] <= 16 for d in gaps)
    assert all(d["rows"] * d["unroll"] <= 8 and 5120 % (d["warps"] * 512 * d["unroll"]) == 0 for d in simt)
    # session 36: 8-byte CUDA-core designs of max_m 1 and 2 beside the kernels builds offer up to max_m 16
    lb8 = mod.GRIDS["--simt-lb8"](5120, 1280)
    assert {(d["max_m"], d.get("lb")) for d in lb8 if d["kind"] == "simt"} == {(1, 8), (2, 8)}
    assert {d["kind"] for d in lb8 if "lb" not in d} >= {"swapab_rf", "swapab_cp", "swapab_tma"}
    assert all(d["max_m"] <= 16 for d in lb8)
    assert any(d["kind"] == "swapab_rf" for d in mod.GRIDS["--rf"](4096, 4096))
    # session 39: the TMA re-sweep at max_m 64 alone, after designs_for's kernels of every kind there
    t64 = mod.GRIDS["--tma-table-64"](4096, 4096)
    assert {d["max_m"] for d in t64} == {64} and sum(d["kind"] == "swapab_tma" for d in t64) > 2
    # session 30: e4m3 holds at most 128 tokens a CTA, so max_m 256 comes as two token tiles, and the overlay and
    # multicast grids pair each design with its twin (ov / cn absent)
    overlay = mod.GRIDS["--overlay"](4096, 4096)
    assert {d["max_m"] for d in overlay} == {64, 128, 256} and any(d.get("ov") for d in overlay)
    assert all(d.get("tt") == 2 for d in overlay if d["max_m"] == 256)
    cast = mod.GRIDS["--multicast"](4096, 4096)
    assert {d.get("cn", 1) for d in cast} == {1, 2, 4}
    assert all({k: v for k, v in d.items() if k != "cn"} in cast for d in cast)
    tokens = mod.GRIDS["--tokens"](4096, 4096)
    assert {d["max_m"] for d in tokens} == {128} and [d for d in tokens if "tt" not in d] == tokens[-1:]
