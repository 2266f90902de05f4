"""The build side: enumerate, rank, cross-compile, link, tune. Needs the [build] extra.

Nothing under aotgemm.runtime imports this package.
"""

from __future__ import annotations

import importlib.util

from ..errors import BuildExtraMissing



def compiler_modules() -> dict[str, str]:
    """module -> pip requirement, for every module the default kernel sources need: the compiler side.

    The one list: the `[build]` check here, the bake's "no compiler in the runtime image" check and
    the runtime's import test all read it. It comes from each source's own `requires`, so a new
    source brings its modules with it. Nothing is imported to compute it.
    """
    from .sources import DEFAULT_SOURCES, get_source

    out: dict[str, str] = {}
    for name in DEFAULT_SOURCES:
        out.update(get_source(name).requires)
    return out


def require_build_extra() -> None:
    """Raise BuildExtraMissing, with the install command, unless the compiler side is installed."""
    missing = []
    for module, dist in compiler_modules().items():
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
