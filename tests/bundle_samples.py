"""Sample bundles for tests: a small but complete index, its blobs, and crafting helpers.

`sample_index()` is a `BundleIndex` with two targets (H100_SXM, B200), a few
kernels each, tuned and heuristic dispatch entries (some to cuBLAS, one
(layer, bucket) left without an entry), and no `blobs` field: `encode_bundle`
fills that in from `sample_blobs()`. The whole bundle is a few KB, so tests
can afford to flip every byte of it.

`craft_bundle(obj, data)` packs any msgpack-able index object behind a valid
header (right length, right SHA-256), for tests that must get a bad index
past the checksum.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import msgpack

from aotgemm.bundle.format import FORMAT_VERSION, HEADER, MAGIC
from aotgemm.bundle.format import BundleIndex, DispatchEntry, Kernel, Layer, Target, _plain
from aotgemm.bundle.io import encode_bundle, read_index_bytes

H100_LIB = "H100_SXM.kernels.so"
B200_LIB = "B200.kernels.so"
M_BUCKETS = (1, 16, 128, 1024)
LAYERS = (
    Layer("qkv_proj", 6144, 4096, 32),
    Layer("o_proj", 4096, 4096, 32),
    Layer("gate_up_proj", 28672, 4096, 32),
    Layer("down_proj", 4096, 14336, 32),
)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _kernel(symbol: str, design: dict, family: str = "Sm90StaticPersistentGemmOperator",
            source: str = "cutlass_operators", max_m: int = 0, x_row_stride: int = 0) -> Kernel:
    return Kernel(symbol=symbol, source=source, family=family, design=_plain(design, "design"), dtype="bfloat16",
                  layout="linear", epilogue="identity", alignment=8, max_m=max_m, cache_key=_key(symbol),
                  x_row_stride=x_row_stride)


def _env(**kw) -> tuple:
    env = {"cuda_driver_min": 13000, "cuda_runtime_major": 13, "compiler": "nvidia-cutlass-dsl 4.8.1",
           "tvm_ffi": "0.1.15", "link_mode": "static-runtime", "torch_tuned_with": None, "tuned_on": None,
           "tuned_driver": None, "tuned_at": None}
    env.update(kw)
    return tuple(sorted(env.items()))


SOURCES = (("aotgemm", "decode_kernels 0123456789abcdef"), ("cutlass_operators", "nvidia-cutlass-operators 0.3.0"))


# H100: tuned, with measured times; one (layer, bucket) has no entry.
# layer -> bucket -> (kernel or "cublas", kernel_us, cublas_us)
H100_CHOICES = {
    "qkv_proj": {1: ("gemm_sm90_64x128_c1x1", 9.5, 11.0), 16: ("gemm_sm90_64x128_c1x1", 10.0, 12.5),
                 128: ("gemm_sm90_128x256_c2x1", 21.0, 25.2), 1024: ("gemm_sm90_128x256_c2x1", 120.0, 126.0)},
    "o_proj": {1: ("cublas", 8.0, 8.0), 16: ("gemm_sm90_64x128_c1x1", 8.5, 9.0),
               128: ("gemm_sm90_128x128_c1x2", 15.0, 18.0), 1024: ("gemm_sm90_128x256_c2x1", 80.0, 88.0)},
    "gate_up_proj": {1: ("decode_28672x4096_m16", 30.0, 36.0), 16: ("decode_28672x4096_m16", 31.0, 37.2),
                     128: ("gemm_sm90_128x256_c2x1", 60.0, 72.0), 1024: ("gemm_sm90_128x256_c2x1", 500.0, 540.0)},
    # down_proj @ 1024 deliberately missing
    "down_proj": {1: ("gemm_sm90_64x128_c1x1", 20.0, 24.0), 16: ("gemm_sm90_64x128_c1x1", 21.0, 24.0),
                  128: ("cublas", 40.0, 40.0)},
}
# B200: heuristic picks, no times.
B200_CHOICES = {
    "qkv_proj": {1: "gemm_sm100_128x64_c1x1", 16: "gemm_sm100_128x64_c1x1", 128: "gemm_sm100_256x128_c2x1",
                 1024: "gemm_sm100_256x128_c2x1"},
    "o_proj": {1: "gemm_sm100_128x64_c1x1", 16: "gemm_sm100_128x64_c1x1", 128: "gemm_sm100_128x64_c1x1",
               1024: "gemm_sm100_256x128_c2x1"},
    "gate_up_proj": {1: "cublas", 16: "gemm_sm100_128x64_c1x1", 128: "gemm_sm100_256x128_c2x1",
                     1024: "gemm_sm100_256x128_c2x1"},
    "down_proj": {1: "gemm_sm100_128x64_c1x1", 16: "gemm_sm100_128x64_c1x1", 128: "gemm_sm100_256x128_c2x1",
                  1024: "gemm_sm100_256x128_c2x1"},
}


def _dispatch(choices: dict) -> tuple[DispatchEntry, ...]:
    by_name = {x.name: x for x in LAYERS}
    out = []
    for name, per_bucket in choices.items():
        layer = by_name[name]
        for bucket, choice in per_bucket.items():
            if isinstance(choice, tuple):
                kernel, kus, cus = choice
                ranked = () if kernel == "cublas" else (kernel,)
                out.append(DispatchEntry("bfloat16", "linear", "identity", layer.n, layer.k, bucket, kernel, "tuned",
                                         kus, cus, ranked))
            else:
                # heuristic entries kept no candidates besides the pick (ranked may be empty)
                out.append(DispatchEntry("bfloat16", "linear", "identity", layer.n, layer.k, bucket, choice,
                                         "heuristic"))
    return tuple(sorted(out, key=lambda d: d.key))


def sample_index(*, model: str = "llama-sample-8b") -> BundleIndex:
    """The sample index, without its `blobs` field (the writer fills it in)."""
    h100 = Target(
        gpu="H100_SXM", arch="sm_90a", sm_count=132, library=H100_LIB,
        environment=_env(torch_tuned_with="2.11.0", tuned_on="NVIDIA H100 80GB HBM3", tuned_driver=13000,
                         tuned_at="2026-11-30"),
        sources=SOURCES,
        kernels=tuple(sorted([
            _kernel("gemm_sm90_128x128_c1x2", {"tile": [128, 128], "cluster": [1, 2], "stages": 4}),
            _kernel("gemm_sm90_128x256_c2x1", {"tile": [128, 256], "cluster": [2, 1], "stages": 3,
                                               "raster": "along_n", "swizzle": 8, "persistent": True}),
            _kernel("gemm_sm90_64x128_c1x1", {"tile": [64, 128], "cluster": [1, 1], "stages": 5}),
            # a decode kernel: no tile / cluster in its design, serves M <= 16 only
            _kernel("decode_28672x4096_m16", {"n": 28672, "k": 4096, "split_k": 4, "pairs": [["a", 1]], "extra": {}},
                    family="decode_swapab_rf", source="aotgemm", max_m=16, x_row_stride=4096),
        ], key=lambda k: k.symbol)),
        dispatch=_dispatch(H100_CHOICES),
    )
    b200 = Target(
        gpu="B200", arch="sm_100a", sm_count=148, library=B200_LIB,
        environment=_env(link_mode="dsl-runtime"),
        sources=SOURCES[1:],
        kernels=tuple(sorted([
            _kernel("gemm_sm100_128x64_c1x1", {"tile": [128, 64], "cluster": [1, 1], "stages": 6},
                    family="Sm100StaticPersistentGemmOperator"),
            _kernel("gemm_sm100_256x128_c2x1", {"tile": [256, 128], "cluster": [2, 1], "stages": 4},
                    family="Sm100StaticPersistentGemmOperator"),
        ], key=lambda k: k.symbol)),
        dispatch=_dispatch(B200_CHOICES),
    )
    return BundleIndex(generator="aotgemm 0.1.0", model=model, layers=LAYERS, m_buckets=M_BUCKETS,
                       targets=(b200, h100))


def _pseudo_library(seed: str, n: int) -> bytes:
    """Deterministic bytes that look a little like a shared object: half noise, half padding."""
    noise = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(n // 64))
    return b"\x7fELF\x02\x01\x01\x00" + noise + bytes(n // 2) + seed.encode() * 4


def sample_blobs() -> dict[str, bytes]:
    """Blob name -> uncompressed content, for `encode_bundle(sample_index(), sample_blobs())`."""
    return {H100_LIB: _pseudo_library("h100", 600), B200_LIB: _pseudo_library("b200", 400)}


def sample_bytes() -> bytes:
    return encode_bundle(sample_index(), sample_blobs())


def sample_full_index() -> BundleIndex:
    """The sample index as read back: with the `blobs` field filled in."""
    return read_index_bytes(sample_bytes())[0]


def write_sample_bundle(path) -> Path:
    """Write the sample bundle to `path` (atomically); return the path."""
    from aotgemm.bundle.io import write_bundle

    write_bundle(path, sample_index(), sample_blobs())
    return Path(path)


def sample_layout() -> dict:
    """Byte ranges of the sample bundle's regions: header, index, and each blob (by name)."""
    data = sample_bytes()
    index, offsets = read_index_bytes(data)
    index_length = HEADER.unpack(data[:HEADER.size])[3]
    data_offset = HEADER.size + index_length
    regions = {"header": (0, HEADER.size), "index": (HEADER.size, data_offset)}
    for b in index.blobs:
        start = data_offset + offsets[b.name]
        regions[b.name] = (start, start + b.stored_size)
    return regions


# --- crafting -------------------------------------------------------------------------------
def sample_obj() -> dict:
    """The sample's index as a msgpack-able object (blobs filled in): edit it, then `craft_bundle`."""
    return sample_full_index().to_obj()


def sample_stored_data() -> bytes:
    """The sample's data section (the stored blobs back to back)."""
    data = sample_bytes()
    return data[HEADER.size + HEADER.unpack(data[:HEADER.size])[3]:]


def craft_bundle(obj, data: bytes = b"", *, version: int = FORMAT_VERSION, flags: int = 0,
                 index_length: int | None = None, index_bytes: bytes | None = None) -> bytes:
    """A bundle whose header is valid for the index `obj` (or raw `index_bytes`), followed by `data`.

    `index_length` overrides the length the header declares (the SHA-256 stays
    that of the real index bytes).
    """
    if index_bytes is None:
        index_bytes = msgpack.packb(obj, use_bin_type=True)
    length = len(index_bytes) if index_length is None else index_length
    header = HEADER.pack(MAGIC, version, flags, length, hashlib.sha256(index_bytes).digest())
    return header + index_bytes + data


def with_blobs(index: BundleIndex, blobs) -> BundleIndex:
    return replace(index, blobs=tuple(blobs))
