"""Accounts, login sessions and role grants."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import AuthSession, LoginThrottle, RoleGrant, User
from app.auth.passwords import hash_password, needs_rehash, policy_problem, verify_password
from app.domain.access import Role
from app.domain.tokens import digest
from app.model_base import utcnow
from app.sites.models import Site
from app.studies.models import Study

LOCKED_MESSAGE = "Too many failed attempts; try again later."
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)


class LoginLocked(Exception):
    """Too many failed logins for this username; refused whatever the password."""

    def __init__(self) -> None:
        super().__init__(LOCKED_MESSAGE)


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def create_user(
    session: Session, *, username: str, email: str, full_name: str, password: str,
    actor: User | None,
) -> User:
    username, email = username.strip().lower(), email.strip().lower()
    if find_user(session, username) is not None:
        raise AccountError("This username is taken (usernames are never reused).", "username")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise AccountError("Another account has this email address.", "email")
    if problem := policy_problem(password, username):
        raise AccountError(problem, "password")
    user = User(username=username, email=email, full_name=full_name.strip(),
                password_hash=hash_password(password))
    audit.create(session, user, actor=actor)
    return user


def set_active(session: Session, user: User, active: bool, *, actor: User | None,
               reason: str | None = None, expected_version: int | None = None) -> None:
    audit.update(session, user, {"active": active}, actor=actor, reason=reason,
                 expected_version=expected_version, require_reason=False)
    if not active:
        end_all_sessions(session, user)


def grant_role(
    session: Session, user: User, role: Role, *, site: Site | None, study: Study | None,
    actor: User | None,
) -> RoleGrant:
    same_site = RoleGrant.site_id == site.id if site else RoleGrant.site_id.is_(None)
    same_study = RoleGrant.study_id == study.id if study else RoleGrant.study_id.is_(None)
    if role is Role.ADMIN and site is not None:
        raise AccountError("Administrators hold their role at every site.", "site")
    existing = session.scalar(
        select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.role == role.value,
                                same_site, same_study, RoleGrant.revoked_at.is_(None))
    )
    if existing is not None:
        return existing
    grant = RoleGrant(user_id=user.id, role=role.value, site_id=site.id if site else None,
                      study_id=study.id if study else None,
                      granted_by_id=actor.id if actor else None)
    session.add(grant)
    session.flush()
    session.refresh(grant)
    audit.record_event(session, "grant", actor=actor, entity_type="users", entity_id=user.id,
                       site_id=grant.site_id, detail=grant.describe())
    session.expire(user, ["grants"])
    return grant


def revoke_role(session: Session, grant: RoleGrant, *, actor: User | None) -> None:
    grant.revoked_at = utcnow()
    audit.record_event(session, "revoke", actor=actor, entity_type="users",
                       entity_id=grant.user_id, site_id=grant.site_id, detail=grant.describe())
    session.expire(grant.user, ["grants"])


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None,
    limits: LoginLimits | None = None,
) -> User | None:
    """The user whose password this is, if the account is active; audits the attempt.

    Raises LoginLocked while the username is locked (known or not), and on the failure that
    locks it.
    """
    now, limits = now or utcnow(), limits or LoginLimits()
    name = username.strip().lower()
    user = find_user(session, name)
    if _locked(session, name, now):
        audit.record_event(session, "login_failed", actor=user, entity_type="users",
                           entity_id=user.id if user else None, detail="locked")
        raise LoginLocked
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        audit.record_event(session, "login_failed", actor=user, entity_type="users",
                           entity_id=user.id if user else None,
                           detail=None if user else "unknown username")
        if _count_failure(session, name, now, limits):
            audit.record_event(
                session, "login_locked", actor=user, entity_type="users",
                entity_id=user.id if user else None,
                detail=f"{limits.max_failures} failed logins; locked until "
                       f"{now + limits.lockout:%Y-%m-%d %H:%M} UTC",
            )
            raise LoginLocked
        return None
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == name))
    if needs_rehash(user.password_hash):
        _touch(session, user, password_hash=hash_password(password))
    return user


def _locked(session: Session, name: str, now: datetime) -> bool:
    until = session.scalar(select(LoginThrottle.locked_until)
                           .where(LoginThrottle.username == name))
    return until is not None and until > now


def _count_failure(session: Session, name: str, now: datetime, limits: LoginLimits) -> bool:
    """Add one failure in a single atomic upsert (no count is lost between workers).

    True when this failure reaches the limit: the username is then locked and its count reset.
    """
    t = LoginThrottle.__table__.c
    fresh = or_(t.window_started_at.is_(None), t.window_started_at < now - limits.window)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginThrottle)
        .values(username=name, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[t.username],
            set_={"failures": case((fresh, 1), else_=t.failures + 1),
                  "window_started_at": case((fresh, now), else_=t.window_started_at)},
        )
    )
    failures = session.scalar(select(t.failures).where(t.username == name))
    if failures < limits.max_failures:
        return False
    session.execute(
        update(LoginThrottle).where(t.username == name)
        .values(failures=0, window_started_at=None, locked_until=now + limits.lockout)
    )
    return True


def count_password_failure(session: Session, user: User, now: datetime,
                           limits: LoginLimits) -> bool:
    """A wrong password typed by someone signed in (to sign a record) counts as a failed
    login: at the limit the account is locked out and every session of it ends."""
    if not _count_failure(session, user.username, now, limits):
        return False
    end_all_sessions(session, user)
    audit.record_event(session, "login_locked", actor=user, entity_type="users",
                       entity_id=user.id,
                       detail=f"{limits.max_failures} wrong passwords at signing; locked until "
                              f"{now + limits.lockout:%Y-%m-%d %H:%M} UTC")
    return True


def prune_throttles(session: Session, now: datetime, limits: LoginLimits) -> int:
    """Delete the rows that no longer hold anything back: not locked, and their failures
    counted outside the window. Without this, every mistyped or guessed username would
    leave a row forever."""
    t = LoginThrottle.__table__.c
    return session.execute(
        delete(LoginThrottle).where(
            or_(t.locked_until.is_(None), t.locked_until <= now),
            or_(t.window_started_at.is_(None), t.window_started_at < now - limits.window),
        )
    ).rowcount


def _touch(session: Session, user: User, **values) -> None:
    """Bookkeeping columns, written without bumping the version an editor may hold."""
    session.execute(update(User).where(User.id == user.id).values(**values))


def start_session(session: Session, user: User, *, now: datetime | None = None) -> str:
    """Open a login session; returns the token for the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=digest(token), user_id=user.id, created_at=now,
                            last_seen_at=now))
    _touch(session, user, last_login_at=now)
    audit.record_event(session, "login", actor=user, entity_type="users", entity_id=user.id)
    user.auth_token = token
    return token


def session_expiry(row: AuthSession, now: datetime, limits: SessionLimits) -> str | None:
    """Why this login session has run out ("idle" or "absolute"), or None."""
    if now - row.created_at > limits.max_age:
        return "absolute"
    if now - row.last_seen_at > limits.idle:
        return "idle"
    return None


def load_session_user(
    session: Session, token: str, *, now: datetime | None = None,
    limits: SessionLimits | None = None,
    on_expired: Callable[[str], None] | None = None,
) -> User | None:
    """The user of a live login session, or None; ends the session when it has run out.

    Unlike other services this commits: it runs before the view, when nothing else is
    pending, and the read is committed before writing so that SQLite waits for the write
    lock (busy timeout) instead of failing to upgrade a read transaction.
    """
    now, limits = now or utcnow(), limits or SessionLimits()
    row = session.scalar(
        select(AuthSession).where(AuthSession.token_hash == digest(token),
                                  AuthSession.ended_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    user = row.user
    why = session_expiry(row, now, limits)
    if why is None and now - row.last_seen_at < TOUCH_EVERY:
        user.auth_token = token
        return user
    session.commit()
    if why is not None:
        session.execute(update(AuthSession)
                        .where(AuthSession.id == row.id, AuthSession.ended_at.is_(None))
                        .values(ended_at=now))
        audit.record_event(session, "session_expired", actor=user, entity_type="users",
                           entity_id=user.id, detail=why)
        session.commit()
        if on_expired is not None:
            on_expired(why)
        return None
    session.execute(update(AuthSession)
                    .where(AuthSession.id == row.id, AuthSession.last_seen_at < now)
                    .values(last_seen_at=now))
    session.commit()
    user.auth_token = token
    return user


def end_session(session: Session, token: str, user: User) -> None:
    session.execute(
        update(AuthSession).where(AuthSession.token_hash == digest(token))
        .values(ended_at=utcnow())
    )
    audit.record_event(session, "logout", actor=user, entity_type="users", entity_id=user.id)


def end_all_sessions(session: Session, user: User) -> None:
    session.execute(
        update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
