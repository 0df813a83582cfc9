"""`make bench` end to end at toy size: every benchmark runs (in its quick form) against
its baseline on the local PostgreSQL and the document gets a section for each."""

import os
import shutil

import pytest

from app.config import INSTANCE_DIR
from bench import run
from tests.support import database

URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not database.is_postgres(URL),
                                reason="the benchmarks run on PostgreSQL (COPY, gunicorn)")


def test_every_benchmark_runs_and_is_reported(tmp_path):
    schema = f"bench_smoke_{os.getpid()}"
    output = tmp_path / "benchmarks.md"
    try:
        assert run.main(["--url", URL, "--schema", schema, "--sites", "16",
                         "--participants", "200", "--repeats", "1", "--quick",
                         "--output", str(output)]) == 0
    finally:
        database.drop_schema(URL, schema)
        shutil.rmtree(INSTANCE_DIR / "bench" / schema, ignore_errors=True)
    text = output.read_text()
    for title in ("CRF save", "Visit-status sweep", "Calendar month page", "export",
                  "reminders"):
        assert title.lower() in text.lower(), title
    assert "## Machine" in text and "| ratio (runs) |" in text
