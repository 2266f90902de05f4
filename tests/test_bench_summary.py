"""`aotgemm bench`'s summary (bench.summarize_rows) on rows made here, the points it times (bench.bench_points) and
how many rounds (bench._measure), and the timing of one graph replay (timing.replay_us) on stand-in events: no GPU
needed."""

import math
from types import SimpleNamespace

import pytest

from aotgemm import bench, timing
from aotgemm.bench import bench_points, summarize_rows


def _row(layer, m, us, cublas_us, floor_us, *, split=False, model=None):
    return {"layer": layer, "m": m, "split": split, "us": us, "cublas_us": cublas_us, "speedup": cublas_us / us,
            "model_speedup": model if model is not None else cublas_us / us, "floor_us": floor_us,
            "pct_of_floor": round(100 * floor_us / us, 1)}


def test_geomeans_are_over_buckets_and_the_worst_over_every_point():
    rows = [_row("o", 1, 5.0, 8.0, 3.0), _row("o", 16, 6.0, 7.5, 3.2), _row("o", 1024, 40.0, 40.0, 30.0),
            _row("o", 700, 40.0, 38.0, 20.0, split=True)]
    s = summarize_rows(rows, launch_us=1.0)
    assert s["geomean_speedup"] == pytest.approx((8 / 5 * 7.5 / 6 * 1.0) ** (1 / 3), abs=1e-4)
    assert s["geomean_speedup_m_le_16"] == pytest.approx(math.sqrt(8 / 5 * 7.5 / 6), abs=1e-4)
    assert s["splits"] == 1 and s["worst"]["m"] == 700  # a split point counts for the worst only
    assert s["min_pct_of_floor_m_le_16"] == 53.3


def test_launch_ceiling_adds_the_launch_to_each_floor():
    # a 13 MB bf16 weight at M = 1 streams in 3.1 us at 4.26 TB/s; with a 1 us launch no kernel gets past 76%
    rows = [_row("o", 1, 5.2, 7.8, 3.1), _row("gate_up", 1, 56.0, 60.0, 55.1)]
    s = summarize_rows(rows, launch_us=1.0)
    assert s["ceiling_speedup_m_le_16"] == pytest.approx(math.sqrt(7.8 / 3.1 * 60.0 / 55.1), abs=1e-4)
    assert s["ceiling_launch_speedup_m_le_16"] == pytest.approx(math.sqrt(7.8 / 4.1 * 60.0 / 56.1), abs=1e-4)
    assert s["ceiling_launch_speedup"] < s["ceiling_speedup"]
    assert s["max_pct_of_floor_m_le_16"] == 75.6
    assert s["launch_floor_us"] == 1.0
    # with no launch cost the two ceilings agree
    s0 = summarize_rows(rows, launch_us=0.0)
    assert s0["ceiling_launch_speedup"] == s0["ceiling_speedup"] and s0["max_pct_of_floor_m_le_16"] == 100.0


def test_pdl_figures_only_when_timed():
    rows = [dict(_row("o", 1, 5.0, 8.0, 3.0), pdl_model_speedup=1.2), dict(_row("o", 32, 6.0, 6.6, 4.0),
                                                                            pdl_model_speedup=1.05)]
    assert "geomean_pdl_model_speedup" not in summarize_rows(rows, 1.0)
    s = summarize_rows(rows, 1.0, pdl_writer=True)
    assert s["geomean_pdl_model_speedup"] == pytest.approx(math.sqrt(1.2 * 1.05), abs=1e-4)
    assert s["worst_pdl_model"]["m"] == 32


def test_replay_us_is_per_call_microseconds_between_the_events():
    from aotgemm.timing import replay_us

    log = []

    class Event:
        def __init__(self, name):
            self.name = name

        def record(self):
            log.append(f"record {self.name}")

        def synchronize(self):
            log.append(f"sync {self.name}")

        def elapsed_time(self, other):  # milliseconds, as torch.cuda.Event says
            return 0.5

    class Graph:
        def replay(self):
            log.append("replay")

    assert replay_us(Graph(), Event("start"), Event("end"), 20) == pytest.approx(25.0)  # 0.5 ms / 20 calls
    assert log == ["record start", "replay", "record end", "sync end"]


def test_points_are_the_buckets_and_where_a_split_kernel_starts_below_one():
    entries = {16: SimpleNamespace(kernel="k16", min_m=0), 128: SimpleNamespace(kernel="k128", min_m=112),
               4096: SimpleNamespace(kernel="k4096", min_m=4096),  # serves only M = 4096: no second point
               8192: SimpleNamespace(kernel="cublas", min_m=0)}
    assert bench_points(entries.get, (16, 128, 4096, 8192, 16384)) == [
        (16, 16), (128, 128), (112, 128), (4096, 4096), (8192, 8192), (16384, 16384)]


@pytest.mark.parametrize("spread,rounds", [(0.02, 15), (0.11, 45)])
def test_a_point_whose_rounds_spread_wide_is_timed_three_times_as_long(monkeypatch, spread, rounds):
    """_measure takes EXTRA_BATCHES more batches of rounds where either side's spread passes WIDE_SPREAD, and
    its medians over all of them; a narrow point keeps its `trials` rounds."""
    calls = []

    class Timer:
        def __init__(self, fn, ops, reps, model, writer_kind):
            self.fn = fn

    def interleaved(timers, trials, warmup=0):
        calls.append(trials)
        # cuBLAS 100 us with the given spread across rounds, the kernel 2% faster
        base = [100.0 * (1 + spread * (i / (trials - 1) - 0.5)) for i in range(trials)]
        return {k: [b / (1.02 if t.fn == "kernel" else 1.0) for b in base] for k, t in timers.items()}

    monkeypatch.setattr(timing, "GraphTimer", Timer)
    monkeypatch.setattr(timing, "interleaved", interleaved)
    c = bench._measure("kernel", "cublas", None, 1, 15, model=False)
    assert sum(calls) == rounds and c.cublas.trials == rounds and c.kernel.trials == rounds
    assert c.ratio_median == pytest.approx(1.02)
    calls.clear()
    c = bench._measure("cublas", "cublas", None, 1, 15, model=False)  # cuBLAS's own choice: timed once, ratio 1
    assert calls == [15] and c.ratio_median == 1.0


def test_the_ceilings_no_kernel_passes_are_at_the_fastest_read_known():
    """The floor is a copy's rate; a GEMM only reads, so the ceilings no kernel passes take the GPU model's
    fastest read (read_over_copy), or this run's best % of the floor where that is higher, and with either the
    measured speedups stay under them."""
    rows = [_row("o", 1, 5.0, 8.0, 3.0), _row("lm_head", 1, 220.0, 250.0, 240.0)]  # lm_head at 109% of the floor
    s = summarize_rows(rows, launch_us=1.0, read_over_copy=1.05)
    assert s["read_over_copy"] == pytest.approx(240 / 220, abs=1e-4)  # this run's best beats the model's figure
    r = s["read_over_copy"]
    assert s["ceiling_read_launch_speedup_m_le_16"] == pytest.approx(
        math.sqrt(8.0 / (3.0 / r + 1.0) * 250.0 / (240.0 / r + 1.0)), abs=1e-3)
    assert s["ceiling_read_speedup"] == pytest.approx(math.sqrt(8.0 * r / 3.0 * 250.0 * r / 240.0), abs=1e-3)
    assert s["ceiling_read_speedup"] > s["ceiling_speedup"]  # the copy-floor ceiling, which lm_head passes
    assert s["ceiling_read_speedup"] >= s["geomean_speedup"]
    slow = [_row("o", 1, 5.0, 8.0, 3.0)]  # nothing above the floor: the model's figure decides, never below 1
    assert summarize_rows(slow, 1.0, read_over_copy=1.09)["read_over_copy"] == 1.09
    assert summarize_rows(slow, 1.0)["read_over_copy"] == 1.0


def test_a_gpu_model_reads_faster_than_it_copies_only_where_measured():
    from aotgemm.gpus import gpu_model

    assert gpu_model("H200_SXM").read_over_copy == pytest.approx(4643 / 4253)
    assert gpu_model("B200").read_over_copy == 1.0
