"""Exports stream: memory stays flat as the study grows, and the first bytes leave at once."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from app.exports.csv_export import csv_zip
from app.exports.odm_data import odm_data
from app.studies.models import Study
from app.studies.services import latest_version
from tests.conftest import login
from tests.support import bulk, factories

SMALL, LARGE = 100, 10_000


@pytest.fixture
def study_of(session, two_sites):
    factories.enrolled(session, two_sites["a"], "CS20AT04", date(2026, 1, 5),
                       two_sites["coord_a"], number="A01")  # loads the seed studies
    session.commit()
    study = session.scalar(select(Study).where(Study.code == "CS20AT04"))
    version = latest_version(session, study.id)

    def grow_to(n: int) -> None:
        have = session.scalar(select(bulk.func.count()).select_from(bulk.Participant))
        bulk.add_participants(session, version, two_sites["a"].id, two_sites["admin"].id,
                              n - have, date(2026, 1, 5), prefix=f"G{have}")
        session.commit()

    return grow_to


def _peak_bytes(engine, export=csv_zip, runs: int = 2) -> tuple[int, int]:
    """(peak traced allocation while exporting, rows exported): the least of a few runs,
    each from a collected heap, so that when the collector happens to run is not measured."""
    peaks, rows = [], Counter()
    for _ in range(runs):
        rows.clear()
        gc.collect()
        tracemalloc.start()
        try:
            for _chunk in export(engine, "CS20AT04", None, progress=lambda n: rows.update(n=n)):
                pass
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return min(peaks), rows["n"]


EXPORTS = {"csv": csv_zip, "odm": odm_data}


def test_memory_stays_flat_and_the_first_byte_leaves_at_once(app, client, study_of):
    """One generated study serves every measure (generating 10,000 participants is the
    slow part): peak memory at 10,000 participants against 100, then the first byte."""
    engine = app.extensions["db_engine"]
    study_of(SMALL)
    small = {}
    for name, export in EXPORTS.items():
        _peak_bytes(engine, export, runs=1)  # warm caches (built definitions, compiled SQL)
        small[name] = _peak_bytes(engine, export)
    study_of(LARGE)
    for name, export in EXPORTS.items():
        (small_peak, small_rows), (large_peak, large_rows) = small[name], _peak_bytes(engine,
                                                                                       export)
        print(f"{name}: peak traced memory {small_peak} B for {SMALL}, {large_peak} B for {LARGE}")
        assert large_rows > 90 * small_rows, name  # the export did grow with the study
        assert large_peak <= 1.2 * small_peak, (name, small_peak, large_peak)
    login(client, "root-admin")
    for fmt, magic in (("csv.zip", b"PK"), ("odm.xml", b"<?xml")):
        started = time.perf_counter()
        resp = client.get(f"/exports/CS20AT04.{fmt}", buffered=False)
        first = next(chunk for chunk in resp.response if chunk)
        elapsed = time.perf_counter() - started
        resp.close()
        assert first.startswith(magic), fmt
        assert elapsed < 2.0, (fmt, elapsed)
