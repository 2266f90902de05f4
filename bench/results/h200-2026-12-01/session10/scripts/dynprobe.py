"""Which parts of epilogue_ops.unfused_when_compiled does torch 2.x's Dynamo fold as intended? CPU tensors."""
import torch

import aotgemm.runtime as rt  # noqa: F401
from aotgemm.runtime import epilogue_ops, ops
from aotgemm.runtime.ops import set_active
from aotgemm.runtime.table import Dispatch, Route

print(torch.__version__)
set_active(Dispatch((16, 128), {("bfloat16", "linear", "swiglu", 256, 64, 16): Route("sw", lambda *a: None),
                                ("bfloat16", "linear", "swiglu", 256, 64, 128): Route(None, None)}, device_type="cpu"))
w = torch.randn(256, 64, dtype=torch.bfloat16)


class Holder:
    buckets = {("bfloat16", "swiglu", 256, 64): (16,)}


H = Holder()


def probe(x):
    a = torch.compiler.is_compiling()
    b = torch.compiler.is_exporting()
    c = all(isinstance(d, int) for d in x.shape[:-1])
    d = epilogue_ops._has_kernel(x.dtype, "swiglu", 256, 64, x.shape[0])
    e = epilogue_ops.unfused_when_compiled("aotgemm_linear_swiglu", x, w)
    f = 16 in H.buckets.get(("bfloat16", "swiglu", 256, 64), ())
    return x.sum() * 0 + (int(a) + 2 * int(b) + 4 * int(c) + 8 * int(d) + 16 * int(e) + 32 * int(f))


for m in (14, 100):
    torch._dynamo.reset()
    fn = torch.compile(probe, backend="eager", fullgraph=True, dynamic=False)
    v = int(fn(torch.randn(m, 64, dtype=torch.bfloat16)).item())
    print(f"M={m}: is_compiling {v & 1}, is_exporting {v >> 1 & 1}, static {v >> 2 & 1}, has_kernel {v >> 3 & 1}, "
          f"unfused {v >> 4 & 1}, holder {v >> 5 & 1}")
print("eager:", epilogue_ops._has_kernel(torch.bfloat16, "swiglu", 256, 64, 100), epilogue_ops._has_kernel(torch.bfloat16, "swiglu", 256, 64, 14))
