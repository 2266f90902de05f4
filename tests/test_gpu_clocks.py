"""gpu_clocks: what nvidia-smi said the GPU's clocks did while aotgemm tuned or benchmarked (CPU: a stand-in
nvidia-smi script on PATH plays the GPU)."""
import os
import stat
import time

from aotgemm.gpu_clocks import ClockWatch, describe, summarize

IDLE = "345, 1980, 79.4, 700.00, 0x0000000000000001"
CAPPED = ["1335, 1980, 699.1, 700.00, 0x0000000000000004", "1455, 1980, 683.0, 700.00, 0x0000000000000004",
          "1500, 1980, 690.2, 700.00, 0x0000000000000004"]
FREE = "1980, 1980, 512.5, 700.00, 0x0000000000000000"


def test_summary_counts_only_busy_samples_and_the_power_cap_among_them():
    s = summarize([IDLE, IDLE, *CAPPED, FREE, "garbage", "1, 2, 3", "[N/A], 1980, 1.0, 700.00, 0x0"])
    assert s["samples"] == 6 and s["busy_samples"] == 4
    assert s["power_capped"] == 0.75
    assert s["sm_mhz_median"] == (1455 + 1500) / 2 and s["sm_mhz_max"] == 1980
    assert (s["sm_mhz_p10"], s["sm_mhz_p90"]) == (1335, 1980)
    assert s["power_limit_w"] == 700.0 and s["power_w_median"] == round((683.0 + 690.2) / 2, 1)
    line = describe(s, "tuning")
    assert "median 1478 of 1980" in line and "power cap active in 75% of 4 busy samples" in line


def test_summary_of_an_idle_or_silent_gpu():
    assert summarize([IDLE, IDLE]) == {"samples": 2, "busy_samples": 0}
    assert "no busy sample of 2" in describe(summarize([IDLE, IDLE]), "benchmarking")
    assert "not sampled (nvidia-smi not found)" in describe({"unavailable": "nvidia-smi not found"}, "tuning")


def _fake_smi(tmp_path, body: str):
    exe = tmp_path / "bin" / "nvidia-smi"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_watch_samples_the_device_it_is_given_until_the_block_ends(tmp_path, monkeypatch):
    args = tmp_path / "args"
    lines = "\\n".join(CAPPED + [FREE])
    _fake_smi(tmp_path, f'echo "$@" > {args}\nprintf "{lines}\\n"\nexec sleep 30\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    t0 = time.monotonic()
    with ClockWatch("6a1b2c3d-0000-1111-2222-333344445555") as watch:
        time.sleep(0.3)
    assert time.monotonic() - t0 < 10, "the sampler was not stopped with the block"
    assert watch.summary["busy_samples"] == 4 and watch.summary["power_capped"] == 0.75
    called = args.read_text()
    assert "--id=GPU-6a1b2c3d-0000-1111-2222-333344445555" in called
    assert "--query-gpu=clocks.sm,clocks.max.sm,power.draw,power.limit,clocks_throttle_reasons.active" in called


def test_watch_says_why_it_has_no_samples(tmp_path, monkeypatch):
    with ClockWatch("x", command="no-such-nvidia-smi-here") as watch:
        pass
    assert watch.summary == {"unavailable": "no-such-nvidia-smi-here not found"}
    _fake_smi(tmp_path, 'echo "No devices were found" >&2\nexit 6\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with ClockWatch(None) as watch:
        time.sleep(0.2)
    assert watch.summary == {"unavailable": "nvidia-smi gave no sample: No devices were found"}
