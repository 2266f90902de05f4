"""What pyproject.toml promises an install."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _requirements(extra: str) -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = project["optional-dependencies"][extra]
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower(): r for r in reqs}


def test_build_extra_installs_numpy():
    """`pip install '.[build]'` printed "Failed to initialize NumPy" four times: torch warns in every process
    that imports it without numpy (the CLI and each compile worker), and nothing in [build] pulled numpy in."""
    assert "numpy" in _requirements("build")


def test_torch_without_numpy_warns_once_per_process():
    """The reason for the requirement above, checked against the installed torch: hide numpy, import torch."""
    code = "import sys; sys.modules['numpy'] = None\nimport torch"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Failed to initialize NumPy") == 1
    proc = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", "import torch"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "NumPy" not in proc.stderr, proc.stderr
