"""`flask db backup` and `flask db restore` reproduce the data exactly."""

from sqlalchemy import text

from app.models import Base
from tests.conftest import make_test_app
from tests.support import factories


def _snapshot(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(text(
            f"SELECT * FROM {t.name} ORDER BY 1"))] for t in Base.metadata.sorted_tables}


def test_backup_then_restore_gives_the_same_rows(database_url, session, two_sites, tmp_path):
    factories.enrolled(session, two_sites["a"], "CS20AT04",
                       __import__("datetime").date(2026, 3, 2), two_sites["coord_a"])
    session.commit()
    app = make_test_app(database_url)
    engine = app.extensions["db_engine"]
    before = _snapshot(engine)
    runner = app.test_cli_runner()
    target = tmp_path / "backup.dump"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    with engine.begin() as conn:  # lose some data after the backup
        conn.execute(text("UPDATE sites SET name = 'damaged'"))
    assert _snapshot(engine) != before
    engine.dispose()
    result = runner.invoke(args=["db", "restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert _snapshot(engine) == before
    engine.dispose()
