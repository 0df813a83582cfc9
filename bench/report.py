"""docs/benchmarks.md: the machine, the network, and each benchmark's figures against its
baseline. The part under "Profiles and fixes" is written by people and kept as it is."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import Engine, text

from bench.harness import Comparison, Result

KEPT = "<!-- written by hand below: make bench keeps it -->"
PACKAGES = ("flask", "sqlalchemy", "psycopg", "jinja2", "werkzeug", "pint", "gunicorn",
            "aiosmtpd")


def machine(engine: Engine) -> list[tuple[str, str]]:
    rows = [("CPU", f"{_cpu()} × {os.cpu_count()}"), ("Memory", _memory()),
            ("System", f"{platform.system()} {platform.release()}"),
            ("Python", platform.python_version())]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            rows.append(("PostgreSQL", conn.scalar(text("SHOW server_version"))))
    else:
        rows.append(("SQLite", sqlite3.sqlite_version))
    rows.append(("Packages", ", ".join(f"{p} {_version(p)}" for p in PACKAGES)))
    return rows


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        return f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _spread(comparison_figure) -> str:
    low, mid, high = comparison_figure.spread()
    return f"{_number(low)} / **{_number(mid)}** / {_number(high)}"


def _row(c: Comparison) -> str:
    low, high = c.run_ratios()
    verdict = "—" if c.met is None else ("met" if c.met else "**missed**")
    goal = c.goal.describe() if c.goal else "—"
    return (f"| {c.name} | {_spread(c.app)} | {c.baseline_name}: {_spread(c.baseline)} | "
            f"**{c.ratio:.2f}×** ({low:.2f}–{high:.2f}) | {goal} | {verdict} |")


def section(result: Result) -> list[str]:
    lines = [f"### {result.title}", "", result.setup, "",
             "| figure | application min / **median** / max | baseline min / **median** / max "
             "| ratio (runs) | goal | |", "|---|---|---|---|---|---|"]
    lines += [_row(c) for c in result.comparisons]
    if result.figures:
        lines += ["", *[f"- {name}: {value}" for name, value in result.figures.items()]]
    if result.notes:
        lines += ["", *[f"- {note}" for note in result.notes]]
    lines += ["", f"_{result.seconds:.0f} s for this benchmark._", ""]
    return lines


def write(path: Path, results: list[Result], engine: Engine, network: str,
          total_seconds: float, repeats: int, rerun: list[str] | None = None) -> None:
    kept = _kept(path)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m bench.run`); every figure is measured against "
             "a baseline in the same run, the two interleaved (A B, B A, …), as min / "
             f"**median** / max over {repeats} repeats. A ratio is application ÷ baseline of "
             "the medians, with the lowest and highest ratio of the paired runs in brackets.",
             "", _when(stamp, total_seconds, rerun), "",
             "## Machine", "", "| | |", "|---|---|",
             *[f"| {k} | {v} |" for k, v in machine(engine)], "", "## Network", "", network, "",
             "## Results", ""]
    for result in results:
        lines += section(result)
    lines += [KEPT, kept]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def _when(stamp: str, seconds: float, rerun: list[str] | None) -> str:
    if not rerun:
        return f"Run of {stamp}, {seconds / 60:.1f} minutes in all."
    return (f"{', '.join(rerun)} run again on {stamp} ({seconds / 60:.1f} minutes, network "
            "reused); the other sections are from the last run of each: see its seconds.")


def _kept(path: Path) -> str:
    if not path.exists():
        return "\n## Profiles and fixes\n"
    _, marker, rest = path.read_text(encoding="utf-8").partition(KEPT)
    return rest if marker else "\n## Profiles and fixes\n"
