"""patch / unpatch on a small CPU model."""

from __future__ import annotations

import copy
import io
import logging
import warnings

import pytest
import torch
from torch import nn

from aotgemm.runtime.patch import UNSERVED_REASONS, AotGemmLinear

try:
    from .test_runtime_fixtures import cache_dir, h100_facts, make_bundle, no_gpu_facts
except ImportError:
    from test_runtime_fixtures import cache_dir, h100_facts, make_bundle, no_gpu_facts

__all__ = ["cache_dir"]  # fixtures used here

bf16 = torch.bfloat16


class OwnForward(nn.Linear):
    """A Linear subclass with its own forward: must be left alone."""

    def forward(self, x):
        return super().forward(x) * 2


class PlainSubclass(nn.Linear):
    """A Linear subclass that keeps nn.Linear's forward: patched through a derived class."""

    tag = "plain"


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(128, 256, bias=False)        # bf16 (256, 128): held
        self.down = PlainSubclass(256, 128)              # bf16 (128, 256): held
        self.other = nn.Linear(128, 128)                 # bf16 (128, 128): not held
        self.scaled = OwnForward(128, 256, bias=False)   # held shape, own forward: skipped

    def forward(self, x):
        h = torch.relu(self.up(x))
        return self.down(h) + self.other(x) + self.scaled(x)[..., :128]


def make_model():
    torch.manual_seed(0)
    model = nn.Sequential(Block(), nn.Linear(128, 256)).to(bf16)
    model.append(nn.Linear(256, 64).float())  # float32: never held
    return model


@pytest.fixture
def loaded(tmp_path, cache_dir, clean_runtime):
    make_bundle(tmp_path / "s.agb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clean_runtime.load(tmp_path / "s.agb", strict=False, facts=h100_facts(tvm_ffi_version="9.9"))


def run(model, x):
    with torch.no_grad():
        return model[2](model[1](model[0](x)).float())


def test_patch_and_unpatch(loaded, clean_runtime, caplog):
    rt = clean_runtime
    model = make_model()
    x = torch.randn(3, 7, 128, dtype=bf16)
    before = run(model, x)
    state = {k: (v.data_ptr(), v.dtype, tuple(v.shape)) for k, v in model.state_dict().items()}
    forwards = {n: type(m).forward for n, m in model.named_modules()}

    with caplog.at_level(logging.WARNING, logger="aotgemm"):
        names = rt.patch(model)
    assert names == ["0.up", "0.down", "1"]
    # what patch left to torch, and why; the shape the bundle lacks is warned about, once, in one line
    assert [(u.name, u.dtype, u.n, u.k, u.reason) for u in rt.unserved(model)] == [
        ("0.other", "bfloat16", 128, 128, "shape not in the bundle"),
        ("0.scaled", "bfloat16", 256, 128, "not a plain nn.Linear"),
        ("2", "float32", 64, 256, "dtype not served")]
    assert set(UNSERVED_REASONS) >= {u.reason for u in rt.unserved(model)}
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "\n" not in warned[0] and warned[0].startswith(
        "patch(): 1 GEMM layer(s) have shapes s.agb does not hold, e.g. 0.other (bfloat16, N=128, K=128)")
    assert type(model[0].up) is AotGemmLinear and isinstance(model[0].up, nn.Linear)
    assert type(model[0].down) is not PlainSubclass and isinstance(model[0].down, PlainSubclass)
    assert type(model[0].down).__name__ == "PlainSubclass" and model[0].down.tag == "plain"
    assert type(model[0].scaled) is OwnForward and type(model[0].other) is nn.Linear
    assert {k: (v.data_ptr(), v.dtype, tuple(v.shape)) for k, v in model.state_dict().items()} == state
    assert rt.patch(model) == []  # idempotent

    torch.testing.assert_close(run(model, x), before, rtol=0, atol=0)
    s = rt.stats()
    assert s.total_hits == 0
    assert s.misses == {("bfloat16", 256, 128, 128, "environment mismatch"): 2,  # up and model[1]: M = 21
                        ("bfloat16", 128, 256, 128, "environment mismatch"): 1}

    assert rt.unpatch(model) == ["0.up", "0.down", "1"]
    assert {n: type(m).forward for n, m in model.named_modules()} == forwards
    assert type(model[0].up) is nn.Linear and type(model[0].down) is PlainSubclass
    assert {k: (v.data_ptr(), v.dtype, tuple(v.shape)) for k, v in model.state_dict().items()} == state
    rt.reset_stats()
    torch.testing.assert_close(run(model, x), before, rtol=0, atol=0)
    assert rt.stats().total_misses == 0  # no longer routed through the op
    assert rt.unpatch(model) == []


def test_patched_model_copies_and_saves(loaded, clean_runtime):
    model = make_model()
    clean_runtime.patch(model)
    x = torch.randn(2, 128, dtype=bf16)
    clone = copy.deepcopy(model)
    assert type(clone[1]) is AotGemmLinear
    torch.testing.assert_close(run(clone, x), run(model, x), rtol=0, atol=0)
    buf = io.BytesIO()
    torch.save(model[1], buf)  # a whole patched nn.Linear pickles (AotGemmLinear is importable)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    assert type(again) is AotGemmLinear
    sd = io.BytesIO()
    torch.save(model.state_dict(), sd)  # state_dict is plain tensors, loadable into an unpatched model
    sd.seek(0)
    fresh = make_model()
    fresh.load_state_dict(torch.load(sd))


def test_patch_with_explicit_bundle_and_without_one(tmp_path, cache_dir, clean_runtime):
    rt = clean_runtime
    assert rt.patch(make_model()) == []  # nothing loaded: nothing to route
    make_bundle(tmp_path / "s.agb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = rt.load(tmp_path / "s.agb", strict=False, activate=False, facts=no_gpu_facts())
    assert rt.active() is None
    assert rt.patch(make_model(), b) == ["0.up", "0.down", "1"]


def test_patched_model_under_torch_compile(loaded, clean_runtime):
    model = make_model()
    x = torch.randn(5, 128, dtype=bf16)
    want = run(model, x)
    clean_runtime.patch(model)
    compiled = torch.compile(model[:2], backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        got = model[2](compiled(x).float())
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert clean_runtime.stats().total_misses == 3


def test_activate_switches_bundles(tmp_path, cache_dir, clean_runtime):
    rt = clean_runtime
    make_bundle(tmp_path / "s.agb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = rt.load(tmp_path / "s.agb", strict=False, facts=no_gpu_facts())
        b = rt.load(tmp_path / "s.agb", strict=False, facts=no_gpu_facts())
    assert rt.active() is b
    a.activate()
    assert rt.active() is a and a.is_active and not b.is_active
    rt.unload()
    assert rt.active() is None and not a.is_active
