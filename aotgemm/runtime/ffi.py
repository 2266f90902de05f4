"""Call a kernel library's exported TVM-FFI functions through the C ABI, without importing tvm_ffi.

A bundle's kernels are exported as `__tvm_ffi_<symbol>`, functions of
TVM-FFI's "safe call" type::

    int fn(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result)

Importing the tvm_ffi Python package costs 30-40 ms on the 2-core machine and
~100 ms on the H200 host (it imports its dataclasses, structural and C++
extension helpers), more than the whole budget of `load()` plus the first
GEMM. Everything the runtime needs from it is its shared library
(libtvm_ffi.so, which the kernel library links against and which holds the
error slot) and the call ABI above, both stable C: so the runtime loads
libtvm_ffi.so and the kernel library with ctypes and marshals the arguments
itself. The apache-tvm-ffi wheel stays the one that provides libtvm_ffi.so;
nothing here is compiled.

Arguments: a torch.Tensor becomes a DLTensor pointer (kTVMFFIDLTensorPtr,
what the exported wrappers accept besides a tvm_ffi Tensor object), an int the
stream (kTVMFFIInt; a library that types its stream as an opaque pointer
answers TypeError once, and the pointer form is used from then on, as the
AOTInductor shim does). A failed call raises KernelCallError with the
library's error kind and message.

`KernelFunction(*args)` converts every argument on each call (the tuner, the
op); `KernelFunction.prepared(...)` returns a `PreparedCall` holding the
argument block of one (weight, epilogue operands) pair, so that the eager hot
path only writes x's and out's address, M, x's row stride and the stream.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

from .. import tvm_ffi_lib
from ..errors import KernelLibraryError

K_NONE, K_INT, K_OPAQUE_PTR, K_DLTENSOR_PTR = 0, 1, 4, 7
DL_CPU, DL_CUDA = 1, 2
DL_INT, DL_UINT, DL_FLOAT, DL_BFLOAT = 0, 1, 2, 4
OBJECT_HEADER_BYTES = 24  # sizeof(TVMFFIObject): ref count, type index + padding, deleter


class KernelCallError(KernelLibraryError):
    """A kernel function reported an error (bad arguments, a CUDA error): the library's own message."""


# torch dtype name -> (DLPack type code, bits); filled lazily (no torch import at module import).
_DL_DTYPES: dict[Any, tuple[int, int]] = {}


def _dl_dtype(dtype) -> tuple[int, int]:
    if not _DL_DTYPES:
        import torch

        _DL_DTYPES.update({torch.bfloat16: (DL_BFLOAT, 16), torch.float16: (DL_FLOAT, 16),
                           torch.float32: (DL_FLOAT, 32), torch.float64: (DL_FLOAT, 64),
                           torch.int8: (DL_INT, 8), torch.int32: (DL_INT, 32), torch.int64: (DL_INT, 64),
                           torch.uint8: (DL_UINT, 8)})
        # DLPack's kDLFloat8_* codes; e8m0fnu: MXFP8's block scales (scale_mx)
        for name, code in (("float8_e4m3fn", 10), ("float8_e5m2", 12), ("float8_e8m0fnu", 14)):
            if hasattr(torch, name):
                _DL_DTYPES[getattr(torch, name)] = (code, 8)
    try:
        return _DL_DTYPES[dtype]
    except KeyError:
        raise KernelCallError(f"aotgemm: a kernel argument has dtype {dtype}, which has no DLPack code here") from None


# --- libtvm_ffi.so --------------------------------------------------------------
_libtvm_ffi: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def libtvm_ffi() -> ctypes.CDLL:
    """libtvm_ffi.so (aotgemm.tvm_ffi_lib: loaded once, RTLD_GLOBAL; kernel libraries need its symbols), with the
    signatures of the two functions called here declared."""
    global _libtvm_ffi
    with _lib_lock:
        if _libtvm_ffi is None:
            lib = tvm_ffi_lib.load()
            lib.TVMFFIErrorMoveFromRaised.argtypes = [ctypes.c_void_p]
            lib.TVMFFIErrorMoveFromRaised.restype = None
            lib.TVMFFIObjectDecRef.argtypes = [ctypes.c_void_p]
            lib.TVMFFIObjectDecRef.restype = ctypes.c_int
            _libtvm_ffi = lib
        return _libtvm_ffi


def _raised_error() -> tuple[str, str]:
    """(kind, message) of the error the failed call left in TVM-FFI's slot (which is then cleared)."""
    lib = libtvm_ffi()
    handle = ctypes.c_void_p()
    lib.TVMFFIErrorMoveFromRaised(ctypes.byref(handle))
    if not handle.value:
        return "Error", "(the library reported a failure but left no error message)"
    try:
        # TVMFFIErrorCell after the object header: kind, message, backtrace (TVMFFIByteArray each)
        cell = (ctypes.c_uint64 * 4).from_address(handle.value + OBJECT_HEADER_BYTES)
        kind = ctypes.string_at(cell[0], cell[1]).decode("utf-8", "replace")
        message = ctypes.string_at(cell[2], cell[3]).decode("utf-8", "replace")
    finally:
        lib.TVMFFIObjectDecRef(handle)
    return kind, message


# --- kernel libraries --------------------------------------------------------------
_SAFE_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)


class KernelLibrary:
    """A kernel library dlopen'ed with ctypes; `get_function(symbol)` finds `__tvm_ffi_<symbol>`."""

    def __init__(self, path: str | os.PathLike) -> None:
        libtvm_ffi()
        self.path = os.fspath(path)
        try:
            self._lib = ctypes.CDLL(self.path, mode=ctypes.RTLD_LOCAL)
        except OSError as e:
            raise KernelLibraryError(f"cannot load the kernel library {self.path}: {e}") from None

    def get_function(self, symbol: str) -> KernelFunction | None:
        try:
            address = ctypes.cast(getattr(self._lib, "__tvm_ffi_" + symbol), ctypes.c_void_p).value
        except AttributeError:
            return None
        return KernelFunction(symbol, address, self)


class KernelFunction:
    """One exported kernel: call it like the tvm_ffi Function it replaces, fn(x, wt, out, ..., stream)."""

    __slots__ = ("symbol", "address", "library", "_call", "_stream_kind")

    def __init__(self, symbol: str, address: int, library: Any = None) -> None:
        self.symbol = symbol
        self.address = address
        self.library = library  # keeps the library mapped
        self._call = _SAFE_CALL(address)
        self._stream_kind = K_INT

    def __repr__(self) -> str:
        return f"KernelFunction({self.symbol!r})"

    def __call__(self, *args: Any) -> Any:
        block = ArgBlock([_describe(a) for a in args])
        return self._invoke(block)

    def prepared(self, wt, operands: tuple, order: tuple[str, ...], n_out: int) -> PreparedCall:
        """The PreparedCall for this kernel with a fixed W^T view and epilogue operands (see prepared_call)."""
        return prepared_call(self, order, wt, operands, n_out)

    def _invoke(self, block: ArgBlock) -> Any:
        block.set_stream_kind(self._stream_kind)
        if self._call(None, block.args_address, block.num_args, block.result_address) == 0:
            return block.result()
        return self._failed(block)

    def _failed(self, block: ArgBlock) -> Any:
        """After a failed call: retry once with the stream as a pointer if the library refused an int, else raise."""
        kind, message = _raised_error()
        if kind == "TypeError" and self._stream_kind == K_INT and block.has_stream:
            self._stream_kind = K_OPAQUE_PTR  # this library types its stream as a pointer: use that from now on
            return self._invoke(block)
        raise KernelCallError(f"aotgemm: kernel {self.symbol} failed: {kind}: {message}")


def _describe(a: Any) -> tuple:
    """('t', data, device_type, device_id, (code, bits), shape, strides) for a tensor, ('i', value) for an int."""
    if isinstance(a, int):
        return ("i", a)
    if a is None:
        return ("n",)
    dev = a.device
    return ("t", a.data_ptr(), DL_CUDA if dev.type == "cuda" else DL_CPU, dev.index or 0, _dl_dtype(a.dtype),
            tuple(a.shape), tuple(a.stride()))


class ArgBlock:
    """The TVMFFIAny array, DLTensors, shapes and strides of one call, in one int64 buffer.

    Layout (int64 words): [Any x nargs: 2 words each][result Any: 2][per tensor: DLTensor 6 words,
    shape ndim words, strides ndim words]. A DLTensor is data, device (type | id << 32), ndim | dtype << 32
    (dtype = code | bits << 8 | lanes << 16), shape*, strides*, byte_offset.
    """

    __slots__ = ("buf", "base", "num_args", "args_address", "result_address", "slots", "stream_word", "has_stream")

    def __init__(self, described: list[tuple]) -> None:
        n = len(described)
        words = 2 * n + 2 + sum(6 + 2 * len(d[5]) for d in described if d[0] == "t")
        self.buf = buf = (ctypes.c_int64 * words)()
        self.base = base = ctypes.addressof(buf)
        self.num_args = n
        self.args_address = base
        self.result_address = base + 16 * n
        self.slots: dict[tuple[int, str], int] = {}  # (argument, "data" | "shape0" | "stride0") -> word
        self.stream_word = -1
        self.has_stream = False
        w = 2 * n + 2
        for i, d in enumerate(described):
            if d[0] == "t":
                _, data, dev_type, dev_id, (code, bits), shape, strides = d
                ndim = len(shape)
                t = w
                buf[2 * i] = K_DLTENSOR_PTR
                buf[2 * i + 1] = base + 8 * t
                buf[t] = data
                buf[t + 1] = dev_type | (dev_id << 32)
                buf[t + 2] = ndim | ((code | (bits << 8) | (1 << 16)) << 32)
                buf[t + 3] = base + 8 * (t + 6)
                buf[t + 4] = base + 8 * (t + 6 + ndim)
                buf[t + 5] = 0
                for j in range(ndim):
                    buf[t + 6 + j] = shape[j]
                    buf[t + 6 + ndim + j] = strides[j]
                self.slots[(i, "data")] = t
                self.slots[(i, "shape0")] = t + 6
                self.slots[(i, "stride0")] = t + 6 + ndim
                w = t + 6 + 2 * ndim
            elif d[0] == "i":
                buf[2 * i] = K_INT
                buf[2 * i + 1] = d[1]
                self.stream_word = 2 * i
                self.has_stream = True
            else:
                buf[2 * i] = K_NONE

    def set_stream_kind(self, kind: int) -> None:
        if self.has_stream:
            self.buf[self.stream_word] = kind

    def result(self) -> Any:
        kind, value = self.buf[2 * self.num_args], self.buf[2 * self.num_args + 1]
        if kind == K_INT:
            return value
        return None


class PreparedCall:
    """The argument block of one kernel for one weight (and epilogue operands), reused across calls.

    `n_out`: the output's width (GemmProblem.n_out). `order` is the call convention (GemmProblem.operands): "x", "wt", "out", the epilogue's operands
    (given in `operands`, in order), "stream". Per call, `__call__(x_ptr, m, x_row, out_ptr, stream)`
    writes x's and out's addresses, M (x's and out's rows), x's row stride and the stream, and calls.
    An operand given as an int w instead of a tensor is a per-call [M, w] row-major operand (a residual):
    its address follows the other arguments, `__call__(x_ptr, m, x_row, out_ptr, stream, r_ptr)`.
    Calls through one PreparedCall are serialised by its lock (the block is shared).
    """

    __slots__ = ("fn", "block", "lock", "_x_data", "_x_rows", "_x_row", "_o_data", "_o_rows", "_stream", "_rows_ops")

    def __init__(self, fn: KernelFunction, wt, operands: tuple, order: tuple[str, ...], n_out: int) -> None:
        import torch

        self.fn = fn
        it = iter(operands)
        described, x_at, o_at, row_at = [], -1, -1, []
        for i, name in enumerate(order):
            if name == "x":  # a placeholder [1, K] row-major like wt's device and dtype; rewritten per call
                described.append(("t", 0, *_describe(wt)[2:5], (1, wt.shape[0]), (wt.shape[0], 1)))
                x_at = i
            elif name == "out":
                described.append(("t", 0, *_describe(wt)[2:5], (1, n_out), (n_out, 1)))
                o_at = i
            elif name == "wt":
                described.append(_describe(wt))
            elif name == "stream":
                described.append(("i", 0))
            else:
                t = next(it)
                if isinstance(t, int):  # per call: [M, t] rows t apart, like out
                    described.append(("t", 0, *_describe(wt)[2:5], (1, t), (t, 1)))
                    row_at.append(i)
                    continue
                assert isinstance(t, torch.Tensor), name
                described.append(_describe(t))
        self.block = b = ArgBlock(described)
        self._rows_ops = tuple((b.slots[(i, "data")], b.slots[(i, "shape0")]) for i in row_at)
        self.lock = threading.Lock()
        self._x_data, self._x_rows, self._x_row = b.slots[(x_at, "data")], b.slots[(x_at, "shape0")], \
            b.slots[(x_at, "stride0")]
        self._o_data, self._o_rows = b.slots[(o_at, "data")], b.slots[(o_at, "shape0")]
        self._stream = b.stream_word + 1

    def __call__(self, x_ptr: int, m: int, x_row: int, out_ptr: int, stream: int, *row_ptrs: int) -> None:
        b = self.block
        buf = b.buf
        fn = self.fn
        with self.lock:
            buf[self._x_data] = x_ptr
            buf[self._x_rows] = m
            buf[self._x_row] = x_row
            buf[self._o_data] = out_ptr
            buf[self._o_rows] = m
            buf[self._stream] = stream
            buf[b.stream_word] = fn._stream_kind
            if row_ptrs:
                for (data, rows), ptr in zip(self._rows_ops, row_ptrs):
                    buf[data] = ptr
                    buf[rows] = m
            if fn._call(None, b.args_address, b.num_args, b.result_address) != 0:
                fn._failed(b)


_PREPARED: dict[tuple, PreparedCall] = {}
_PREPARED_LIMIT = 4096
_prepared_lock = threading.Lock()


def prepared_call(fn: KernelFunction, order: tuple[str, ...], wt, extras: tuple, n_out: int) -> PreparedCall:
    """The PreparedCall of `fn` for this W^T view and these epilogue operands, made once and kept: the key is
    everything the argument block holds (addresses, shapes, strides, dtypes, devices), so a weight freed and
    another placed at the same address with the same layout gets a block that is right for it too."""
    key = (fn, order, n_out, *(_describe(t) for t in (wt, *extras)))
    call = _PREPARED.get(key)
    if call is None:
        call = PreparedCall(fn, wt, extras, order, n_out)
        with _prepared_lock:
            if len(_PREPARED) >= _PREPARED_LIMIT:
                _PREPARED.clear()
            call = _PREPARED.setdefault(key, call)
    return call
