"""examples/hf/patch_and_generate.py --smoke: the transformers example runs end to end on the CPU (a tiny Llama, or a
tiny Gemma 2 with --config, a bundle generated from its from-hf manifest, loaded in fallback): logits and greedy tokens
as unpatched, every GEMM of the model covered by the manifest's shapes, what was served printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("config, first", [
    # 2 layers: the attention (q/k/v merged, o_proj hooked), the MLP, the decoder layer, o_proj, down_proj,
    # q_proj (here o_proj's shape too), the lm_head
    (None, "tiny.agb: patched 13 modules of a 2-layer LlamaForCausalLM"),
    # Gemma 2: no decoder layer (its post-norms keep the residual adds out of the GEMMs)
    ("gemma-2-9b-config.json", "tiny.agb: patched 11 modules of a 2-layer Gemma2ForCausalLM")])
def test_patch_and_generate_smoke(tmp_path, config, first):
    pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "AOTGEMM_CACHE_DIR": str(tmp_path / "cache")}
    extra = ["--config", str(REPO / "examples" / "hf" / config)] if config else []
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "hf" / "patch_and_generate.py"), "--smoke", *extra],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    assert out[0] == first
    assert any(line.startswith("prompt logits against the unpatched model's: relative error") and "(ok)" in line
               and line.endswith("the same for the first 8 of 8") for line in out), out  # on the CPU: the same
    assert "GEMM layers no kernel serves: 0" in out  # the from-hf manifest covers every GEMM of the model
    assert any(line.startswith("GEMM calls: 0 served by bundle kernels") and "environment mismatch" in line
               for line in out)
