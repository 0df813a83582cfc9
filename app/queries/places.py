"""Where a query sits: the study, the CRF, the item and the participant, as pages show them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crf.models import CrfEntry
from app.screening.models import Screening
from app.sites.models import Site
from app.studies.models import ProtocolVersion
from app.studies.services import protocol_of
from app.visits.models import Visit


@dataclass(frozen=True)
class Place:
    entry: CrfEntry
    study_id: int
    study_code: str
    site: Site
    form_title: str
    item_code: str
    item_label: str
    subject: str  # the participant code, or "Screening SCR-1"
    visit_name: str | None
    value: str | None  # the value stored now, as the audit trail shows it
    crf_url: str  # the CRF page, scrolled to the item

    @property
    def timezone(self) -> str:
        return self.site.timezone


def place_of(session: Session, entry: CrfEntry, item_code: str) -> Place | None:
    """None when the CRF's form has no such item (a URL made up by hand)."""
    version = session.get(ProtocolVersion, entry.protocol_version_id)
    form = protocol_of(version).forms.get(entry.form_code)
    if form is None or item_code not in form.items:
        return None
    title = f"{form.title} #{entry.sequence}" if form.repeating else form.title
    subject, visit_name, url = _where(session, entry)
    value = next((v.shown() for v in entry.values if v.item_code == item_code), None)
    return Place(entry=entry, study_id=version.study_id, study_code=version.study.code,
                 site=session.get(Site, entry.site_id), form_title=title, item_code=item_code,
                 item_label=form.items[item_code].label, subject=subject,
                 visit_name=visit_name, value=value, crf_url=f"{url}#item-{item_code}")


def _where(session: Session, entry: CrfEntry) -> tuple[str, str | None, str]:
    if entry.visit_id is not None:
        visit = session.get(Visit, entry.visit_id)
        return (visit.participant.participant_code, visit.name,
                url_for("visits.crf", visit_id=visit.id, form_code=entry.form_code,
                        sequence=entry.sequence))
    screening = session.scalar(select(Screening).where(Screening.id == entry.screening_id))
    return (f"Screening {screening.screening_number}", None,
            url_for("screening.detail", screening_id=screening.id))
