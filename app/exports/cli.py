"""`flask --app app export csv|odm STUDY --output PATH`, with a progress bar on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.db import db
from app.exports.csv_export import ExportError, count_rows, csv_zip, snapshot
from app.exports.odm_data import odm_data
from app.sites.models import Site
from app.studies.models import Study

export_cli = AppGroup("export", help="Take a study's data out: CSV (zipped) or CDISC ODM.")

_output = click.option("--output", "-o", required=True,
                       type=click.Path(dir_okay=False, writable=True, path_type=Path))
_sites = click.option("--site", "site_codes", multiple=True,
                      help="Only this site (repeatable); every site when omitted.")


@export_cli.command("csv")
@click.argument("study_code")
@_output
@_sites
def export_csv(study_code: str, output: Path, site_codes: tuple[str, ...]) -> None:
    """One CSV per CRF, visits.csv and data_dictionary.csv, in one zip file."""
    engine = current_app.extensions["db_engine"]
    site_ids, total = _prepare(engine, study_code, site_codes, "CSV")
    with click.progressbar(length=total, label=f"{study_code} CSV", file=sys.stderr,
                           show_pos=True) as bar, output.open("wb") as out:
        try:
            for chunk in csv_zip(engine, study_code, site_ids, progress=bar.update):
                out.write(chunk)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"written {output} ({output.stat().st_size:,} bytes)")


@export_cli.command("odm")
@click.argument("study_code")
@_output
@_sites
@click.option("--history", is_flag=True,
              help="Every change of every value (a Transactional file), not only the last.")
def export_odm(study_code: str, output: Path, site_codes: tuple[str, ...],
               history: bool) -> None:
    """CDISC ODM 1.3.2 clinical data: every visit CRF with audit records and signatures."""
    engine = current_app.extensions["db_engine"]
    site_ids, total = _prepare(engine, study_code, site_codes, "ODM")
    with click.progressbar(length=total, label=f"{study_code} ODM", file=sys.stderr,
                           show_pos=True) as bar, output.open("wb") as out:
        try:
            for chunk in odm_data(engine, study_code, site_ids, progress=bar.update,
                                  history=history):
                out.write(chunk)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"written {output} ({output.stat().st_size:,} bytes)")


def _prepare(engine, study_code: str, site_codes: tuple[str, ...], kind: str):
    """The site ids asked for (None: all) and the number of rows, or a clear error.

    The export is audited like one from the browser, with no user: the operator of the
    server ran it."""
    with snapshot(engine) as conn:
        session = Session(bind=conn)
        study = session.scalar(select(Study).where(Study.code == study_code))
        if study is None:
            known = ", ".join(session.scalars(select(Study.code).order_by(Study.code)))
            raise click.ClickException(f"No study {study_code!r}; loaded: {known or 'none'}.")
        site_ids = None
        if site_codes:
            found = {s.code: s.id for s in session.scalars(
                select(Site).where(Site.code.in_(site_codes)))}
            missing = sorted(set(site_codes) - set(found))
            if missing:
                raise click.ClickException(f"No site {', '.join(missing)}.")
            site_ids = frozenset(found.values())
        total = count_rows(conn, study, site_ids, with_visits=kind == "CSV")
    sites = "all" if site_ids is None else sorted(site_ids)
    with db.writing() as session:
        audit.record_event(session, "export", actor=None, entity_type="studies",
                           entity_id=study.id,
                           detail=f"{kind} of {study_code} from the command line; sites: {sites}")
    return site_ids, total
