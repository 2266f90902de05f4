"""Kernel source `quack`: quack-kernels' (Dao-AILab) GEMMs for large M: identity, bias, residual_add, gated
(swiglu, geglu) and fp8 scale epilogues.

Optional (`pip install 'aotgemm[quack]'`): not in DEFAULT_SOURCES, so a
build uses it only when named (`--sources aotgemm --sources
cutlass_operators --sources quack`). A build refuses a named source that is
not installed, so as a default it would break every install without the
extra. Enumerating and ranking it is free (a fixed table, no import), but a cold
build compiles its kernels in a process of quack's own per compile worker
(quack_kernels explains why): about 7 s of CPU to start, then about 3 s per
kernel, and on the H200 its kernels beat
cuBLAS only at some M >= 1024 points (1.0-1.12x, /work/shared/NOTES.md):
the extra build time is worth it only where someone tunes for those shapes.

Kernels: quack's own Hopper (sm_90a) and Blackwell (sm_100a) GEMM classes,
compiled by quack_kernels (the only importer of quack) behind our call
convention, `fn(x, wt, out, stream)`, with M, N and K dynamic: one object
per (dtype, epilogue, design, GPU model) serves every problem of that dtype
and epilogue. bf16 and fp16 with the identity, `bias` and `residual_add` epilogues (quack's
default epilogue, which adds a row vector and the GEMM's C: quack_kernels.LINEAR_TERMS) and the
gated ones (`swiglu`, `geglu`); fp8
e4m3 (W8A8, bf16 out) with the scale epilogues `scale_tensor`, `scale_row`
and `scale_rowwise`, dequantized in quack's epilogue (quack_kernels), for the large
M where `torch._scaled_mm` is the alternative: on sm_90a only the tiles
whose float32 promotion does not spill, promoting every 2 k tiles
(SM90_FP8_DESIGNS says why, with the measured numbers). A gated epilogue (W = [gate; up]
stacked, out N/2 wide) is quack's gated epilogue of its activation, reading our stacked W as
its interleaved layout (quack_kernels); it takes tiles whose N is a multiple
of 32.

The designs are a small subset of quack's own autotuning space
(quack.gemm_config), those plausible at large M:
- sm_90a: ping-pong 128 x {128, 144, 160, 192, 208} and 64 x 224 (two
  consumer warpgroups alternate whole tiles, one's epilogue overlapping the
  other's MMAs) and cooperative 256 x {128, 192} and 128 x 256, clusters 2x1
  (quack's default) and 1x2 for its default tile; static persistent scheduling.
- sm_90a e4m3: cooperative 128 x {128, 160, 192, 224} and ping-pong 64 x 192
  (cluster 2x1), the tiles whose float32 promotion does not spill, promoting
  every 2 k tiles (SM90_FP8_DESIGNS).
- sm_100a: 2-CTA 256 x {128, 192, 256} (cluster 2x1) and 1-CTA
  128 x {128, 256} (cluster 1x1), cluster-launch-control persistence.
Left out: swap_ab and split-K, which help only at small M (there our decode
kernels and cuBLAS serve; quack measured 0.45-0.8x of cuBLAS at M <= 128,
and its 64-token ping-pong tiles at M = 128-512 beat cuBLAS back to back at
a few points but not as in a model: bench/quack_tile_probe.py, session 34
call E), and split-K needs a workspace
and a semaphore the call convention has no slot for; the dynamic
tile-counter scheduler of sm_90a needs a semaphore too. Measured before
building that slot (bench/midm_splitk_probe.py, session 33): quack's
in-kernel split-K on the bf16 bundles' weights at M = 128-512, in its own
tiles and in cuBLAS's wave-filling ones, ran 0.78-1.04x of cuBLAS as in a
model (median 0.88x and 0.91x), so the slot would buy nothing there.

Ranking (no library needed): a kernel is offered for M >= MIN_M only. Among
those, fewest padded MACs per SM first: the output is cut into CTA tiles,
the tiles run in waves of as many CTAs as fit at once (our GPU table's
cluster counts), and a kernel pays for its last wave and its ragged tiles in
full; ties go to the larger tile (fewer operand bytes per MAC), then to the
table order below (quack's default config first). It models quantization,
not the pipeline; the tuner decides on a GPU.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import select
import subprocess
import sys
import tempfile

from ...epilogues import BIAS, GEGLU, IDENTITY, RESIDUAL_ADD, SCALE_ROW, SCALE_ROWWISE, SCALE_TENSOR, SWIGLU
from ...errors import CompileError
from ...gpus import GpuModel
from ...problem import FLOAT8_E4M3, GemmProblem
from ..spec import KernelSpec, canonical_json
from .base import OK, KernelSource, Status

# fp8 on sm_100a: SM100_DESIGNS (quack's Blackwell GEMM accumulates into float32 tensor memory, no promotion step;
# compile-only here, the tuner decides on a B200). On sm_90a: these e4m3 designs, (tile [M, N], cluster [M, N],
# ping-pong), each promoting every FP8_PROMOTE_EVERY k tiles (quack_kernels.promoting_class). Hopper's e4m3 MMAs
# keep fewer bits than float32 in their accumulator, so these add each group's MMA results into a float32 sum, the
# numerics of torch._scaled_mm's default (use_fast_accum=False) that the tuner compares with. Only tiles whose
# float32 sum fits in registers beside the MMA accumulator: compiled for sm_90a with promotion, SM90_DESIGNS' tiles
# spill (256-872 bytes of stack a thread for ping-pong 128 x 128 and
# 128 x 192, cooperative 256 x 128 and 128 x 256; the others hold more accumulator registers), and ping-pong 128 x
# 192 ran 0.02-0.10x of _scaled_mm on the H200 (session 8 had measured them at 0.13-0.50x and kept fp8 off sm_90a),
# where these three do not spill and, promoting every 2 k tiles, ran 0.52-1.17x of _scaled_mm's default at M =
# 256-4096 on eight Llama-3.1 weights (1.03-1.17x on 8192 x 1024, 1.04x on 8192 x 3584 at M <= 1024, 1.06-1.08x on
# 6144 x 4096 at M >= 1024; bench/results/h200-2026-12-04/session33, call C), with a relative error against
# float32 of 1.67e-3-1.68e-3 where _scaled_mm's default had 1.66e-3-1.67e-3 (its fast mode 1.74e-3-3.33e-3).
# Cooperative 128 x 160 and 128 x 224 (session 34, bench/quack_tile_probe.py, call B): widths that cut the
# tensor-parallel weights into whole waves of 132 SMs (2560 / 160 = 16 tiles a 128-token row: 128 tiles at M = 1024),
# where 128 x 128 and 128 x 192 leave a part-empty wave. Of 13 non-spilling tiles timed on the four models' weights
# at M = 512-4096, the fastest beat the fastest of the first three by 3% or more at 19 of 48 points, mostly one of
# these two, which beat `_scaled_mm` where those three had not: 5120 x 1280 at M = 512-1024 (1.10x; 1.00-1.02x
# before), 1792 x 5120 at 2048-4096 (1.05x, 1.13x; 0.94x, 0.97x), 2560 x 4096 at 1024 (1.05x; 0.93x), 8192 x 1024
# at 4096 (1.08x; 1.02x). Cooperative 128 x 240 spills (40 bytes).
SM90_FP8_DESIGNS = (
    ((128, 128), (2, 1), False),
    ((128, 192), (2, 1), False),
    ((64, 192), (2, 1), True),
    ((128, 160), (2, 1), False),
    ((128, 224), (2, 1), False),
)
# k tiles (128 e4m3 of K each) per promotion into float32: 256 products, as our TMA decode kernels with 256-element
# k tiles add (quack's own main loop promotes every k tile: in call C as fast or up to 5.6% slower at 20 of 24
# points, 1.9% faster at one, with the default's error exactly)
FP8_PROMOTE_EVERY = 2
# dtype -> the epilogues built for it
EPILOGUES = {"bfloat16": (IDENTITY, BIAS, RESIDUAL_ADD, SWIGLU, GEGLU), "float16": (IDENTITY, BIAS, RESIDUAL_ADD, SWIGLU, GEGLU),
             FLOAT8_E4M3: (SCALE_TENSOR, SCALE_ROW, SCALE_ROWWISE)}
# quack's gated epilogue pairs accumulator columns in 32-wide groups: its tile N must be a multiple of this
GATED_TILE_N = 32
# Offered from this M (a bucket's M): below, quack's 128-row token tiles are mostly padding, and its 64-row ones lost
# to cuBLAS as in a model at M = 128-256 (session 34, call E).
MIN_M = 256
# (tile [M, N], cluster [M, N], ping-pong); in preference order for ties. quack's default config first.
# The last two from session 34 (bench/quack_tile_probe.py, call B: 22 tiles on the four models' bf16 weights at
# M = 512-4096, against cuBLAS): ping-pong 128 x 144 on 8192 x 3584 at M = 2048-4096 (1.06x where the others reached
# 1.05x and 1.03x) and 8192 x 1024 at 4096 (1.17x; 1.15x), ping-pong 64 x 224 on 1792 x 5120 at 4096 (1.15x; 1.08x).
SM90_DESIGNS = (
    ((128, 192), (2, 1), True),
    ((128, 192), (1, 2), True),
    ((128, 128), (2, 1), True),
    ((128, 160), (2, 1), True),
    ((128, 208), (2, 1), True),
    ((256, 128), (2, 1), False),
    ((256, 192), (2, 1), False),
    ((128, 256), (2, 1), False),
    ((128, 144), (2, 1), True),
    ((64, 224), (2, 1), True),
)
# (tile [M, N], cluster [M, N]); an even cluster M with a 256-row tile runs the 2-CTA MMA (128 rows per CTA).
SM100_DESIGNS = (
    ((256, 256), (2, 1)),
    ((256, 192), (2, 1)),
    ((256, 128), (2, 1)),
    ((128, 256), (1, 1)),
    ((128, 128), (1, 1)),
)
FAMILIES = {"sm_90a": "QuackGemmSm90", "sm_100a": "QuackGemmSm100"}
# A compile is about 3 s of CPU (plus 7 s importing quack, once per compile worker); this bounds a stuck one.
COMPILE_TIMEOUT_S = 540


def _designs(gpu: GpuModel, epilogue: str) -> list[dict]:
    out = []
    if gpu.arch == "sm_90a" and epilogue in EPILOGUES[FLOAT8_E4M3]:
        for tile, cluster, pingpong in SM90_FP8_DESIGNS:
            out.append({"tile": list(tile), "cluster": list(cluster), "pingpong": pingpong,
                        "promote_every": FP8_PROMOTE_EVERY,
                        "max_active_clusters": gpu.clusters_for(cluster[0] * cluster[1])})
    elif gpu.arch == "sm_90a":
        for tile, cluster, pingpong in SM90_DESIGNS:
            if epilogue in (SWIGLU, GEGLU) and tile[1] % GATED_TILE_N:
                continue
            out.append({"tile": list(tile), "cluster": list(cluster), "pingpong": pingpong,
                        "max_active_clusters": gpu.clusters_for(cluster[0] * cluster[1])})
    elif gpu.arch == "sm_100a":
        for tile, cluster in SM100_DESIGNS:
            if epilogue in (SWIGLU, GEGLU) and tile[1] % GATED_TILE_N:
                continue
            out.append({"tile": list(tile), "cluster": list(cluster), "clc": True,
                        "max_active_clusters": gpu.clusters_for(cluster[0] * cluster[1])})
    return out


def _entry_code_hash() -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quack_kernels.py")
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def cta_tile(spec: KernelSpec) -> tuple[int, int]:
    """The output tile one CTA computes (the 2-CTA MMA of sm_100a splits a 256-row tile over a CTA pair)."""
    d = spec.design_dict
    tm, tn = d["tile"]
    if spec.arch == "sm_100a" and d["cluster"][0] % 2 == 0 and tm == 256:
        tm //= 2
    return tm, tn


def padded_macs_per_sm(spec: KernelSpec, m: int, n: int) -> int:
    """MACs per k-step one SM spends on the busiest schedule: whole waves of whole tiles."""
    d = spec.design_dict
    tm, tn = cta_tile(spec)
    tiles = math.ceil(m / tm) * math.ceil(n / tn)
    at_once = int(d["max_active_clusters"]) * d["cluster"][0] * d["cluster"][1]
    return math.ceil(tiles / at_once) * tm * tn


def specs(problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
    """Every design of this source for `problem` on `gpu`."""
    if problem.epilogue not in EPILOGUES.get(problem.dtype, ()) or gpu.arch not in FAMILIES:
        return []
    return [KernelSpec(QuackSource.name, FAMILIES[gpu.arch], canonical_json(d), problem.dtype, problem.layout,
                       problem.epilogue, problem.alignment, gpu.arch, gpu.name)
            for d in _designs(gpu, problem.epilogue)]


class QuackSource(KernelSource):
    name = "quack"
    distributions = ("quack-kernels",)
    # quack imports triton at package import (its autotuner), which a CPU-only torch does not bring.
    requires = {"quack": "quack-kernels==0.6.5", "triton": "triton", "cutlass": "nvidia-cutlass-dsl[cu13]"}

    def available(self) -> Status:
        status = super().available()
        return status or Status(False, f"{status.reason}, or all of it with aotgemm's extra: pip install 'aotgemm[quack]'")

    def versions(self) -> str:
        # quack's version, and our entry point around its kernels (quack_kernels.py is compiled into each object)
        return f"{super().versions()}, quack_kernels {_entry_code_hash()}"

    def enumerate(self, problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
        return specs(problem, gpu)

    def supports(self, spec: KernelSpec, problem: GemmProblem, m: int) -> Status:
        if not spec.serves(problem):
            return Status(False, f"built for {spec.dtype}/{spec.layout}/{spec.epilogue}")
        if spec.family != FAMILIES.get(spec.arch):
            return Status(False, f"no quack family {spec.family} for {spec.arch}")
        if m < 1:
            return Status(False, "needs M >= 1")
        if problem.n_out % problem.alignment:
            return Status(False, f"the output's rows ({problem.n_out}) must be a multiple of {problem.alignment} "
                                 "elements (16-byte TMA rows)")
        return OK  # M, N, K dynamic; the problem's alignment is the kernel's (16-byte rows)

    def rank(self, problem: GemmProblem, gpu: GpuModel, m: int, specs: list[KernelSpec]) -> list[KernelSpec]:
        if m < MIN_M:
            return []
        scored = []
        for i, s in enumerate(specs):
            if self.supports(s, problem, m):
                tm, tn = cta_tile(s)
                scored.append((padded_macs_per_sm(s, m, problem.n), (tm + tn) / (tm * tn), i, s))
        scored.sort(key=lambda x: x[:3])
        return [x[3] for x in scored]

    def compile(self, spec: KernelSpec, symbol: str, object_path: str) -> None:
        design = dict(spec.design_dict, dtype=spec.dtype, arch=spec.arch, epilogue=spec.epilogue)
        # in quack's own process: importing quack patches the CuTe DSL process-wide (quack_kernels' docstring)
        err = _CompileServer.for_arch(spec.arch).compile(design, symbol, object_path)
        if err is not None or not os.path.exists(object_path):
            tail = (err or "no object written").strip().splitlines()[-20:]
            raise CompileError(f"quack compile of {spec.short_name()} failed:\n" + "\n".join(tail))


class _CompileServer:
    """A `quack_kernels --serve` process for one architecture, kept for this process's lifetime.

    It exits when its stdin closes, i.e. when this process ends, however it ends. A request that
    times out or finds it dead stops it; the next request starts a new one.
    """

    _by_arch: dict[str, _CompileServer] = {}

    @classmethod
    def for_arch(cls, arch: str) -> _CompileServer:
        server = cls._by_arch.get(arch)
        if server is None or server.proc.poll() is not None:
            server = cls._by_arch[arch] = cls(arch)
        return server

    def __init__(self, arch: str) -> None:
        env = dict(os.environ, CUTE_DSL_ARCH=arch, QUACK_ARCH=arch)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        # aotgemm importable from where this module was loaded
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
        self.log = tempfile.TemporaryFile()  # its stderr (the DSL's warnings, a crash's traceback)
        self.proc = subprocess.Popen([sys.executable, "-m", "aotgemm.compiler.sources.quack_kernels", "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                                     text=True)
        atexit.register(self.stop)

    def compile(self, design: dict, symbol: str, object_path: str) -> str | None:
        """None when it compiled; else what went wrong."""
        self.log.seek(0)
        self.log.truncate()  # the server shares this offset: what it writes next starts at 0
        try:
            self.proc.stdin.write(canonical_json({"design": design, "symbol": symbol,
                                                  "object_path": object_path}) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return self._died()
        ready, _, _ = select.select([self.proc.stdout], [], [], COMPILE_TIMEOUT_S)
        if not ready:
            self.stop()
            return f"timed out after {COMPILE_TIMEOUT_S} s"
        line = self.proc.stdout.readline()
        if not line:
            return self._died()
        reply = json.loads(line)
        return None if reply["ok"] else reply["error"]

    def _died(self) -> str:
        code = self.proc.wait()
        self.log.seek(0)
        tail = self.log.read().decode(errors="replace")[-4000:]
        return f"the quack compile server exited with status {code}:\n{tail}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


__all__ = ["FP8_PROMOTE_EVERY", "MIN_M", "SM90_DESIGNS", "SM90_FP8_DESIGNS", "SM100_DESIGNS", "QuackSource", "specs"]
