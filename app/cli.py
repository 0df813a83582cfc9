"""`flask --app app …` commands for administrators and for `make run`."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.audit.chain import verify as verify_chain
from app.auth import services as accounts
from app.backup import BackupError, backup, restore
from app.db import db
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo, ensure_demo_participants
from app.domain.access import Role
from app.domain.schedule import plan
from app.exports.cli import export_cli
from app.notify.jobs import run_once
from app.notify.scheduler import run_blocking
from app.odm import cli as odm_cli
from app.screening.check import InputProblem, check_values
from app.sites import services as sites
from app.studies import services as study_services
from app.studies.loader import DefinitionInvalid
from app.studies.models import Study

users = AppGroup("users", help="Create, deactivate and grant roles to staff accounts.")
sites_cli = AppGroup("sites", help="Trial sites.")
studies = AppGroup("studies", help="Study definitions in schedules/ and forms/.")


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


@users.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="Printed name, used on signatures.")
@click.password_option(help="Asked for when not given (or set ECRF_PASSWORD).",
                       envvar="ECRF_PASSWORD")
def create_user(username: str, email: str, full_name: str, password: str) -> None:
    with db.writing() as session:
        try:
            user = accounts.create_user(session, username=username, email=email,
                                        full_name=full_name, password=password, actor=None)
        except accounts.AccountError as exc:
            _fail(f"{exc.field}: {exc}")
    click.echo(f"created user {user.username}")


@users.command("deactivate")
@click.argument("username")
@click.option("--reason", default=None)
def deactivate_user(username: str, reason: str | None) -> None:
    with db.writing() as session:
        user = accounts.find_user(session, username) or _fail(f"no user {username!r}")
        accounts.set_active(session, user, False, actor=None, reason=reason)
    click.echo(f"deactivated {username}; their sessions are ended")


@users.command("grant")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--site", "site_code", default=None, help="Site code; all sites when omitted.")
@click.option("--study", "study_code", default=None, help="Study code; all studies when omitted.")
def grant(username: str, role: str, site_code: str | None, study_code: str | None) -> None:
    with db.writing() as session:
        user = accounts.find_user(session, username) or _fail(f"no user {username!r}")
        site = (sites.find_site(session, site_code) or _fail(f"no site {site_code!r}")) \
            if site_code else None
        study = (session.scalar(select(Study).where(Study.code == study_code))
                 or _fail(f"no study {study_code!r}")) if study_code else None
        try:
            accounts.grant_role(session, user, Role(role), site=site, study=study, actor=None)
        except accounts.AccountError as exc:
            _fail(str(exc))
    click.echo(f"granted {role} to {username} at {site_code or 'all sites'}")


@sites_cli.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--timezone", required=True, help="IANA name, e.g. Asia/Seoul.")
def create_site(code: str, name: str, timezone: str) -> None:
    with db.writing() as session:
        try:
            site = sites.create_site(session, code=code, name=name, timezone=timezone, actor=None)
        except sites.SiteError as exc:
            _fail(f"{exc.field}: {exc}")
    click.echo(f"created site {site.code}")


@studies.command("load")
def load_studies() -> None:
    """Load every definition in schedules/ and forms/; a changed study gets a new version."""
    protocols = _read_definitions()
    with db.writing() as session:
        reports = [study_services.store(session, p) for p in protocols]
    for report in reports:
        state = "new version" if report.changed else "unchanged"
        click.echo(f"{report.code:<16} version {report.version:<3} {state}")
    if not reports:
        click.echo("no study definitions found")


def _read_definitions() -> list:
    config = current_app.config
    try:
        return study_services.read_definitions(config["SCHEDULES_DIR"], config["FORMS_DIR"])
    except DefinitionInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(exc.errors)} definition error(s); nothing loaded") \
            from None


@studies.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def list_studies(fmt: str) -> None:
    """Each loaded study's code, title, registry number and current version."""
    rows = [{"code": v.study.code, "title": v.study.title, "registry_id": v.study.registry_id,
             "version": v.version} for v in study_services.current_versions(db.session)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['code']:<16} v{row['version']:<3} {row['registry_id'] or '-':<12} "
                   f"{row['title']}")


eligibility = AppGroup("eligibility", help="Check candidates against a study's criteria.")


@eligibility.command("check")
@click.argument("study_code")
@click.option("--subgroup", default=None, help="Sub-group code, for studies that have them.")
@click.option("--input", "input_file", type=click.File("r"), required=True,
              help="JSON of item values, e.g. {\"CREAT\": {\"value\": 1.3, \"unit\": \"mg/dL\"}}.")
def check_eligibility(study_code: str, subgroup: str | None, input_file) -> None:
    """Print the verdict and each criterion's result as JSON."""
    protocol = next((p for p in _read_definitions() if p.study.code == study_code), None)
    if protocol is None:
        raise click.ClickException(f"no study {study_code!r} in schedules/")
    try:
        verdict = check_values(protocol, json.load(input_file), subgroup)
    except InputProblem as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.ClickException("the input has problems; nothing was checked") from None
    click.echo(json.dumps(verdict.as_dict(), indent=2, ensure_ascii=False))


schedule = AppGroup("schedule", help="Visit schedules.")


@schedule.command("preview")
@click.argument("study_code")
@click.option("--start", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Day 0: the enrolment (or randomization) date.")
@click.option("--event", "events", multiple=True, metavar="CODE=YYYY-MM-DD",
              help="An event's actual date, e.g. INF2=2026-05-27; repeatable.")
@click.option("--subgroup", default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
def preview_schedule(study_code: str, start, events: tuple[str, ...], subgroup: str | None,
                     fmt: str) -> None:
    """Print the plan a participant starting on --start would get."""
    protocol = next((p for p in _read_definitions() if p.study.code == study_code), None)
    if protocol is None:
        raise click.ClickException(f"no study {study_code!r} in schedules/")
    if subgroup and subgroup not in {s.code for s in protocol.study.subgroups}:
        raise click.ClickException(f"--subgroup {subgroup}: not a sub-group of {study_code}")
    actual = _parse_events(events, {a.code for a in protocol.study.schedule.anchors})
    visits = [v.as_dict() for v in plan(protocol.study.schedule, start.date(), actual)]
    click.echo(render_rows(visits, fmt, PREVIEW_COLUMNS))


PREVIEW_COLUMNS = ("code", "name", "anchor", "target", "window_start", "window_end")


def _parse_events(events: tuple[str, ...], anchors: set[str]) -> dict:
    actual = {}
    for text in events:
        code, _, day = text.partition("=")
        if code not in anchors:
            raise click.ClickException(f"--event {text}: {code} is not an anchor of this study")
        try:
            actual[code] = date.fromisoformat(day)
        except ValueError:
            raise click.ClickException(f"--event {text}: use CODE=YYYY-MM-DD") from None
    return actual


def render_rows(rows: list[dict], fmt: str, columns: tuple[str, ...]) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    widths = {c: max([len(c), *(len(str(r[c])) for r in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


reminders = AppGroup("reminders", help="Visit flags and emailed reminders.")


@reminders.command("run-once")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Take this as every site's local date (and send at once).")
def reminders_run_once(today) -> None:
    """One sweep of visit statuses, one build of the outbox, one send."""
    report = run_once(current_app._get_current_object(), today.date() if today else None)
    if not report.ran:
        raise click.ClickException("another scheduler holds the lease; nothing done")
    click.echo(f"{report.sweep.changes} status changes, {report.sweep.reminders} reminders, "
               f"{report.queued} emails queued; sent {report.send.sent}, "
               f"retrying {report.send.retried}, failed {report.send.failed}")


scheduler_cli = AppGroup("scheduler", help="The background scheduler.")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduler in this process (production: beside any number of web workers)."""
    click.echo("scheduler running; Ctrl+C to stop")
    run_blocking(current_app._get_current_object())


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; report the first row that was changed, removed or inserted."""
    verdict = verify_chain(db.session)
    if verdict.broken_at is not None:
        raise click.ClickException(f"audit row {verdict.broken_at} is broken: {verdict.problem} "
                                   f"({verdict.rows} rows read)")
    click.echo(f"{verdict.rows} audit rows; the chain is intact")


db_cli = AppGroup("db", help="Backups of the database.")


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """SQLite: an online backup; PostgreSQL: pg_dump in custom format."""
    try:
        backup(current_app.config["DATABASE_URL"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {path}")


@db_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="This replaces every row of the database. Go on?")
def db_restore(path: Path) -> None:
    """Replace the database's contents with a backup made by `db backup`."""
    try:
        restore(current_app.config["DATABASE_URL"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {path}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo sites and accounts if missing, and print the logins."""
    with db.writing() as session:
        created = ensure_demo(session)
        participants = ensure_demo_participants(session)
    click.echo(f"Demo logins (password for each: {DEMO_PASSWORD}):")
    for acct in DEMO_ACCOUNTS:
        new = " (new)" if acct in created else ""
        click.echo(f"  {acct.username:<20} {acct.role.label} at {acct.site or 'all sites'}{new}")
    if participants:
        click.echo(f"{participants} demo participants of CS20AT04 enrolled at SEOUL")


def register(app: Flask) -> None:
    for group in (users, sites_cli, studies, eligibility, schedule, reminders, scheduler_cli,
                  audit_cli, db_cli, demo, export_cli):
        app.cli.add_command(group)
    odm_cli.register(studies)
