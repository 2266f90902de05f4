"""The committed results stay small enough for a GPU call to carry the tree (scripts/pack_results.py), and the
packed ones stay readable (bench/results_io.py)."""

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from script_modules import load_script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

pack_results = load_script("scripts/pack_results.py")
needs_git = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                               reason="needs a git checkout (the tracked files are what a GPU call carries)")


@needs_git
def test_no_large_text_result_is_left_unpacked():
    left = pack_results.to_pack(ROOT)
    assert not left, (f"{len(left)} results over their size limits ({pack_results.PACK_BYTES}) are not gzipped; run "
                      f"`python scripts/pack_results.py` and commit: {[str(p.relative_to(ROOT)) for p in left[:5]]}")


@needs_git
def test_every_committed_plot_is_on_a_palette():
    left = pack_results.plots_to_compact(ROOT)
    assert not left, (f"{len(left)} plots are RGBA; run `python scripts/pack_results.py` and commit: "
                      f"{[str(p.relative_to(ROOT)) for p in left[:5]]}")


def test_a_compacted_plot_keeps_its_size_and_its_colours(tmp_path):
    """compact_png (what `aotgemm bench` writes, and pack_results applies to older plots): the same picture on a
    palette, at its size, with a colour type byte (3) that tells pack_results it is done."""
    pytest.importorskip("matplotlib")
    from PIL import Image

    from aotgemm.bench import PLOT_COLORS, _plot, compact_png

    rows = [{"layer": layer, "m": m, "model_speedup": 1 + 0.1 * i / (1 + m)}
            for i, layer in enumerate(("qkv", "o", "down")) for m in (1, 2, 4, 64, 4096)]
    path = tmp_path / "plot.png"
    _plot(rows, path, "NVIDIA H200")
    im = Image.open(path)
    assert im.mode == "P" and im.size == (960, 540) and len(im.getcolors()) <= PLOT_COLORS
    assert path.read_bytes()[25] == 3  # the colour type pack_results reads
    # an RGBA rendering of the same kind compacts to a palette of at most PLOT_COLORS, pixel for pixel close
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (64, 32), (255, 255, 255, 255)).save(rgba)
    small = Image.open(io.BytesIO(compact_png(rgba.read_bytes())))
    assert small.mode == "P" and small.size == (64, 32) and small.convert("RGB").getpixel((3, 3)) == (255, 255, 255)


@needs_git
def test_tracked_tree_leaves_room_in_a_gpu_call():
    total = sum(p.stat().st_size for p in pack_results.tracked(ROOT) if p.exists())
    assert total < pack_results.TREE_BUDGET_MIB * 2**20, (
        f"tracked files take {total / 2**20:.1f} MiB; a GPU call carries at most 64 MiB with its wheels and "
        f"bundles: pack or drop results")


def test_pack_is_deterministic_and_read_back(tmp_path):
    from results_io import read_json, read_text

    data = {"rows": [{"m": m, "us": 1.5 * m} for m in range(3000)]}
    a, b = tmp_path / "a" / "probe.json", tmp_path / "b" / "probe.json"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text(json.dumps(data))
    pa, pb = pack_results.pack(a), pack_results.pack(b)
    assert not a.exists() and pa.name == "probe.json.gz"
    assert pa.read_bytes() == pb.read_bytes()  # no name or time in the header: a repack changes nothing
    assert gzip.decompress(pa.read_bytes()) == json.dumps(data).encode()
    # readers take the packed file by its old name or its own
    assert read_json(a) == data and read_json(pa) == data
    plain = tmp_path / "t.txt"
    plain.write_text("table\n")
    assert read_text(plain) == "table\n"


def test_a_failed_pack_keeps_the_original_and_leaves_nothing_behind(tmp_path, monkeypatch):
    src = tmp_path / "probe.log"
    src.write_text("x" * 40_000)

    def full_disk(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        pack_results.pack(src)
    assert [p.name for p in tmp_path.iterdir()] == ["probe.log"] and src.read_text() == "x" * 40_000


@needs_git
def test_check_mode_changes_nothing(tmp_path):
    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    pack_results.main(["--check"])
    assert subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout == before
