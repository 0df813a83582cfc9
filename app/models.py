"""Imports every model so that `Base.metadata` is complete (Alembic, drift check)."""

from app.audit.models import AuditEvent
from app.auth.models import AuthSession, RoleGrant, User
from app.model_base import Base
from app.sites.models import Site
from app.studies.models import Study

__all__ = ["AuditEvent", "AuthSession", "Base", "RoleGrant", "Site", "Study", "User"]
