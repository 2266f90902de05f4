"""bench/decode_probe.py's design grids (the CPU half of a GPU probe): every flag names a grid, and the
--balance grid spreads the large weights over 1 to 4 CTAs per SM with cluster split-K up to 8."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _probe():
    spec = importlib.util.spec_from_file_location("decode_probe", REPO / "bench" / "decode_probe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
    assert set(probe.GRIDS) == {"--simt-k", "--multicast", "--balance", "--edges", "--mid-sweep", "--tma-sweep",
                                "--tma", "--simt", "--explore2", "--explore"}
    assert all(probe.GRIDS[f](4096, 4096) for f in ("--tma", "--edges"))


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
