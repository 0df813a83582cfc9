from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.access import Grant, Role
from app.model_base import Base, UTCDateTime, utcnow
from app.sites.models import Site
from app.studies.models import Study

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(Base):
    """A member of staff. Never deleted, only deactivated, so a username is never reused."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # stored lower-case
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(200))  # the printed name on signatures
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        primaryjoin="and_(User.id == RoleGrant.user_id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    AUDITED = ("username", "email", "full_name", "active")

    # Flask-Login reads these; the id it keeps in the cookie is the login session's token.
    auth_token = None  # str once a login session is attached

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.auth_token

    def domain_grants(self) -> list[Grant]:
        return [g.as_grant() for g in self.grants]

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class RoleGrant(Base):
    """A role held by a user at a site (or all sites) for a study (or all studies)."""

    __tablename__ = "role_grants"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="grants")
    site: Mapped[Site | None] = relationship(lazy="joined")
    study: Mapped[Study | None] = relationship(lazy="joined")

    def as_grant(self) -> Grant:
        return Grant(Role(self.role), self.site_id, self.study_id)

    def describe(self) -> str:
        where = self.site.code if self.site else "all sites"
        what = self.study.code if self.study else "all studies"
        return f"{Role(self.role).label} · {where} · {what}"


class AuthSession(Base):
    """One login. The cookie carries a random token; only its SHA-256 is stored.

    Ending the row (logout, deactivation) ends the session on every worker at once.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins per username, shared by every worker because it lives in the database.

    Keyed by the typed (lower-cased) username, not the user id, so an unknown username is
    counted and locked exactly like a real one: the answers never tell which accounts exist.
    """

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
