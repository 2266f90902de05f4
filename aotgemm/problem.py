"""The GEMM problem as one frozen value, and the one call convention of every kernel.

A `GemmProblem` is what a layer multiplies, independent of M:
`out[M, n_out] = epilogue(x[M, k] @ W[n, k]^T, operands...)`. Its `key` is
the one tuple every stage uses to name it: the manifest's layers, the
compiler's specs and rankings, the tuner, the bundle's dispatch entries, the
runtime's table and the AOTInductor shim's meta file. Nothing rebuilds a
`(dtype, n, k)` tuple of its own.

Shared by the compiler and the runtime: imports nothing heavy (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnsupportedProblem

# The one table of dtypes: name -> bytes per element. Kernel operands move in
# 16-byte accesses (TMA rows, vector loads), so N and K must be multiples of
# ROW_ALIGN_BYTES / bytes.
FLOAT8_E4M3 = "float8_e4m3fn"
# MXFP8's block scales (powers of two): a dtype of epilogue operands only, never of a GEMM's x and W.
FLOAT8_E8M0 = "float8_e8m0fnu"
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, FLOAT8_E4M3: 1}
DTYPES = tuple(DTYPE_BYTES)
ROW_ALIGN_BYTES = 16
# The dtype of the output of a problem of each input dtype: fp8 GEMMs write bf16
# (torch._scaled_mm(..., out_dtype=torch.bfloat16)'s convention, and torchao's).
OUTPUT_DTYPE = {"bfloat16": "bfloat16", "float16": "float16", FLOAT8_E4M3: "bfloat16"}
# Input dtypes whose values are quantized: their problems take a scale epilogue
# (aotgemm.epilogues: scale_tensor, scale_row, scale_rowwise, scale_mx), and only theirs do.
SCALED_DTYPES = (FLOAT8_E4M3,)

# nn.Linear's convention: out[M, N] = x[M, K] @ W[N, K]^T, all row-major.
LINEAR = "linear"
LAYOUTS = (LINEAR,)

# The one call convention of every kernel in a bundle, whatever its source:
#   fn(x, wt, out, *epilogue operands, stream)
# x [M, K] row-major; wt = W.t(), the [K, N] column-major view of W [N, K];
# out [M, n_out] row-major in the problem's output dtype (OUTPUT_DTYPE: bf16 for
# fp8 inputs), fully written; the epilogue's extra operands in the order its
# `operands` lists them, each of its operand dtype (float32 scales, bias and
# residual in the output dtype); stream the raw CUDA stream (an integer).
# The C++ shim gets this order from the generated header (aotgemm/native).
LEADING_OPERANDS = ("x", "wt", "out")
TRAILING_OPERANDS = ("stream",)


def torch_dtype(name: str):
    """The torch dtype of a dtype name of DTYPES, or of "float32" or FLOAT8_E8M0 (epilogue operands' dtypes);
    these are torch's attribute names. torch is imported here."""
    import torch

    if name not in DTYPE_BYTES and name not in ("float32", FLOAT8_E8M0):
        raise UnsupportedProblem(f"dtype {name!r} is not one of {list(DTYPES)}")
    return getattr(torch, name)


def output_dtype(dtype: str) -> str:
    """The dtype a problem of input dtype `dtype` writes (OUTPUT_DTYPE)."""
    try:
        return OUTPUT_DTYPE[dtype]
    except KeyError:
        raise UnsupportedProblem(f"dtype {dtype!r} is not one of {list(DTYPES)}") from None


def alignment_for(dtype: str) -> int:
    """Elements in one 16-byte access: what N, K, leading strides and base addresses must be multiples of."""
    return ROW_ALIGN_BYTES // DTYPE_BYTES[dtype]


@dataclass(frozen=True, order=True)
class GemmProblem:
    """One GEMM a model runs, M aside: the dispatch key of the bundle and of the runtime."""

    dtype: str
    layout: str
    epilogue: str
    n: int
    k: int

    def __post_init__(self) -> None:
        from .epilogues import epilogue

        if self.dtype not in DTYPE_BYTES:
            raise UnsupportedProblem(f"dtype {self.dtype!r} is not one of {list(DTYPES)}")
        if self.layout not in LAYOUTS:
            raise UnsupportedProblem(f"layout {self.layout!r} is not one of {list(LAYOUTS)}")
        ep = epilogue(self.epilogue)  # raises UnsupportedProblem for an unknown name
        if (self.dtype in SCALED_DTYPES) != (ep.scales is not None):
            raise UnsupportedProblem(
                f"{self.dtype} with epilogue {self.epilogue!r}: {', '.join(SCALED_DTYPES)} problems need a scale "
                f"epilogue ({', '.join(scale_epilogue_names())}) and scale epilogues take only those dtypes")
        if not (isinstance(self.n, int) and isinstance(self.k, int) and self.n > 0 and self.k > 0):
            raise UnsupportedProblem(f"n and k must be positive integers, got n={self.n!r} k={self.k!r}")

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """(dtype, layout, epilogue, n, k): the canonical order, also the sort order of dispatch entries."""
        return (self.dtype, self.layout, self.epilogue, self.n, self.k)

    @property
    def alignment(self) -> int:
        return alignment_for(self.dtype)

    @property
    def out_dtype(self) -> str:
        """The dtype of the output (bf16 for fp8 inputs: OUTPUT_DTYPE)."""
        return OUTPUT_DTYPE[self.dtype]

    @property
    def n_out(self) -> int:
        """Columns of the output (an epilogue such as swiglu halves N)."""
        from .epilogues import epilogue

        return epilogue(self.epilogue).output_n(self.n)

    @property
    def operands(self) -> tuple[str, ...]:
        """The kernel's arguments in call order (see the module docstring)."""
        from .epilogues import epilogue

        return LEADING_OPERANDS + epilogue(self.epilogue).operands + TRAILING_OPERANDS

    def describe(self) -> str:
        tail = "" if self.epilogue == "identity" else f" + {self.epilogue}"
        return f"{self.dtype} {self.layout} N={self.n} K={self.k}{tail}"

    def with_epilogue(self, name: str) -> GemmProblem:
        return GemmProblem(self.dtype, self.layout, name, self.n, self.k)


def scale_epilogue_names() -> tuple[str, ...]:
    """The registered scale epilogues' names (those an fp8 problem takes)."""
    from .epilogues import epilogue, names

    return tuple(n for n in names() if epilogue(n).scales is not None)


def epilogue_for(dtype: str, epilogue: str, scales: str | None) -> str:
    """The epilogue of a layer's problem in `dtype`: for a scaled dtype (fp8) the scale epilogue its
    `scales` ("tensor" | "row" | "rowwise" | "mx") selects, which replaces the layer's own (identity); else the
    layer's own."""
    if dtype not in SCALED_DTYPES:
        return epilogue
    from .epilogues import IDENTITY, for_scales

    if scales is None:
        raise UnsupportedProblem(f"a {dtype} problem needs scales (\"tensor\", \"row\", \"rowwise\" or \"mx\"): set "
                                 "build.scales in the manifest")
    if epilogue != IDENTITY:
        raise UnsupportedProblem(f"{dtype} layers take only their scale epilogue, not {epilogue!r}")
    return for_scales(scales).name


def bucket_for(m: int, buckets: tuple[int, ...]) -> int:
    """The bucket that serves M rows: the smallest bucket >= M, else the largest.

    The rule of record; the C++ shim applies the same rule from the generated
    header, and tests/test_dispatch_conformance.py runs both on the same cases.
    """
    for b in buckets:
        if m <= b:
            return b
    return buckets[-1]
