"""The build side: enumerate, rank, cross-compile, link, tune. Needs the [build] extra.

Nothing under aotgemm.runtime imports this package.
"""

from __future__ import annotations

import importlib.util

from ..errors import BuildExtraMissing

_BUILD_MODULES = {
    "cutlass": "nvidia-cutlass-dsl[cu13]",
    "cutlass.operators": "nvidia-cutlass-operators",
    "nvMatmulHeuristics": "nvidia-matmul-heuristics",
}


def require_build_extra() -> None:
    """Raise BuildExtraMissing, with the install command, unless the compiler side is installed."""
    missing = []
    for module, dist in _BUILD_MODULES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(dist)
    if missing:
        raise BuildExtraMissing(
            f"building kernels needs {', '.join(missing)}, which is not installed; "
            "install the compiler side with: pip install 'aotgemm[build]'"
        )
