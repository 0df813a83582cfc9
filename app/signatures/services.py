"""Electronic signatures of CRFs and visits, bound to a hash of what was signed.

Signing asks for the password again and is an audited event; a failed attempt is audited
too. A change to signed content invalidates the signature (kept, with when and why), in the
same transaction as the change. Services never commit.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.auth.passwords import verify_password
from app.crf.models import CrfEntry
from app.domain.signing import (
    MEANINGS,
    CrfContent,
    ItemContent,
    VisitContent,
    crf_hash,
    visit_hash,
)
from app.model_base import utcnow
from app.signatures.models import Signature
from app.studies.models import ProtocolVersion
from app.visits.models import Visit

CRF, VISIT = "crf", "visit"
_TABLE = {CRF: "crf_entries", VISIT: "visits"}


class SigningError(ValueError):
    """Nothing was signed; `field` names the form field the message belongs next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WrongPassword(SigningError):
    """The password did not match: audited as a failed attempt, which the caller commits."""


def crf_content(entry: CrfEntry) -> CrfContent:
    items = tuple(ItemContent(v.item_code, v.value, v.unit, v.uln) for v in entry.values)
    return CrfContent(entry.form_code, entry.sequence, items)


def visit_content(session: Session, visit: Visit) -> VisitContent:
    entries = session.scalars(select(CrfEntry).where(CrfEntry.visit_id == visit.id))
    return VisitContent(visit.code, visit.actual_date, visit.not_done_reason,
                        tuple(crf_content(e) for e in entries))


def has_content(entry: CrfEntry | None) -> bool:
    return entry is not None and not crf_content(entry).empty


def study_of(session: Session, entry: CrfEntry) -> int:
    return session.get(ProtocolVersion, entry.protocol_version_id).study_id


def signatures_for(session: Session, target: str, target_id: int) -> list[Signature]:
    """Every signature of one CRF or visit, valid or not, oldest first."""
    return list(session.scalars(
        select(Signature).where(Signature.target == target, Signature.target_id == target_id)
        .order_by(Signature.signed_at, Signature.id)))


def sign_crf(session: Session, entry: CrfEntry, *, signer: User, password: str,
             meaning: str) -> Signature:
    if not has_content(entry):
        raise SigningError("This CRF has no values yet: there is nothing to sign.")
    return _sign(session, CRF, entry.id, crf_hash(crf_content(entry)), entry.site_id,
                 study_of(session, entry), signer=signer, password=password, meaning=meaning)


def sign_visit(session: Session, visit: Visit, *, signer: User, password: str,
               meaning: str) -> Signature:
    if visit.actual_date is None:
        raise SigningError("This visit has no date yet: record the date before signing it.")
    return _sign(session, VISIT, visit.id, visit_hash(visit_content(session, visit)),
                 visit.site_id, visit.participant.study_id, signer=signer, password=password,
                 meaning=meaning)


def _sign(session: Session, target: str, target_id: int, content_hash: str, site_id: int,
          study_id: int, *, signer: User, password: str, meaning: str) -> Signature:
    if meaning not in MEANINGS:
        raise SigningError("Choose what your signature means.", "meaning")
    if not verify_password(signer.password_hash, password or ""):
        # no signature row exists to point at: the detail names the target instead
        audit.record_event(session, "sign_failed", actor=signer, entity_type="signatures",
                           site_id=site_id, detail=f"{_TABLE[target]} {target_id}: wrong "
                                                   f"password; meaning: {meaning}")
        raise WrongPassword("That password is not right. Nothing was signed.", "password")
    if any(s.valid and s.signer_id == signer.id and s.meaning == meaning
           and s.content_hash == content_hash
           for s in signatures_for(session, target, target_id)):
        raise SigningError("You have already signed this content with this meaning.", "meaning")
    signature = Signature(target=target, target_id=target_id, site_id=site_id,
                          study_id=study_id, signer_id=signer.id, printed_name=signer.full_name,
                          meaning=meaning, signed_at=utcnow(), content_hash=content_hash)
    session.add(signature)
    session.flush()  # the id the audit row points at
    audit.record_event(session, "sign", actor=signer, entity_type="signatures",
                       entity_id=signature.id, site_id=site_id,
                       detail=f"{_TABLE[target]} {target_id} signed by {signer.full_name}; "
                              f"meaning: {meaning}; sha256 {content_hash}")
    return signature


def invalidate_changed(session: Session, entry: CrfEntry, actor: User) -> list[Signature]:
    """Invalidate (and audit) the valid signatures over `entry` whose content changed:
    the CRF's own and those of the visit it belongs to."""
    what = f"{entry.form_code} #{entry.sequence}"
    valid = _valid_over(session, entry)  # every CRF save asks: one statement for both
    done = _invalidate(session, CRF, entry.id, valid[CRF], lambda: crf_hash(crf_content(entry)),
                       actor, f"the values of {what} were changed by {actor.full_name}")
    if entry.visit_id is not None and valid[VISIT]:
        visit = session.get(Visit, entry.visit_id)
        done += _invalidate(session, VISIT, visit.id, valid[VISIT],
                            lambda: visit_hash(visit_content(session, visit)), actor,
                            f"{what} of this visit was changed by {actor.full_name}")
    return done


def _valid_over(session: Session, entry: CrfEntry) -> dict[str, list[Signature]]:
    """The valid signatures of the CRF and of its visit, oldest first."""
    over = and_(Signature.target == CRF, Signature.target_id == entry.id)
    if entry.visit_id is not None:
        over = or_(over, and_(Signature.target == VISIT, Signature.target_id == entry.visit_id))
    found: dict[str, list[Signature]] = {CRF: [], VISIT: []}
    for signature in session.scalars(select(Signature).where(over)
                                     .order_by(Signature.signed_at, Signature.id)):
        if signature.valid:
            found[signature.target].append(signature)
    return found


def invalidate_visit(session: Session, visit: Visit, actor: User,
                     why: str | None = None) -> list[Signature]:
    """Invalidate (and audit) the visit's valid signatures when its content changed
    (its date, its not-done state, any of its CRFs)."""
    if why is None and visit.actual_date is None:
        why = f"the visit was recorded as not done by {actor.full_name}"
    elif why is None:
        why = f"the visit date was changed to {visit.actual_date.isoformat()} by {actor.full_name}"
    valid = [s for s in signatures_for(session, VISIT, visit.id) if s.valid]
    return _invalidate(session, VISIT, visit.id, valid,
                       lambda: visit_hash(visit_content(session, visit)), actor, why)


def _invalidate(session: Session, target: str, target_id: int, valid: list[Signature],
                current: Callable[[], str], actor: User, why: str) -> list[Signature]:
    if not valid:
        return []  # most saves: nothing signed, nothing to hash
    content_hash = current()
    changed = [s for s in valid if s.content_hash != content_hash]
    for signature in changed:
        signature.invalidated_at, signature.invalidated_reason = utcnow(), why
        signed = f"{signature.signed_at:%Y-%m-%d %H:%M} UTC"
        audit.record_event(session, "signature_invalidated", actor=actor,
                           entity_type="signatures", entity_id=signature.id,
                           site_id=signature.site_id, reason=why,
                           detail=f"{_TABLE[target]} {target_id} signed by "
                                  f"{signature.printed_name} at {signed}")
    return changed
