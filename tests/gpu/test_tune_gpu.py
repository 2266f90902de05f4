"""The tuner on a real GPU, with only the runtime side (torch + tvm_ffi; the bundle was built elsewhere).

    AOTGEMM_TEST_BUNDLE=artifacts/model.agb pytest tests/gpu/test_tune_gpu.py

- a planted wrong kernel (faster than anything: it writes zeros) is excluded and never selected;
- `aotgemm tune` rewrites only this GPU's target, records who tuned it, and a second tune is allowed.
"""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BUNDLE = os.environ.get("AOTGEMM_TEST_BUNDLE")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(not BUNDLE, reason="set AOTGEMM_TEST_BUNDLE to a bundle with a target for this GPU"),
]


def _target():
    from aotgemm.bundle import open_bundle
    from aotgemm.gpus import identify

    p = torch.cuda.get_device_properties(0)
    model = identify(p.name, p.multi_processor_count, (p.major, p.minor))
    b = open_bundle(BUNDLE, verify_blobs=True)
    t = b.index.target(model.name) if model else None
    if t is None:
        pytest.skip(f"{BUNDLE} has no target for {p.name}")
    return b, t


def test_planted_wrong_kernel_is_never_selected(monkeypatch):
    from aotgemm import timing
    from aotgemm.tune import tune_target

    b, t = _target()
    # One problem, three buckets, is enough: keep the entries of the first layer's small buckets.
    first = t.dispatch[0].problem
    entries = tuple(e for e in t.dispatch if e.problem == first and e.ranked)[:3]
    target = dataclasses.replace(t, dispatch=entries)
    wrong_symbol = entries[0].ranked[0]
    real = timing.kernel_call

    def planting(fn, problem):
        if fn is planted_fn:
            return lambda x, w, out, extras: out.zero_()
        return real(fn, problem)

    mod = timing.load_kernel_library(b.blob(t.library), t.env["link_mode"])
    planted_fn = mod.get_function(wrong_symbol)

    class Module:  # hands the tuner the planted function object for the wrong symbol
        def get_function(self, s):
            return planted_fn if s == wrong_symbol else mod.get_function(s)

    monkeypatch.setattr(timing, "kernel_call", planting)
    tuned, log = tune_target(target, Module(), b.index.layers, trials=5)
    assert wrong_symbol in [e[0] for e in log.excluded]
    assert all(e.kernel != wrong_symbol for e in tuned.dispatch)
    assert all(e.decided_by == "tuned" and e.cublas_us for e in tuned.dispatch)


def test_aotgemm_tune_rewrites_only_this_gpus_target(tmp_path):
    from aotgemm.bundle import open_bundle

    b, t = _target()
    out = tmp_path / "tuned.agb"
    r = subprocess.run([sys.executable, "-m", "aotgemm.cli", "tune", BUNDLE, "-o", str(out), "--trials", "5"],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{t.gpu} tuned on" in r.stdout
    tuned = open_bundle(out, verify_blobs=True).index
    for before in b.index.targets:
        after = tuned.target(before.gpu)
        if before.gpu == t.gpu:
            assert all(e.decided_by == "tuned" and e.cublas_us for e in after.dispatch)
            assert after.env["tuned_on"] == torch.cuda.get_device_name(0) and after.env["tuned_at"]
            assert after.kernels == before.kernels
        else:
            assert after == before  # other GPU models untouched
    log = json.loads(out.with_suffix(".tune.json").read_text())  # every decision, with its finalists
    assert len(log["rows"]) == len(t.dispatch) and log["device"] == torch.cuda.get_device_name(0)
    assert all(r["chosen"] == "cublas" or r["chosen"] in {s for s, _ in r["finalists"]} for r in log["rows"])
    again = subprocess.run([sys.executable, "-m", "aotgemm.cli", "tune", str(out), "-o", str(out), "--trials", "5"],
                           capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "changed" in again.stdout
    json.dumps(open_bundle(out).index.to_obj())  # still a valid bundle
