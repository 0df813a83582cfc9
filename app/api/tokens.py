"""Personal API tokens: created and revoked by their owner; a token acts with its owner's grants."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.models import ApiToken
from app.audit import services as audit
from app.auth.models import User
from app.domain.tokens import digest
from app.model_base import utcnow

PREFIX = "ecrf_"  # makes a leaked token easy to recognise in logs and scanners


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create(session: Session, owner: User, name: str) -> NewToken:
    name = (name or "").strip()
    if not name:
        raise TokenError("Name the token after what will use it.")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=owner.id, name=name[:100], token_hash=digest(secret),
                     hint=secret[:10])
    session.add(token)
    session.flush()
    audit.record_event(session, "api_token_created", actor=owner, entity_type="api_tokens",
                       entity_id=token.id, detail=token.name)
    return NewToken(token, secret)


def revoke(session: Session, token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record_event(session, "api_token_revoked", actor=actor, entity_type="api_tokens",
                           entity_id=token.id, detail=token.name)


def active(session: Session, owner: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(
        ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))


def owned(session: Session, owner: User, token_id: int) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                 ApiToken.user_id == owner.id))


def resolve(session: Session, secret: str) -> User | None:
    """The active owner of an unrevoked token, or None."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret),
                                                  ApiToken.revoked_at.is_(None)))
    if token is None or not token.user.active:
        return None
    return token.user
