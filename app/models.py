"""Imports every model so that `Base.metadata` is complete (Alembic, drift check)."""

from app.api.models import ApiToken
from app.audit.models import AuditChain, AuditEvent
from app.auth.models import AuthSession, RoleGrant, User
from app.crf.models import CrfEntry, ItemValue
from app.feeds.models import FeedToken
from app.locks.models import Lock
from app.model_base import Base
from app.notify.models import OutboxMessage, Reminder, SchedulerLease, VisitStatusChange
from app.participants.models import Participant, SiteSequence
from app.queries.models import Query, QueryMessage
from app.randomization.models import Assignment, RandomizationScheme
from app.screening.models import Screening
from app.signatures.models import Signature
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.visits.models import Deviation, ParticipantEvent, Visit

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditChain",
    "AuditEvent",
    "AuthSession",
    "Base",
    "CrfEntry",
    "Deviation",
    "FeedToken",
    "ItemValue",
    "Lock",
    "OutboxMessage",
    "Participant",
    "ParticipantEvent",
    "ProtocolVersion",
    "Query",
    "QueryMessage",
    "RandomizationScheme",
    "Reminder",
    "RoleGrant",
    "SchedulerLease",
    "Screening",
    "Signature",
    "Site",
    "SiteSequence",
    "Study",
    "User",
    "Visit",
    "VisitStatusChange",
]
