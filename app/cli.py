"""`flask --app app …` commands for administrators and for `make run`."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.auth import services as accounts
from app.db import db
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo
from app.domain.access import Role
from app.sites import services as sites
from app.studies.models import Study

users = click.Group("users", help="Create, deactivate and grant roles to staff accounts.")
sites_cli = click.Group("sites", help="Trial sites.")
studies = click.Group("studies", help="Study definitions in schedules/ and forms/.")


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
    """Load every definition in schedules/ and forms/."""
    files = [p for key in ("SCHEDULES_DIR", "FORMS_DIR")
             for p in sorted(Path(current_app.config[key]).glob("*.y*ml"))]
    click.echo(f"{len(files)} definition files found; nothing to load yet")


@click.command("demo")
def demo() -> None:
    """Create the demo sites and accounts if missing, and print the logins."""
    with db.writing() as session:
        created = ensure_demo(session)
    click.echo(f"Demo logins (password for each: {DEMO_PASSWORD}):")
    for acct in DEMO_ACCOUNTS:
        new = " (new)" if acct in created else ""
        click.echo(f"  {acct.username:<20} {acct.role.label} at {acct.site or 'all sites'}{new}")


def register(app: Flask) -> None:
    for group in (users, sites_cli, studies, demo):
        app.cli.add_command(group)
