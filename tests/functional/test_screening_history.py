"""The screening CRF's history page: every value it ever had, who changed it, when and why."""

import re

from sqlalchemy import select

from app.screening.models import Screening
from tests.conftest import login

VALUES = {"SCRDT": "2026-05-01", "BRTHDTC": "1980-05-02", "SEX": "F",
          "CREAT-value": "1.3", "CREAT-unit": "mg/dL", "ANATITER": "1:160"}


def _screening(client, session, number="SCR-001") -> int:
    resp = client.post("/screening/new", data={"study": "MINI", "site": "SITEA",
                                               "screening_number": number})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _save(client, session, screening_id: int, values: dict, reason: str | None = None):
    session.rollback()
    session.expire_all()
    version = session.get(Screening, screening_id).entry.version
    data = {**values, "entry_version": str(version)}
    if reason:
        data["change_reason"] = reason
    resp = client.post(f"/screening/{screening_id}", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _rows(page: str) -> list[str]:
    """The history table's rows as text, tags stripped."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in body.split("</tr>") if "<td" in row]


def test_every_value_with_who_when_and_why(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _screening(client, session)
    _save(client, session, sid, VALUES)
    _save(client, session, sid, {**VALUES, "CREAT-value": "1.5"}, reason="lab re-reported")
    assert client.post(f"/screening/{sid}/subgroup", data={"subgroup": "LN"}).status_code == 302

    detail = client.get(f"/screening/{sid}").get_data(as_text=True)
    assert f'href="/screening/{sid}/history"' in detail
    resp = client.get(f"/screening/{sid}/history")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "History of Screening SCR-001" in page and "(Asia/Seoul)" in page
    rows = _rows(page)
    creat = [r for r in rows if "CREAT" in r]
    assert len(creat) == 2  # entered, then changed: oldest first
    assert "Serum creatinine" in creat[0] and "1.3 mg/dL" in creat[0]
    assert "1.3 mg/dL 1.5 mg/dL lab re-reported" in creat[1]
    assert all("KST" in r and "Coord-A" in r for r in creat)  # Seoul time, the person
    assert any("Sub-group" in r and "LN" in r for r in rows)
    assert any("Screening number" in r and "SCR-001" in r for r in rows)
    assert next(r for r in rows if "ANATITER" in r).endswith("1:160")


def test_a_new_screening_has_an_empty_history(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _screening(client, session)
    rows = _rows(client.get(f"/screening/{sid}/history").get_data(as_text=True))
    assert not any("SCRDT" in r for r in rows)
    assert any("Screening number" in r for r in rows)  # the screening was started


def test_other_sites_and_strangers_cannot_read_it(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _screening(client, session)
    _save(client, session, sid, VALUES)
    client.post("/logout")
    assert client.get(f"/screening/{sid}/history").status_code == 302  # to the login page
    login(client, "coord-b")
    assert client.get(f"/screening/{sid}/history").status_code == 404
    assert client.get("/screening/999999/history").status_code == 404
    client.post("/logout")
    login(client, "root-admin")
    assert client.get(f"/screening/{sid}/history").status_code == 200


def test_another_screenings_rows_are_not_shown(client, session, two_sites, mini_study):
    login(client, "coord-a")
    first, second = _screening(client, session, "SCR-001"), _screening(client, session, "SCR-002")
    _save(client, session, first, VALUES)
    _save(client, session, second, {**VALUES, "CREAT-value": "2.7"})
    page = client.get(f"/screening/{first}/history").get_data(as_text=True)
    assert "1.3 mg/dL" in page and "2.7 mg/dL" not in page and "SCR-002" not in page
    assert session.scalar(select(Screening.id).where(Screening.id == second))
