"""A participant's schedule for the binder: every visit with its window, printable on A4.

The route belongs to the participants blueprint (`/participants/<id>/print`); it lives here
and is imported by `app.feeds.views`.
"""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.model_base import utcnow
from app.participants.models import Participant
from app.participants.views import bp
from app.visits.services import site_today, with_status


@bp.route("/<int:participant_id>/print")
@rule(Permission.VIEW_SITE)
def print_schedule(participant_id: int):
    stmt = select(Participant).where(Participant.id == participant_id)
    participant: Participant = access.get_or_404(db.session, stmt, lambda p: p.site_id,
                                                 lambda p: p.study_id)
    site = participant.site
    today = site_today(site)
    return render_template(
        "participants/print.html", participant=participant, study=participant.study, site=site,
        protocol_version=participant.protocol_version, today=today, printed_at=utcnow(),
        printed_by=current_user.full_name,
        rows=with_status(participant.visits, today, site.reminder_lead_days))
