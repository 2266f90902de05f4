"""aotgemm: ahead-of-time CuTe DSL GEMM kernels for LLM inference.

Build side (needs the ``[build]`` extra): ``aotgemm.compiler``.
Run side (no compiler): ``aotgemm.runtime``.
Shared by both: the manifest, the bundle format and the GPU table.
"""

__version__ = "0.1.0"
