"""Exports stream: memory stays flat as the study grows, and the first bytes leave at once."""

from __future__ import annotations

import time
import tracemalloc
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


def _peak_bytes(engine, export=csv_zip) -> tuple[int, int]:
    """(peak traced allocation while exporting, rows exported)."""
    rows = []
    tracemalloc.start()
    try:
        for _chunk in export(engine, "CS20AT04", None, progress=rows.append):
            pass
        return tracemalloc.get_traced_memory()[1], sum(rows)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("export", [csv_zip, odm_data], ids=["csv", "odm"])
def test_memory_is_flat_from_100_to_10000_participants(app, study_of, export):
    engine = app.extensions["db_engine"]
    study_of(SMALL)
    _peak_bytes(engine, export)  # warm caches (built definitions, compiled SQL) first
    small_peak, small_rows = _peak_bytes(engine, export)
    study_of(LARGE)
    large_peak, large_rows = _peak_bytes(engine, export)
    assert large_rows > 90 * small_rows  # the export did grow with the study
    print(f"peak traced memory: {small_peak} B for {SMALL}, {large_peak} B for {LARGE}")
    assert large_peak <= 1.2 * small_peak, (small_peak, large_peak)


@pytest.mark.parametrize("fmt,magic", [("csv.zip", b"PK"), ("odm.xml", b"<?xml")])
def test_first_byte_within_two_seconds(app, client, study_of, fmt, magic):
    study_of(LARGE)
    login(client, "root-admin")
    started = time.perf_counter()
    resp = client.get(f"/exports/CS20AT04.{fmt}", buffered=False)
    first = next(chunk for chunk in resp.response if chunk)
    elapsed = time.perf_counter() - started
    resp.close()
    assert first.startswith(magic)
    assert elapsed < 2.0, elapsed
