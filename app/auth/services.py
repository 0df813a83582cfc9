"""Accounts, login sessions and role grants."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import AuthSession, RoleGrant, User
from app.auth.passwords import hash_password, needs_rehash, policy_problem, verify_password
from app.domain.access import Role
from app.model_base import utcnow
from app.sites.models import Site
from app.studies.models import Study


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    if problem := policy_problem(password):
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


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is, if the account is active; audits the attempt."""
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        audit.record_event(session, "login_failed", actor=user, entity_type="users",
                           entity_id=user.id if user else None,
                           detail=None if user else "unknown username")
        return None
    if needs_rehash(user.password_hash):
        _touch(session, user, password_hash=hash_password(password))
    return user


def _touch(session: Session, user: User, **values) -> None:
    """Bookkeeping columns, written without bumping the version an editor may hold."""
    session.execute(update(User).where(User.id == user.id).values(**values))


def start_session(session: Session, user: User) -> str:
    """Open a login session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user.id))
    _touch(session, user, last_login_at=utcnow())
    audit.record_event(session, "login", actor=user, entity_type="users", entity_id=user.id)
    user.auth_token = token
    return token


def load_session_user(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token),
                                  AuthSession.ended_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    row.user.auth_token = token
    return row.user


def end_session(session: Session, token: str, user: User) -> None:
    session.execute(
        update(AuthSession).where(AuthSession.token_hash == _token_hash(token))
        .values(ended_at=utcnow())
    )
    audit.record_event(session, "logout", actor=user, entity_type="users", entity_id=user.id)


def end_all_sessions(session: Session, user: User) -> None:
    session.execute(
        update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
