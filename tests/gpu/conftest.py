"""Tests under tests/gpu need an NVIDIA GPU: they carry the `gpu` marker and are skipped without CUDA.

Run them on a GPU machine with `pytest -m gpu tests/gpu`. Without a GPU (CI)
every test here is collected and reported as skipped, with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

_HERE = Path(__file__).resolve().parent


def _no_cuda_reason() -> str | None:
    if torch.version.cuda is None:
        return f"needs a CUDA GPU: torch {torch.__version__} is a CPU-only build"
    if not torch.cuda.is_available():
        return "needs a CUDA GPU: torch.cuda.is_available() is False (no CUDA device visible)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _no_cuda_reason()
    for item in items:
        try:
            Path(str(item.path)).resolve().relative_to(_HERE)
        except ValueError:
            continue  # a test outside tests/gpu
        item.add_marker(pytest.mark.gpu)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
