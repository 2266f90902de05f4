"""bench/epilogue_block.py --smoke --compiled: the lead's GPU benchmark script runs end to end on the CPU
(tiny Llama config, generated bundle loaded in fallback, no AOTInductor, the four torch.compile rows),
writes its JSON and table, and the patched layer's output equals the unpatched one's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_smoke_mode_runs_and_reports(tmp_path):
    pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    out = tmp_path / "block.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "epilogue_block.py"), "--smoke", "--compiled",
                           "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] and report["bundle_fallback"]
    assert {"layer", "layer.mlp", "layer.self_attn"} <= set(report["patched_modules"])
    assert [r["m"] for r in report["results"]] == [1, 5, 16]
    for res in report["results"]:
        rows = res["rows"]
        assert set(rows) == {"eager", "eager-patched", "compiled", "compiled-patched", "compiled-pdl",
                             "compiled-pdl-patched"}
        assert rows["eager"]["rel_err"] == 0
        for row in ("eager-patched", "compiled-patched", "compiled-pdl-patched"):
            assert rows[row]["rel_err"] < 1e-2, row
            hits = rows[row]["hits"]
            # fallback on the CPU, every call a miss. Eager: the fused q/k/v, o + residual, the fused gate_up and
            # down + residual. Compiled: no kernel serves any M of a fallback bundle, so the graph holds the
            # MLP's GEMMs as aotgemm_linear (gate and up apart) and its epilogues in Inductor's code
            # (unfused_when_compiled); q/k/v stay one GEMM
            compiled = row.startswith("compiled")
            misses = 5 if compiled else 4
            assert hits["hits"] == 0 and hits["misses"] == misses
            assert hits["by_reason"] == {"environment mismatch": misses}
            assert hits["fused"] == ([] if compiled else ["residual_add", "swiglu"]), row
        for row in ("compiled", "compiled-pdl"):  # Inductor's code (its bf16 rounding, not eager's)
            assert rows[row]["rel_err"] < 1e-2 and rows[row]["hits"] is None, row
        assert all(t > 0 for row in rows.values() for t in row["ms"])
    # Inductor's PDL is CUDA-only: on the CPU no generated module releases a dependent
    assert report["pdl_sites"] == dict.fromkeys(("compiled", "compiled-patched", "compiled-pdl",
                                                 "compiled-pdl-patched"), 0)
    assert report["table"].splitlines()[0].startswith("| M |") and report["table"] in proc.stdout
