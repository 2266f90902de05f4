"""Session 31 (CPU): compile two TMA decode designs of designs_for per epilogue (seven) for sm_90a to OUT/*.o, and
write each object's embedded cubin (OUT/*.cubin) and its SASS (nvdisasm, OUT/*.sass). Run before and after a change to
decode_tma's source, then `cmp` the two folders' cubins: a20c224's change left all 14 byte-identical.

    python bench/results/h200-2026-12-03/session31/scripts/sass_dump.py OUT      # from the repository root
"""
import os, subprocess, sys
sys.path.insert(0, os.getcwd())
from aotgemm.compiler.sources import decode_kernels as dk
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
F8 = "float8_e4m3fn"
designs = []
for n, k, epi, dt in [(8192, 1024, "scale_tensor", F8), (8192, 1024, "scale_row", F8), (8192, 1024, "scale_rowwise", F8),
                      (6144, 4096, "bias", "bfloat16"), (28672, 4096, "swiglu", "bfloat16"),
                      (4096, 14336, "residual_add", "bfloat16"), (4096, 4096, "identity", "bfloat16")]:
    tma = [d for d in dk.designs_for(n, k, "sm_90a", epi, dt) if dk.design_name(d).startswith("tma")]
    designs += [tma[0], tma[-1]]
nvdis = ".venv/lib/python3.11/site-packages/triton/backends/nvidia/bin/nvdisasm"
for d in designs:
    name = dk.design_name(d)
    o = f"{out}/{name}.o"
    dk.compile_decode(d, "aotgemm_" + name, o, "sm_90a")
    data = open(o, "rb").read()
    # the embedded cubin: an ELF whose e_machine is 190 (EM_CUDA)
    i = 0; cubins = []
    while True:
        i = data.find(b"\x7fELF", i + 1)
        if i < 0: break
        if int.from_bytes(data[i + 18:i + 20], "little") == 190:
            shoff = int.from_bytes(data[i + 40:i + 48], "little"); shentsize = int.from_bytes(data[i + 58:i + 60], "little")
            shnum = int.from_bytes(data[i + 60:i + 62], "little")
            phoff = int.from_bytes(data[i + 32:i + 40], "little"); phentsize = int.from_bytes(data[i + 54:i + 56], "little")
            phnum = int.from_bytes(data[i + 56:i + 58], "little")
            end = max(shoff + shentsize * shnum, phoff + phentsize * phnum)
            for j in range(shnum):  # each section's end
                h = i + shoff + j * shentsize
                off = int.from_bytes(data[h + 24:h + 32], "little"); size = int.from_bytes(data[h + 32:h + 40], "little")
                if int.from_bytes(data[h + 4:h + 8], "little") != 8:  # not NOBITS
                    end = max(end, off + size)
            cubins.append(data[i:i + end])
    cub = f"{out}/{name}.cubin"; open(cub, "wb").write(cubins[0])
    sass = subprocess.run([nvdis, "-hex", cub], capture_output=True, text=True).stdout
    open(f"{out}/{name}.sass", "w").write(sass)
    print(name, len(cubins), len(sass.splitlines()))
