"""`aotgemm bench`'s summary (bench.summarize_rows) on rows made here, and the timing of one graph replay
(timing.replay_us) on stand-in events: no GPU needed."""

import math

import pytest

from aotgemm.bench import summarize_rows


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
