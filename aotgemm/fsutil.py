"""Files in aotgemm's caches: one way to install a file that many processes may want at once.

Used by the runtime (kernel libraries extracted from a bundle) and by the
AOTInductor loader (the shim a package carries). Imports nothing from
aotgemm.runtime: importing that package registers the torch op.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from typing import Callable

from .bundle.io import atomic_write_bytes

MARKER_SUFFIX = ".ok"  # "<name>.ok", written last: the file beside it is complete
LOCK_NAME = ".lock"


class InstallError(Exception):
    """`install_once` could not create its directory (stage "dir") or write the file (stage "write")."""

    def __init__(self, stage: str, error: OSError) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage, self.error = stage, error


def is_complete(path: Path, size: int) -> bool:
    """The file has `size` bytes and its marker exists."""
    try:
        return path.stat().st_size == size and path.with_name(path.name + MARKER_SUFFIX).is_file()
    except FileNotFoundError:
        return False


def fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def install_once(d: Path, name: str, size: int, produce: Callable[[], bytes], marker_text: str) -> bool:
    """Make `d/name` hold `produce()`'s `size` bytes, whoever asks at once; True if this call wrote it.

    Under an exclusive flock on `d/.lock`: check again, clear what a crashed
    writer left, write the file to a temporary name, fsync, rename, then write
    its marker. Exactly one of N concurrent callers writes; the others wait on
    the lock and find it complete. Nobody sees part of a file under its name.
    Raises InstallError for the directory or the write; what `produce` raises
    passes through.
    """
    path, marker = d / name, d / (name + MARKER_SUFFIX)
    try:
        d.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(d / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise InstallError("dir", e) from None
    try:
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                break
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno != errno.EINTR:
                    raise
        if is_complete(path, size):
            return False
        # We hold the lock: nobody else writes here.
        marker.unlink(missing_ok=True)
        for stale in (*d.glob(f".{name}.*.tmp"), *d.glob(f".{name}{MARKER_SUFFIX}.*.tmp")):
            stale.unlink(missing_ok=True)
        content = produce()
        try:
            atomic_write_bytes(path, content, mode=0o755)
            fsync_dir(d)
            atomic_write_bytes(marker, marker_text.encode())
            fsync_dir(d)
        except OSError as e:
            raise InstallError("write", e) from None
        return True
    finally:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        finally:
            os.close(lock_fd)
