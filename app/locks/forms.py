"""Lock and unlock forms. Each carries a prefix naming its target, so that several on one
page (the studies table) keep distinct field ids."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional


class LockForm(FlaskForm):
    reason = StringField("Reason for locking (optional)",
                         validators=[Optional(), Length(max=500)])


class UnlockForm(FlaskForm):
    reason = StringField("Reason for unlocking",
                         validators=[DataRequired(message="Give the reason for unlocking."),
                                     Length(max=500)])


def lock_form(scope: str, target_id: int) -> LockForm:
    return LockForm(prefix=f"lock-{scope}-{target_id}")


def unlock_form(lock_id: int) -> UnlockForm:
    return UnlockForm(prefix=f"unlock-{lock_id}")
