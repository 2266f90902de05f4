"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest


@pytest.fixture
def clean_runtime():
    """No bundle active and zeroed stats, before and after the test."""
    import aotgemm.runtime as rt

    rt.unload()
    rt.reset_stats()
    yield rt
    rt.unload()
    rt.reset_stats()
