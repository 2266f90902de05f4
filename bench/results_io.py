"""Reading committed benchmark results, which scripts/pack_results.py may have gzipped (FILE.gz beside FILE)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def read_text(path) -> str:
    """The text of `path`, or of `path`.gz where only the packed copy exists (or `path` names it)."""
    p = Path(path)
    if p.suffix != ".gz" and not p.exists() and p.with_name(p.name + ".gz").exists():
        p = p.with_name(p.name + ".gz")
    return gzip.decompress(p.read_bytes()).decode() if p.suffix == ".gz" else p.read_text()


def read_json(path):
    return json.loads(read_text(path))
