"""What the GPU's clocks did while aotgemm timed kernels: sampled with nvidia-smi, summarised.

Why: large GEMMs on an H200 run power-capped (the driver lowers the SM clock to hold the board's power
limit), and how far differs between machines. One quack kernel at one compute-bound point ran 3-4% faster
than cuBLAS on capped GPUs and 1.5% slower on one with headroom, both kernels there at 97-99% of the peak
(bench/results/h200-2026-12-02/session22, calls B and C). `aotgemm tune` and `aotgemm bench` record this
summary in their JSON and print it, so a choice, or a close call, can be read against the GPU it was made on.

nvidia-smi ships with the driver. Where it is missing or fails, the summary says why and nothing else changes:
the timings never depend on it.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
from typing import Iterable

QUERY = ("clocks.sm", "clocks.max.sm", "power.draw", "power.limit", "clocks_throttle_reasons.active")
# nvidia-smi's clocks_throttle_reasons bits (nvmlClocksThrottleReason*)
GPU_IDLE = 0x1
SW_POWER_CAP = 0x4
INTERVAL_MS = 100


def summarize(lines: Iterable[str]) -> dict:
    """The summary of nvidia-smi's CSV samples of QUERY (noheader, nounits): over the samples where the GPU was
    busy (not throttled for idleness), the SM clock's p10, median and p90, the maximum clock, the median power
    draw and the limit, and the fraction where the software power cap was active (it can be while the clock is
    near its maximum: the driver reacts to power faster than nvidia-smi's averaged draw shows). Malformed lines
    are skipped."""
    rows = []
    for line in lines:
        f = [v.strip() for v in line.split(",")]
        if len(f) != len(QUERY):
            continue
        try:
            rows.append((float(f[0]), float(f[1]), float(f[2]), float(f[3]), int(f[4], 16)))
        except ValueError:
            continue
    busy = [r for r in rows if not r[4] & GPU_IDLE]
    if not busy:
        return {"samples": len(rows), "busy_samples": 0}
    sm = sorted(r[0] for r in busy)
    return {"samples": len(rows), "busy_samples": len(busy),
            "sm_mhz_p10": sm[int(0.1 * (len(sm) - 1))], "sm_mhz_median": statistics.median(sm),
            "sm_mhz_p90": sm[-1 - int(0.1 * (len(sm) - 1))], "sm_mhz_max": max(r[1] for r in busy),
            "power_w_median": round(statistics.median(r[2] for r in busy), 1), "power_limit_w": busy[-1][3],
            "power_capped": round(sum(1 for r in busy if r[4] & SW_POWER_CAP) / len(busy), 3)}


def describe(summary: dict, what: str) -> str:
    """One line for a person: what the clocks did while `what` ran."""
    if "unavailable" in summary:
        return f"GPU clocks while {what}: not sampled ({summary['unavailable']})"
    if not summary.get("busy_samples"):
        return f"GPU clocks while {what}: no busy sample of {summary.get('samples', 0)}"
    s = summary
    return (f"GPU clocks while {what}: SM {s['sm_mhz_p10']:.0f}-{s['sm_mhz_p90']:.0f} MHz (p10-p90), median "
            f"{s['sm_mhz_median']:.0f} of {s['sm_mhz_max']:.0f}; the software power cap active in "
            f"{100 * s['power_capped']:.0f}% of {s['busy_samples']} busy samples ({s['power_w_median']:.0f} W "
            f"median, {s['power_limit_w']:.0f} W limit)")


class ClockWatch:
    """Samples the GPU `device` (a UUID, as torch's device properties give it) every INTERVAL_MS while the
    `with` block runs; `summary` holds the result after it (summarize's, or {"unavailable": why})."""

    def __init__(self, device: str | None, *, command: str = "nvidia-smi") -> None:
        self.device, self.command = device, command
        self.summary: dict = {"unavailable": "not run"}
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "ClockWatch":
        exe = shutil.which(self.command)
        if exe is None:
            self.summary = {"unavailable": f"{self.command} not found"}
            return self
        device = self.device if not self.device or self.device.startswith("GPU-") else f"GPU-{self.device}"
        args = [exe, f"--query-gpu={','.join(QUERY)}", "--format=csv,noheader,nounits", f"-lms={INTERVAL_MS}"]
        try:
            self._proc = subprocess.Popen(args + ([f"--id={device}"] if device else []), stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
        except OSError as e:
            self.summary = {"unavailable": f"{self.command}: {e}"}
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            out, err = self._proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            out, err = self._proc.communicate()
        lines = out.splitlines()
        self.summary = summarize(lines)
        if not self.summary["samples"]:
            why = (err.strip().splitlines() or lines or ["no output"])[0][:160]
            self.summary = {"unavailable": f"{self.command} gave no sample: {why}"}


def device_uuid(torch, index: int) -> str | None:
    """GPU `index`'s UUID as torch reports it, or None where this torch does not."""
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    return str(uuid) if uuid is not None else None
