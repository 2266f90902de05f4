"""Content-addressed cache of compiled kernel objects.

Layout under the root: `objects/<key[:2]>/<key>.o` and `<key>.json`, the
metadata written last as the commit marker (it records the object's size and
SHA-256). A missing or mismatching marker makes the entry a miss; a corrupt
object is moved to `quarantine/` and recompiled, never an error. Writers
hold an exclusive `flock` on `locks/<key>.lock`, so two builds sharing the
cache compile each kernel once and never see a partial file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from ..bundle.io import atomic_write_bytes


class ObjectCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        d = self.root / "objects" / key[:2]
        return d / f"{key}.o", d / f"{key}.json"

    def get(self, key: str) -> Path | None:
        """The cached object for `key`, or None (missing, partial or corrupt: all misses)."""
        obj, meta = self._paths(key)
        try:
            info = json.loads(meta.read_text())
            data = obj.read_bytes()
        except (OSError, ValueError):
            return None
        if info.get("size") != len(data) or info.get("sha256") != hashlib.sha256(data).hexdigest():
            self._quarantine(key)
            return None
        return obj

    def put(self, key: str, data: bytes, info: dict) -> Path:
        obj, meta = self._paths(key)
        atomic_write_bytes(obj, data)
        atomic_write_bytes(meta, json.dumps(
            {**info, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, sort_keys=True).encode())
        return obj

    def _quarantine(self, key: str) -> None:
        q = self.root / "quarantine"
        q.mkdir(parents=True, exist_ok=True)
        for p in self._paths(key):
            with contextlib.suppress(OSError):
                shutil.move(str(p), q / p.name)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        d = self.root / "locks"
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(d / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
