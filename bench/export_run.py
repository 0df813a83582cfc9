"""One export in a process of its own: its time, what it wrote, and its peak memory.

    python -m bench.export_run URL csv|odm [SITE_ID,…]

A fresh process, warmed up by an export of no site (connected, its SQL compiled), so that
nothing else (the benchmark's other runs, what the allocator kept of them) counts. The
kernel's high-water mark of the resident set is reset (Linux: /proc/self/clear_refs) just
before the export; the child prints, as JSON, the seconds the export took, its rows (CSV:
CRF instances and visits; ODM: ItemData elements), its bytes, and the high-water mark and
the resident set before the export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from app.config import PROJECT_ROOT
from app.exports.csv_export import csv_zip
from app.exports.odm_data import odm_data

STUDY = "UCMSC-LN"
STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Run:
    seconds: float
    rows: int
    size: int  # bytes of output
    peak: int = 0  # bytes: the highest resident set while exporting (0: not measured)
    before: int = 0  # bytes: the resident set when the export began

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.before)


def in_child(url: str, fmt: str, site_ids: frozenset[int] | None) -> Run:
    sites = ",".join(map(str, sorted(site_ids))) if site_ids is not None else ""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.export_run", url, fmt, sites],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the {fmt} export failed: {done.stderr[-2000:]}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


def consume(engine: Engine, fmt: str, site_ids: frozenset[int] | None) -> Run:
    """Run the export to its last chunk, counting what it wrote."""
    rows = size = 0

    def count(n: int) -> None:
        nonlocal rows
        rows += n

    began = time.perf_counter()
    if fmt == "csv":
        for chunk in csv_zip(engine, STUDY, site_ids, progress=count):
            size += len(chunk)
    else:
        for chunk in odm_data(engine, STUDY, site_ids):
            size += len(chunk)
            rows += chunk.count(b"<ItemData ")  # chunks hold whole elements
    return Run(time.perf_counter() - began, rows, size)


def _bytes(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def main(argv: list[str]) -> int:
    from bench import database

    url, fmt, sites = argv
    site_ids = frozenset(int(s) for s in sites.split(",")) if sites else None
    engine = database.engine(url)
    configure_mappers()
    consume(engine, fmt, frozenset())  # of no site: compiles the SQL, reads the definitions
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again here
    before = _bytes("VmRSS")
    done = consume(engine, fmt, site_ids)
    print(json.dumps({"seconds": done.seconds, "rows": done.rows, "size": done.size,
                      "peak": _bytes("VmHWM"), "before": before}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
