"""What a build did, for the CLI to print: per target and in total."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TargetReport:
    gpu: str
    candidates: int = 0
    kernels: int = 0
    compiled: int = 0
    cache_hits: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (kernel, error)
    tuned: bool = False
    tune_seconds: float = 0.0
    library_bytes: int = 0
    by_source: dict[str, int] = field(default_factory=dict)  # kernels per source
    tune_log: object | None = None  # tune.TuneLog of a tuned target


@dataclass
class BuildReport:
    output: Path
    targets: list[TargetReport]
    rank_seconds: float = 0.0
    compile_seconds: float = 0.0
    link_seconds: float = 0.0
    tune_seconds: float = 0.0
    total_seconds: float = 0.0
    bundle_bytes: int = 0
    memo_hits: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def compiled(self) -> int:
        return sum(t.compiled for t in self.targets)

    @property
    def cache_hits(self) -> int:
        return sum(t.cache_hits for t in self.targets)

    def summary(self) -> str:
        lines = [f"wrote {self.output} ({self.bundle_bytes / 1024:.0f} KiB)"]
        for t in self.targets:
            sources = ", ".join(f"{n} {c}" for n, c in sorted(t.by_source.items()))
            lines.append(
                f"  {t.gpu}: {t.kernels} kernels ({sources}) from {t.candidates} candidates; compiled {t.compiled}, "
                f"cache hits {t.cache_hits}, failed {len(t.failures)}; library {t.library_bytes / 1024:.0f} KiB; "
                + ("tuned on this GPU" if t.tuned else "dispatch by heuristic (untuned)"))
            for name, err in t.failures:
                lines.append(f"    FAILED {name}: {err.splitlines()[0] if err else ''}")
        lines.append(f"  time: rank {self.rank_seconds:.1f} s, compile {self.compile_seconds:.1f} s, "
                     f"link {self.link_seconds:.1f} s, tune {self.tune_seconds:.1f} s, "
                     f"total {self.total_seconds:.1f} s")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def progress(total: int, label: str):
    """(step, stop): a progress bar on a terminal, plain log lines otherwise."""
    if total and sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        transient=False)
        task = prog.add_task(label, total=total)
        prog.start()

        def step(r) -> None:
            prog.advance(task)
            if not r.ok:
                prog.console.print(f"[red]failed[/red] {r.task.spec.short_name()}: {(r.error or '').splitlines()[0]}")

        return step, prog.stop
    done = [0]

    def step(r) -> None:
        done[0] += 1
        state = "cached" if r.cached else ("ok" if r.ok else "FAILED")
        print(f"[{label}] {done[0]}/{total} {state} {r.task.spec.short_name()} ({r.seconds:.1f} s)"
              + (f": {(r.error or '').splitlines()[0]}" if not r.ok else ""), file=sys.stderr, flush=True)

    return step, lambda: None
