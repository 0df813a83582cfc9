"""`flask users create|deactivate|grant`, `flask sites create` and `flask demo`."""

from sqlalchemy import select

from app.auth.models import User
from app.demo import DEMO_PASSWORD


def test_create_grant_deactivate(app, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sites", "create", "SEOUL", "--name", "Seoul",
                               "--timezone", "Asia/Seoul"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "Nurse1", "--email", "n1@example.org",
                                 "--name", "Nora One"], env={"ECRF_PASSWORD": "long enough pw!"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "grant", "nurse1", "coordinator", "--site", "SEOUL"])
    assert result.exit_code == 0 and "granted coordinator" in result.output
    again = runner.invoke(args=["users", "create", "nurse1", "--email", "x@example.org",
                                "--name", "X"], env={"ECRF_PASSWORD": "long enough pw!"})
    assert again.exit_code == 1 and "never reused" in again.output
    assert runner.invoke(args=["users", "deactivate", "nurse1"]).exit_code == 0
    user = session.scalar(select(User).where(User.username == "nurse1"))
    assert user.active is False and [g.role for g in user.grants] == ["coordinator"]


def test_bad_arguments_are_explained(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sites", "create", "X", "--name", "X", "--timezone", "Mars/Base"])
    assert result.exit_code == 1 and "Unknown time zone" in result.output
    result = runner.invoke(args=["users", "grant", "ghost", "monitor"])
    assert result.exit_code == 1 and "no user 'ghost'" in result.output


def test_demo_is_idempotent_and_prints_logins(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert DEMO_PASSWORD in first.output and "(new)" in first.output
    assert "(new)" not in second.output and "coordinator" in second.output
    assert len(session.scalars(select(User)).all()) == 6
