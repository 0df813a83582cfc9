"""`flask --app app studies import-odm FILE --into DIR` and `studies export-odm STUDY`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.db import db
from app.odm.importer import OdmImportError, import_metadata, write_documents
from app.odm.metadata import export_metadata
from app.studies import loader
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of


def register(group: AppGroup) -> None:
    group.add_command(import_odm)
    group.add_command(export_odm)


@click.command("import-odm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write schedules/ and forms/ into.")
@click.option("--overwrite", is_flag=True, help="Replace files that exist already.")
@click.option("--draft", is_flag=True,
              help="Write even what the loader refuses (to finish by hand).")
def import_odm(file: Path, into: Path, overwrite: bool, draft: bool) -> None:
    """Turn an ODM 1.3.2 metadata file into study and form definitions."""
    try:
        documents = import_metadata(file.read_bytes())
    except OdmImportError as exc:
        _fail(exc.problems, f"{file} cannot be imported; nothing written")
    try:
        loader.build(documents)
    except loader.DefinitionInvalid as exc:
        if not draft:
            _fail([str(e) for e in exc.errors], "the definitions would not load; nothing "
                  "written (--draft writes them anyway)")
        for error in exc.errors:
            click.echo(f"warning: {error}", err=True)
    existing = [name for name in documents if (into / name).exists()]
    if existing and not overwrite:
        _fail(existing, "these files exist already; nothing written (--overwrite replaces them)")
    header = f"# Imported from {file.name} on {datetime.now(UTC):%Y-%m-%d} (CDISC ODM 1.3.2).\n"
    for path in write_documents(documents, into, header):
        click.echo(f"wrote {path}")


@click.command("export-odm")
@click.argument("study_code")
@click.option("--version", "number", type=int, default=None,
              help="Protocol version; the current one when omitted.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write; standard output when omitted.")
@with_appcontext
def export_odm(study_code: str, number: int | None, output: Path | None) -> None:
    """A loaded study's definition as an ODM 1.3.2 metadata file."""
    stmt = (select(ProtocolVersion).join(Study).where(Study.code == study_code)
            .order_by(ProtocolVersion.version.desc()).limit(1))
    if number is not None:
        stmt = stmt.where(ProtocolVersion.version == number)
    row = db.session.scalar(stmt)
    if row is None:
        raise click.ClickException(f"no study {study_code!r}"
                                   + (f" version {number}" if number is not None else "")
                                   + " is loaded (flask studies list)")
    xml = export_metadata(protocol_of(row), version=row.version)
    if output is None:
        click.echo(xml, nl=False)
    else:
        output.write_bytes(xml)
        click.echo(f"wrote {output} ({study_code} version {row.version})")


def _fail(lines: list[str], summary: str) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    raise click.ClickException(summary)
