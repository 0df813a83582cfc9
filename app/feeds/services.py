"""Feed tokens (made, regenerated, revoked; only their hash kept) and the visits a feed shows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.domain.access import Permission, allows
from app.domain.ical import FeedVisit, feed_window
from app.domain.tokens import digest
from app.feeds import scope
from app.feeds.models import FeedToken
from app.model_base import utcnow
from app.participants.models import Participant
from app.sites.models import Site
from app.studies.models import Study
from app.visits.models import Visit
from app.visits.services import site_today, visit_status


class FeedError(ValueError):
    pass


@dataclass(frozen=True)
class NewFeed:
    """A feed just made: the token is here once, for the address shown to its owner."""

    feed: FeedToken
    token: str


def create(session: Session, owner: User, site: Site | None, *, actor: User) -> NewFeed:
    """A new feed of `owner`'s visits at `site` (None: at every site they may see)."""
    grants = owner.domain_grants()
    if site is None and not allows(grants, Permission.VIEW_SITE, anywhere=True):
        raise FeedError("You see no site, so there is nothing to subscribe to.")
    if site is not None and not allows(grants, Permission.VIEW_SITE, site.id):
        raise FeedError("Choose one of your sites.")
    token = secrets.token_urlsafe(32)
    feed = FeedToken(user_id=owner.id, site_id=site.id if site else None,
                     token_hash=digest(token))
    session.add(feed)
    session.flush()
    audit.record_event(session, "feed_created", actor=actor, entity_type="feed_tokens",
                       entity_id=feed.id, site_id=feed.site_id, detail=describe(feed, site))
    return NewFeed(feed, token)


def revoke(session: Session, feed: FeedToken, *, actor: User, reason: str = "revoked") -> None:
    if feed.revoked_at is not None:
        return
    feed.revoked_at = utcnow()
    audit.record_event(session, "feed_revoked", actor=actor, entity_type="feed_tokens",
                       entity_id=feed.id, site_id=feed.site_id,
                       detail=describe(feed, feed.site), reason=reason)


def regenerate(session: Session, feed: FeedToken, *, actor: User) -> NewFeed:
    """The same feed at a new address; the old address stops working at once."""
    owner = session.get(User, feed.user_id)
    revoke(session, feed, actor=actor, reason="regenerated")
    return create(session, owner, feed.site, actor=actor)


def describe(feed: FeedToken, site: Site | None) -> str:
    return f"site {site.code}" if site is not None else "all sites"


def active_feeds(session: Session, owner: User) -> list[FeedToken]:
    return list(session.scalars(
        select(FeedToken)
        .where(FeedToken.user_id == owner.id, FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.created_at, FeedToken.id)
    ))


def owned(session: Session, owner: User, feed_id: int) -> FeedToken | None:
    """One of `owner`'s live feeds (another person's feed is not found)."""
    return session.scalar(select(FeedToken).where(
        FeedToken.id == feed_id, FeedToken.user_id == owner.id, FeedToken.revoked_at.is_(None)))


def resolve(session: Session, token: str) -> tuple[FeedToken, User] | None:
    """The live feed a token opens and its owner; None when revoked, unknown or deactivated."""
    row = session.execute(
        select(FeedToken, User)
        .join(User, User.id == FeedToken.user_id)
        .where(FeedToken.token_hash == digest(token), FeedToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.active:
        return None
    return row.FeedToken, row.User


def visits(session: Session, feed: FeedToken, owner: User, today: date,
           link_base: str | None = None) -> list[FeedVisit] | None:
    """The visits the feed shows today, in one query; None when its site is out of reach.

    Cancelled and not-done visits are left out; the statuses are those of each site's date.
    """
    pairs = scope.visible(owner.domain_grants(), feed.site_id)
    if feed.site_id is not None and not pairs:
        return None
    first, last = feed_window(today)
    rows = session.execute(
        select(Visit, Participant.participant_code, Study.code.label("study_code"), Site)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Participant.site_id)
        .join(Study, Study.id == Participant.study_id)
        .where(scope.where_visible(pairs, Participant.site_id, Participant.study_id),
               Visit.cancelled_at.is_(None), Visit.not_done_reason.is_(None),
               Visit.window_end >= first, Visit.window_start <= last)
        .order_by(Visit.window_start, Visit.target_date, Visit.id)
    ).all()
    site_dates: dict[int, date] = {}
    feed_visits = []
    for visit, participant_code, study_code, site in rows:
        if site.id not in site_dates:
            site_dates[site.id] = site_today(site)
        state = visit_status(visit, site_dates[site.id], site.reminder_lead_days)
        link = f"{link_base.rstrip('/')}/participants/{visit.participant_id}" if link_base \
            else None
        feed_visits.append(FeedVisit(
            visit_id=visit.id, participant_code=participant_code, visit_code=visit.code,
            visit_name=visit.name, study_code=study_code, site_code=site.code,
            target=visit.target_date, window_start=visit.window_start,
            window_end=visit.window_end, window_ours=visit.window_ours, status=state.value,
            actual_date=visit.actual_date, revision=visit.version, link=link))
    return feed_visits
