"""Figures, baselines and ratios: every benchmark measures the application and its baseline
in the same run, interleaved (A B, B A, A B, …), so that a slow moment of the machine falls
on both, and reports each figure as min/median/max over the repeats."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine


@dataclass
class Context:
    """What every benchmark gets: the generated network's database and how long to run."""

    url: str  # the prepared database (PostgreSQL URL with its schema, or SQLite)
    engine: Engine
    repeats: int
    quick: bool  # a small smoke run (the test suite): shorter runs, fewer rows
    workdir: Path  # scratch files
    progress: Callable[[str], None] = print


@dataclass
class Figure:
    """One measured quantity over repeats, e.g. seconds per sweep or saves per second."""

    unit: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> tuple[float, float, float]:
        return min(self.samples), self.median, max(self.samples)


@dataclass(frozen=True)
class Goal:
    """The ratio app/baseline the issue asks for: at most (`at_most`) or at least."""

    limit: float
    at_most: bool = True

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.at_most else ratio >= self.limit

    def describe(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}×"


@dataclass
class Comparison:
    """The application against its baseline for one figure."""

    name: str
    app: Figure
    baseline: Figure
    goal: Goal | None = None
    baseline_name: str = "baseline"

    @property
    def ratio(self) -> float:
        return self.app.median / self.baseline.median if self.baseline.median else float("inf")

    def run_ratios(self) -> tuple[float, float]:
        """The lowest and highest ratio of the runs, paired repeat by repeat."""
        pairs = [a / b for a, b in zip(self.app.samples, self.baseline.samples, strict=False)
                 if b]
        return (min(pairs), max(pairs)) if pairs else (float("nan"), float("nan"))

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.ratio)


@dataclass
class Result:
    """What one benchmark reports: its comparisons, other figures, and what they mean."""

    key: str
    title: str
    setup: str
    comparisons: list[Comparison] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)  # name → value as text
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def interleave(repeats: int, app: Callable[[], float], baseline: Callable[[], float],
               app_figure: Figure, baseline_figure: Figure,
               progress: Callable[[str], None] | None = None) -> None:
    """Run both `repeats` times, alternating which goes first; each returns its figure."""
    for n in range(repeats):
        order = ((app, app_figure), (baseline, baseline_figure))
        for run, figure in order if n % 2 == 0 else reversed(order):
            figure.samples.append(run())
        if progress:
            progress(f"    repeat {n + 1}/{repeats}: app {app_figure.samples[-1]:.4g} "
                     f"{app_figure.unit}, baseline {baseline_figure.samples[-1]:.4g} "
                     f"{baseline_figure.unit}")


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """`with stopwatch() as elapsed: …`; elapsed() is the seconds since entering."""
    began = time.perf_counter()
    done: list[float] = []
    yield lambda: done[0] if done else time.perf_counter() - began
    done.append(time.perf_counter() - began)


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 for p95)."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]
