"""Generate a trial network: `python -m bench.generate --sites 40 --participants 100000`.

Builds the database with the migrations (a PostgreSQL schema of its own, or a SQLite file),
loads the four studies and BENCH40, creates sites and staff through the application's
services, then writes participants in chunks: their screenings, events, visits, deviations
and randomization, and for the participants of `--crf-study` the CRFs of every done visit
with their audit trail. Everything is drawn from one seed: the same arguments give the same
network.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditChain
from app.domain.audit import GENESIS
from app.participants.models import SiteSequence
from app.randomization.models import RandomizationScheme
from bench import crfdata, database, histories
from bench.network import Network, Shape, build

CHUNK = 2000  # participants written per transaction
TABLES = ("screenings", "participants", "participant_events", "visits", "deviations",
          "randomization_assignments", "crf_entries", "item_values", "audit_events")


@dataclass
class Summary:
    participants: int = 0
    visits: int = 0
    crf_entries: int = 0
    item_values: int = 0
    audit_rows: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.participants:,} participants, {self.visits:,} visits, "
                f"{self.crf_entries:,} CRFs, {self.item_values:,} values, "
                f"{self.audit_rows:,} audit rows in {self.seconds:.0f} s")


Progress = Callable[[str], None]


def generate(url: str, shape: Shape, progress: Progress = print) -> Summary:
    """Build the network into the prepared database at `url`."""
    began = time.perf_counter()
    engine = database.engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            network = build(session, shape)
            _randomization_seeds(session, network)
            session.commit()
        with engine.begin() as conn:
            ids = histories.Ids({t: database.next_id(conn, t) for t in TABLES})
            head = conn.scalar(select(AuditChain.last_hash).where(AuditChain.id == 1))
        summary = _participants(engine, shape, network, ids, crfdata.Chain(head or GENESIS),
                                progress)
        with engine.begin() as conn:
            database.advance_sequences(conn, TABLES)
            database.analyze(conn)
    finally:
        engine.dispose()
    summary.seconds = time.perf_counter() - began
    return summary


def _randomization_seeds(session: Session, network: Network) -> None:
    for code, protocol in network.protocols.items():
        if protocol.study.randomization is not None:
            session.add(RandomizationScheme(study_id=network.versions[code].study_id,
                                            seed=histories.RANDOMIZATION_SEED,
                                            created_by_id=network.data_manager))


def _participants(engine, shape: Shape, network: Network, ids: histories.Ids,
                  chain: crfdata.Chain, progress: Progress) -> Summary:
    cohort = histories.Cohort(shape, network, ids)
    filler = crfdata.Filler(crfdata.Pools(shape.seed), ids, chain,
                            {s: staff.coordinator for s, staff in network.staff.items()},
                            {site.id: n for n, site in enumerate(network.sites)},
                            {code: v.id for code, v in network.versions.items()})
    studies = cohort.studies()
    summary = Summary()
    for first in range(0, len(studies), CHUNK):
        chunk = studies[first:first + CHUNK]
        lives = [cohort.life(study) for study in chunk]
        for life in lives:
            if shape.crf_study in (life.study, "all"):
                filler.fill(life, network.protocols[life.study].forms)
        with engine.begin() as conn:
            _write(conn, lives, filler, summary)
            _chain_head(conn, chain.head)
        progress(f"  {summary.participants:,} / {len(studies):,} participants, "
                 f"{summary.visits:,} visits, {summary.item_values:,} CRF values")
    with engine.begin() as conn:
        _sequences(conn, cohort)
    return summary


def _write(conn: Connection, lives: list[histories.Life], filler: crfdata.Filler,
           summary: Summary) -> None:
    write = database.write_rows
    write(conn, "screenings", histories.SCREENING_COLUMNS, (life.screening for life in lives))
    summary.participants += write(conn, "participants", histories.PARTICIPANT_COLUMNS,
                                  (life.participant for life in lives))
    write(conn, "participant_events", histories.EVENT_COLUMNS,
          (row for life in lives for row in life.events))
    summary.visits += write(conn, "visits", histories.VISIT_COLUMNS,
                            (row for life in lives for row in life.visits))
    write(conn, "deviations", histories.DEVIATION_COLUMNS,
          (row for life in lives for row in life.deviations))
    write(conn, "randomization_assignments", histories.ASSIGNMENT_COLUMNS,
          (life.assignment for life in lives if life.assignment))
    entries, values, audit = filler.take()
    summary.crf_entries += write(conn, "crf_entries", crfdata.ENTRY_COLUMNS, entries)
    summary.item_values += write(conn, "item_values", crfdata.VALUE_COLUMNS, values)
    summary.audit_rows += write(conn, "audit_events", crfdata.AUDIT_COLUMNS, audit)


def _chain_head(conn: Connection, head: str) -> None:
    """The chain head follows the rows written, in the same transaction."""
    if conn.execute(update(AuditChain).where(AuditChain.id == 1)
                    .values(last_hash=head)).rowcount == 0:
        conn.execute(AuditChain.__table__.insert().values(id=1, last_hash=head))


def _sequences(conn: Connection, cohort: histories.Cohort) -> None:
    """Participant numbers (and randomization positions) continue after the generated ones."""
    rows = []
    for (site_id, study), number in cohort.numbers.items():
        study_id = cohort.network.versions[study].study_id
        rows.append({"site_id": site_id, "study_id": study_id, "name": "participant",
                     "last_value": number})
        if cohort.network.protocols[study].study.randomization is not None:
            rows.append({"site_id": site_id, "study_id": study_id, "name": "randomization",
                         "last_value": number})
    if rows:
        conn.execute(SiteSequence.__table__.insert(), rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=database.DEFAULT_URL, help="database (SQLAlchemy URL)")
    parser.add_argument("--schema", default=database.SCHEMA, help="PostgreSQL schema to use")
    parser.add_argument("--sites", type=int, default=Shape.sites)
    parser.add_argument("--participants", type=int, default=Shape.participants)
    parser.add_argument("--crf-study", default=Shape.crf_study,
                        help="study whose done visits get CRF data ('all': every study)")
    parser.add_argument("--bench-participants", type=int, default=Shape.bench_participants)
    parser.add_argument("--seed", type=int, default=Shape.seed)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    shape = Shape(args.sites, args.participants, args.crf_study, args.bench_participants,
                  seed=args.seed, today=args.today)
    url = database.prepare(args.url, args.schema)
    print(f"Generating {shape.participants:,} participants at {shape.sites} sites …",
          flush=True)
    summary = generate(url, shape, lambda line: print(line, flush=True))
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())

