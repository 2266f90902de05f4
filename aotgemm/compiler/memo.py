"""A small persistent memo for the build's GPU-free analysis: enumeration and ranking.

A warm rebuild must not redo them (ranking alone took ~9 s of a warm build
on 2 cores, and enumeration imports the registry). Each result is JSON under
`<root>/<sha256 of the canonical key>.json`, written atomically. The key
holds everything the result depends on: the source's versions and the
fingerprint of the aotgemm code that computed it, the GPU model's table
row, the problem, M, and the specs ranked. A missing or unreadable entry is
a miss, never an error; anything that cannot be keyed is not memoised.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from ..bundle.io import atomic_write_bytes
from .spec import canonical_json

MEMO_VERSION = 1


class Memo:
    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0

    def get_or(self, key: dict, compute: Callable[[], Any]) -> Any:
        if self.root is None:
            return compute()
        digest = hashlib.sha256(canonical_json({"memo": MEMO_VERSION, **key}).encode()).hexdigest()
        path = self.root / digest[:2] / f"{digest}.json"
        try:
            value = json.loads(path.read_text())["value"]
            self.hits += 1
            return value
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.misses += 1
        value = compute()
        atomic_write_bytes(path, json.dumps({"key": key, "value": value}, sort_keys=True).encode())
        return value


def code_fingerprint(*files) -> str:
    """SHA-256 (16 hex) of source `files`: memoised results follow the code that made them."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]
