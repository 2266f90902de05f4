"""Resource usage (registers, stack, shared memory) and SASS of the kernels in an exported object, read with cuobjdump.

Build-side only: whether a design spills shows in its cubin (`STACK:` above 0), long before a GPU runs it; the
quack source's fp8 tests and bench/quack_tile_probe.py read it so. The DSL embeds each kernel's cubin as an ELF
image inside the host object it exports; this cuts those images out and asks cuobjdump (from the CUDA toolkit, or
the copy triton ships, which quack brings) for their resource lines or their instructions (`sass`: the quack
source's tests read there that a fused epilogue's operand is loaded and added).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

_EM_CUDA = 190  # ELF machine of a cubin, as opposed to the host object around it


def cuobjdump() -> str | None:
    """cuobjdump, from the CUDA toolkit or the copy triton (a quack dependency) ships; None where neither is."""
    found = shutil.which("cuobjdump")
    if found:
        return found
    try:
        import triton
    except ImportError:
        return None
    path = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
    return str(path) if path.exists() else None


def _tool() -> str:
    tool = cuobjdump()
    if tool is None:
        raise FileNotFoundError("no cuobjdump: install the CUDA toolkit or triton to read a cubin's resource usage "
                                "or SASS")
    return tool


def cubins(obj: Path, scratch: Path) -> list[Path]:
    """The cubins embedded in `obj`, each cut out into a file in `scratch`."""
    data = Path(obj).read_bytes()
    out = []
    for m in re.finditer(b"\x7fELF", data):
        off = m.start()
        if struct.unpack_from("<H", data, off + 18)[0] != _EM_CUDA:
            continue
        phoff, shoff = struct.unpack_from("<QQ", data, off + 0x20)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, off + 0x36)
        cubin = Path(scratch) / f"{Path(obj).stem}.{off}.cubin"
        cubin.write_bytes(data[off:off + max(shoff + shentsize * shnum, phoff + phentsize * phnum)])
        out.append(cubin)
    return out


def device_functions(obj: Path, scratch: Path) -> dict[str, str]:
    """Kernel name -> its resource line ("REG:... STACK:... SHARED:...") for every cubin embedded in `obj`; the
    cubins are written to `scratch` on the way."""
    tool, out = _tool(), {}
    for cubin in cubins(obj, scratch):
        text = subprocess.run([tool, "--dump-resource-usage", str(cubin)], capture_output=True, text=True,
                              check=True).stdout
        out.update(re.findall(r"Function (\S+):\s*\n\s*(REG:.*)", text))
    return out


def sass(obj: Path, scratch: Path) -> str:
    """The SASS of every cubin embedded in `obj` (cuobjdump -sass), one text: what a kernel's instructions are, read
    GPU-free (which loads an epilogue's operand takes, whether its add is there)."""
    tool = _tool()
    return "".join(subprocess.run([tool, "-sass", str(c)], capture_output=True, text=True, check=True).stdout
                   for c in cubins(obj, scratch))


def stack_bytes(usage: str) -> int:
    """The STACK figure of a resource line: bytes of local memory a thread, above 0 where registers spilled."""
    found = re.search(r"\bSTACK:(\d+)", usage)
    if found is None:
        raise ValueError(f"no STACK field in resource line {usage!r}")
    return int(found.group(1))
