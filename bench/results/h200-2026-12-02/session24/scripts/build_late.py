"""CPU (session 24): an untuned H200 bundle whose decode kernels release the next kernel late (design key "late":
no griddepcontrol.launch_dependents), every other design choice as builds make it. Usage:
build_late.py MANIFEST OUT.agb (runs `aotgemm build --gpu H200_SXM --no-tune` with all three sources)."""
import sys

import aotgemm.compiler.sources.decode_designs as dd
from aotgemm.cli import main as cli

_designs_for = dd.designs_for


def late_designs_for(*a, **kw):
    return [dict(d, late=1) if d["pdl"] else d for d in _designs_for(*a, **kw)]


dd.designs_for = late_designs_for
if __name__ == "__main__":  # the build's compile workers are spawned: they import this file, and must not build
    sys.exit(cli(["build", sys.argv[1], "--gpu", "H200_SXM", "--no-tune", "--sources", "aotgemm", "--sources",
                  "cutlass_operators", "--sources", "quack", "-o", sys.argv[2]], standalone_mode=False))
