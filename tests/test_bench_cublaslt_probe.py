"""bench/cublaslt_algo_probe.py's CPU half: the point list it parses, the table it prints from a run's rows (the
fastest candidate per point, those left untimed counted), and its one-line refusal to build without a toolkit."""

from __future__ import annotations

import shutil

import pytest

from script_modules import load_script


def _probe():
    return load_script("bench/cublaslt_algo_probe.py")


def test_points_parse_dtype_aliases_and_sizes():
    probe = _probe()
    assert probe.parse_points("e4m3:1792:5120:128,bf16:8192:1024:64") == [
        ("float8_e4m3fn", 1792, 5120, 128), ("bfloat16", 8192, 1024, 64)]
    # the default points are the manifests' mid-M weights in both dtypes, and two controls
    assert len(probe.POINTS) == 44 and ("bfloat16", 28672, 4096, 16) in probe.POINTS


def test_report_names_the_fastest_candidate_and_counts_the_untimed():
    probe = _probe()
    rows = [{"dtype": "float8_e4m3fn", "n": 1792, "k": 5120, "m": 256, "stock_us": 9.58, "stock_model_us": 11.0,
             "candidates": [
                 {"index": 0, "config": "id66 tile15", "error": 1e-3, "us": 9.6, "ratio": 0.998, "model_ratio": 1.0},
                 {"index": 1, "config": "id66 tile104", "error": 1e-3, "us": 8.71, "ratio": 1.099,
                  "model_ratio": 1.08},
                 {"index": 2, "config": "id66 tile7", "error": 0.5}]},
            {"dtype": "bfloat16", "n": 64, "k": 64, "m": 1, "error": "lt_setup returned 0"}]
    lines = probe.report(rows).splitlines()
    assert lines[2].startswith("e4m3 1792x5120 M=256")
    assert "8.71" in lines[2] and "1.099" in lines[2] and "1.080" in lines[2] and "tile104" in lines[2]
    assert "9.60" in lines[2]  # the heuristic's first candidate, beside the stock call
    assert "(1 not timed: off or failed)" in lines[2]
    assert lines[3].split() == ["bf16", "64x64", "M=1", "lt_setup", "returned", "0"]


def test_build_without_nvcc_says_what_is_missing(monkeypatch):
    probe = _probe()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="no nvcc on PATH"):
        probe.build("/tmp/never-written.so")
