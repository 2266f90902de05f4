"""The decode kernels' design dicts: their fields, validation, names and shared-memory size.

A design dict is plain JSON that fixes one kernel of decode_kernels (tensor
core, `make_design`) or decode_simt (CUDA core, `make_simt_design`); its
canonical JSON is part of the kernel's cache key, so bf16 identity dicts
carry neither a "dtype" nor an "epilogue" key (decode_epilogue.with_epilogue)
and stay what they were before fp8 and fused epilogues. No kernel code here
and no cutlass; decode_kernels re-exports all of it. Which designs to build
per shape is decode_designs' business.
"""

from ...epilogues import IDENTITY
from .decode_epilogue import BF16, FP8, is_gated, validate_epilogue, with_epilogue


def elem_bytes(d: dict) -> int:
    """Bytes per x/W element: a design without "dtype" is bf16."""
    return 1 if d.get("dtype") == FP8 else 2


def k_step(d: dict) -> int:
    """k per 16-byte piece per quad of lanes: 4 lanes x 16 bytes of one weight row (32 bf16, 64 e4m3)."""
    return 4 * 16 // elem_bytes(d)


def _validate(d: dict) -> None:
    validate_epilogue(d)
    if d.get("late") and not d["pdl"]:
        raise ValueError("late (no early PDL release) needs pdl")
    if d["kind"] == "simt":
        from .decode_simt import validate_simt

        return validate_simt(d)
    if d["kind"] == "swapab_tma":
        from .decode_tma import validate_tma

        return validate_tma(d)
    n, k = d["n"], d["k"]
    ks = k_step(d)
    mt, wn, wk, ck, u = d["mt"], d["wn"], d["wk"], d["ck"], d["unroll"]
    rows_cta = 16 * mt * wn
    if n % rows_cta:
        raise ValueError(f"n={n} is not a multiple of the CTA's {rows_cta} rows")
    if k % (ks * u * wk * ck):
        raise ValueError(f"k={k} is not a multiple of {ks}*unroll*wk*ck = {ks * u * wk * ck}")
    if rows_cta % ck:
        raise ValueError("the cluster's CTAs each reduce rows_cta/ck rows: ck must divide rows_cta")
    threads = 32 * wn * wk
    part = rows_cta // ck
    if part > threads or threads % part:
        raise ValueError(f"{threads} threads cannot reduce {part} rows evenly")
    if d["max_m"] != 8 * d["nt"]:
        raise ValueError("max_m must be 8 * nt")
    if ck not in (1, 2, 4, 8):
        raise ValueError("cluster size must be 1, 2, 4 or 8")
    if d.get("epi", "push") not in ("push", "pull"):
        raise ValueError(f"unknown cluster reduction epi={d['epi']!r}: 'push' or 'pull'")
    if d["kind"] not in ("swapab_rf", "swapab_cp"):
        raise ValueError(f"unknown kind {d['kind']!r}")
    if d.get("coal") and (d["kind"] != "swapab_cp" or wn != 1 or u not in (2, 4, 8)):
        raise ValueError("coal: swapab_cp designs with wn 1 and unroll 2, 4 or 8 only")
    if d["kind"] == "swapab_cp":
        chunks = k // (ks * u * wk * ck)
        if d["stages"] < 2 or chunks < d["stages"] - 1:
            raise ValueError(f"{chunks} chunks per warp cannot fill a {d['stages']}-stage pipeline")
    if is_gated(d.get("epilogue")):
        name = d["epilogue"]
        if rows_cta % 32:
            raise ValueError(f"{name}: a CTA holds {rows_cta // 2} gate rows and their {rows_cta // 2} up rows, "
                             "each half whole 16-row MMA tiles: mt*wn must be even")
        if (rows_cta // 2) % ck:
            raise ValueError(f"{name}: the {ck} CTAs of a cluster must each own matching gate/up row pairs: "
                             f"ck must divide {rows_cta // 2}")
    if smem_bytes(d) > 227 * 1024:
        raise ValueError(f"needs {smem_bytes(d)} bytes of shared memory")


def coal_piece(row, piece):
    """Where a whole-row ("coal") cp.async stage keeps 16-byte piece `piece` of a chunk's logical row `row`: odd
    rows XOR 4 (64 bytes) into the piece index, so that the rows g and g+1 that one phase of a fragment load
    reads (lanes 8j..8j+7: two rows, four pieces each) fall in different banks. Plain ints or DSL integers."""
    return piece ^ (4 * (row % 2))


def make_design(n: int, k: int, *, nt: int, mt: int = 1, wn: int = 1, wk: int = 4, ck: int = 1,
                unroll: int = 2, stages: int = 4, pdl: bool = False, kind: str = "swapab_cp",
                epi: str = "push", epilogue: str = IDENTITY, dtype: str = BF16, coal: bool = False,
                late: bool = False) -> dict:
    """A design dict (plain JSON): kind, n, k, max_m (= 8*nt), nt (8-token MMA tiles),
    mt (16-row MMA tiles per warp), wn x wk warps per CTA (rows x K split), ck CTAs per
    cluster (K split), unroll (16-byte pieces per lane and row per chunk: 32 k of bf16,
    64 k of e4m3), stages (cp.async depth), pdl (programmatic dependent launch), epi
    (cluster reduction: "push" partials into the owner CTA's shared memory, or "pull" them
    from the peers; ck > 1 only), epilogue (a fused epilogue of decode_epilogue.EPILOGUES
    for dtype; the key is absent for identity), dtype (x and W: bf16, the key absent, or
    "float8_e4m3fn" with a scale epilogue), coal (swapab_cp: each cp.async instruction of a warp copies
    whole-row runs of U*64 contiguous bytes, read back across lanes; the key is absent unless set), late (PDL
    without the early release: no griddepcontrol.launch_dependents, so the next kernel launches as this one's CTAs
    exit, not when its main loop ends; the key is absent unless set)."""
    d = {"kind": kind, "n": n, "k": k, "max_m": 8 * nt, "nt": nt, "mt": mt, "wn": wn,
         "wk": wk, "ck": ck, "unroll": unroll, "pdl": bool(pdl)}
    if kind == "swapab_cp":
        d["stages"] = stages
    if ck > 1:
        d["epi"] = epi
    if coal:
        d["coal"] = 1
    if late:
        d["late"] = 1
    _validate(with_epilogue(d, epilogue, dtype))
    return d


def make_simt_design(n: int, k: int, *, max_m: int, rows: int = 4, warps: int = 4, unroll: int = 2,
                     pdl: bool = False, epilogue: str = IDENTITY, dtype: str = BF16, late: bool = False,
                     load_bytes: int = 16) -> dict:
    """A CUDA-core design (decode_simt): max_m 1..4, `rows` weight rows per CTA,
    `warps` warps splitting K, `unroll` loads of `load_bytes` (16 or 8) per row in flight per lane,
    `epilogue`, `dtype` and `late` as for make_design (the key "lb" is absent for 16, so older designs keep their
    names and cache keys)."""
    d = {"kind": "simt", "n": n, "k": k, "max_m": max_m, "rows": rows, "warps": warps,
         "unroll": unroll, "pdl": bool(pdl)}
    if late:
        d["late"] = 1
    if load_bytes != 16:
        d["lb"] = load_bytes
    _validate(with_epilogue(d, epilogue, dtype))
    return d


def make_tma_design(n: int, k: int, *, max_m: int, wg: int = 2, bk: int = 0, stages: int = 6, ck: int = 1,
                    cn: int = 1, pdl: bool = True, epilogue: str = IDENTITY, dtype: str = BF16,
                    late: bool = False, ov: bool = False, tt: int = 1) -> dict:
    """A TMA + warpgroup-MMA design (decode_tma): max_m 8..256 tokens (the wgmma N side), wg consumer
    warpgroups of 64 weight rows, bk k per tile (0: one 128-byte swizzle atom, 64 bf16 / 128 e4m3),
    `stages` TMA stages, ck CTAs per cluster splitting K, cn CTAs per cluster along the weight rows that
    share one multicast x tile (the key is absent for 1, so older designs keep their names and cache
    keys); epilogue, dtype and late as for make_design; ov: the split-K partials overlay the pipeline's stage
    buffers instead of a region of their own (decode_tma's docstring; the key is absent unless set); tt: the
    max_m tokens split over tt CTAs along a third grid axis (absent for 1)."""
    d = {"kind": "swapab_tma", "n": n, "k": k, "max_m": max_m, "wg": wg,
         "bk": bk or 128 // (1 if dtype == FP8 else 2), "stages": stages, "ck": ck, "pdl": bool(pdl)}
    if cn != 1:
        d["cn"] = cn
    if late:
        d["late"] = 1
    if ov:
        d["ov"] = 1
    if tt != 1:
        d["tt"] = tt
    _validate(with_epilogue(d, epilogue, dtype))
    return d


def design_name(d: dict) -> str:
    tail = ("_e4m3" if d.get("dtype") == FP8 else "") + (f"_{d['epilogue']}" if "epilogue" in d else "")
    if d["kind"] == "simt":
        return (f"simt_n{d['n']}k{d['k']}_m{d['max_m']}_r{d['rows']}w{d['warps']}u{d['unroll']}"
                f"{'lb%d' % d['lb'] if 'lb' in d else ''}{_pdl_tag(d)}{tail}")
    if d["kind"] == "swapab_tma":
        return (f"tma{d['stages']}_n{d['n']}k{d['k']}_m{d['max_m']}_wg{d['wg']}bk{d['bk']}ck{d['ck']}"
                f"{'cn%d' % d['cn'] if 'cn' in d else ''}{'ov' if d.get('ov') else ''}{'tt%d' % d['tt'] if 'tt' in d else ''}{_pdl_tag(d)}{tail}")
    tag = "rf" if d["kind"] == "swapab_rf" else f"cp{d['stages']}" + ("c" if d.get("coal") else "")
    return (f"{tag}_n{d['n']}k{d['k']}_m{d['max_m']}_mt{d['mt']}wn{d['wn']}wk{d['wk']}"
            f"ck{d['ck']}u{d['unroll']}{'_pull' if d.get('epi') == 'pull' else ''}{_pdl_tag(d)}{tail}")


def _pdl_tag(d: dict) -> str:
    return ("_pdl" if releases_early(d) else "_pdlx") if d["pdl"] else ""


def releases_early(d: dict) -> bool:
    """Whether the kernel releases the next one (griddepcontrol.launch_dependents) when its main loop ends: with
    PDL, unless the design sets `late`."""
    return bool(d["pdl"]) and not d.get("late")


def smem_bytes(d: dict) -> int:
    if d["kind"] == "simt":
        from .decode_simt import simt_smem_bytes

        return simt_smem_bytes(d)
    if d["kind"] == "swapab_tma":
        from .decode_tma import tma_smem_bytes

        return tma_smem_bytes(d)
    rows = 16 * d["mt"] * d["wn"]
    if d["ck"] > 1 and d.get("epi", "push") == "push":
        part = d["ck"] * d["wk"] * 8 * d["nt"] * (rows // d["ck"] + 4) * 4
    else:
        part = d["wk"] * 8 * d["nt"] * (rows + 4) * 4
    pipe = 0
    if d["kind"] == "swapab_cp":
        slots = d["unroll"] * (2 * d["mt"] + d["nt"])
        pipe = d["wn"] * d["wk"] * d.get("stages", 1) * slots * 32 * 16
    return part + pipe + 256
