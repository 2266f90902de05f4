"""The repository's scripts (bench/, scripts/) loaded as modules by path, for the tests of their CPU halves: they are
not a package, and most import their neighbours by bare name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_script(relpath: str):
    """The module of REPO/relpath, executed anew (named after the file)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
