"""The one place that decides what a user may see and do.

Every view declares its rule with `@access(...)`; a `before_request` hook enforces it and
refuses any endpoint that has none (deny by default; a test walks the URL map too).
Object look-ups go through `get_or_404` and lists through `scope`, both of which limit
to the user's sites, so another site's object is a 404, never a 403 that confirms it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, false, or_, true
from sqlalchemy.orm import Session

from app.domain.access import ROLE_PERMISSIONS, Permission, SiteScope, allows, site_scope

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")


@dataclass(frozen=True)
class Rule:
    public: bool = False
    permission: Permission | None = None  # None: any signed-in user

    def describe(self) -> str:
        if self.public:
            return "public"
        return f"needs {self.permission.value}" if self.permission else "signed in"


PUBLIC = Rule(public=True)
SIGNED_IN = Rule()
_STATIC_ENDPOINTS = {"static"}


def access(rule: Rule | Permission) -> Callable[[F], F]:
    """Declare who may call a view: `@access(PUBLIC)`, `@access(SIGNED_IN)`,
    `@access(Permission.ADMINISTER)` (the permission must be held at some site)."""
    resolved = rule if isinstance(rule, Rule) else Rule(permission=rule)

    def mark(view: F) -> F:
        view.access_rule = resolved  # type: ignore[attr-defined]
        return view

    return mark


def rule_for(app: Flask, endpoint: str) -> Rule | None:
    if endpoint in _STATIC_ENDPOINTS or endpoint.endswith(".static"):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce() -> Any:
        if request.endpoint is None:  # 404 / 405: let Flask answer
            return None
        rule = rule_for(app, request.endpoint)
        if rule is None:
            abort(403)  # an endpoint nobody gave a rule is closed
        if rule.public:
            return None
        if not current_user.is_authenticated:
            if request.blueprint == "api":
                abort(401)  # a program gets a status, not a login page
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if rule.permission and not can(rule.permission, anywhere=True):
            abort(403)
        return None


def grants() -> list:
    if not current_user.is_authenticated:
        return []
    return current_user.domain_grants()


def can(permission: Permission, site_id: int | None = None, study_id: int | None = None, *,
        anywhere: bool = False) -> bool:
    return allows(grants(), permission, site_id, study_id, anywhere=anywhere)


def require(permission: Permission, site_id: int | None, study_id: int | None = None) -> None:
    """403 unless the user holds `permission` at that site for that study (they can see it)."""
    if not can(permission, site_id, study_id):
        abort(403)


def sites_where(permission: Permission, study_id: int | None = None) -> SiteScope:
    """The sites where the user holds `permission` (for that study, when given)."""
    return site_scope(grants(), permission, study_id)


def visible_sites() -> SiteScope:
    return site_scope(grants())


def site_filter(site_column: ColumnElement[int],
                study_column: ColumnElement[int] | None = None) -> ColumnElement[bool]:
    """Rows the user may see: one clause per grant, for its site and (if given) its study."""
    clauses = []
    for grant in grants():
        if Permission.VIEW_SITE not in ROLE_PERMISSIONS[grant.role]:
            continue
        site_ok = true() if grant.site_id is None else site_column == grant.site_id
        study_ok = true() if grant.study_id is None or study_column is None \
            else study_column == grant.study_id
        clauses.append(and_(site_ok, study_ok))
    return or_(*clauses) if clauses else false()


def scope(stmt: Select, site_column: ColumnElement[int],
          study_column: ColumnElement[int] | None = None) -> Select:
    """Limit a query to rows of the user's sites (and studies, where a grant names one)."""
    return stmt.where(site_filter(site_column, study_column))


def get_or_404(session: Session, stmt: Select, site_of: Callable[[Any], int | None],
               study_of: Callable[[Any], int | None] | None = None) -> Any:
    """The one row `stmt` selects, if the user may see it; else 404 (never a telling 403)."""
    obj = session.scalar(stmt)
    if obj is None or not can(Permission.VIEW_SITE, site_of(obj),
                              study_of(obj) if study_of else None):
        abort(404)
    return obj
