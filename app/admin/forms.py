from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.auth.passwords import MIN_LENGTH, policy_problem
from app.domain.access import Role

CODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", message="Letters, digits, - and _ only.")


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64), CODE])
    full_name = StringField("Full name (printed on signatures)",
                            validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    password = PasswordField(f"Initial password (at least {MIN_LENGTH} characters)",
                             validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})

    def validate_password(self, field) -> None:
        if problem := policy_problem(field.data or "", self.username.data):
            raise ValidationError(problem)


class GrantForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role])
    site = SelectField("Site", choices=[], validate_choice=True)
    study = SelectField("Study", choices=[], validate_choice=True)

    def set_choices(self, sites: list[tuple[str, str]], studies: list[tuple[str, str]]) -> None:
        self.site.choices = [SelectChoice("", "All sites")] + [SelectChoice(*s) for s in sites]
        self.study.choices = [SelectChoice("", "All studies")] + [SelectChoice(*s) for s in studies]


class ActiveForm(FlaskForm):
    version = HiddenField()
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


class SiteForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=20), CODE])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    timezone = StringField("Time zone (IANA, e.g. Asia/Seoul)",
                           validators=[DataRequired(), Length(max=64)])

    def validate_timezone(self, field) -> None:
        if field.data not in available_timezones():
            raise ValidationError("Not an IANA time zone name, e.g. Europe/Berlin or Asia/Seoul.")


class ReminderSettingsForm(FlaskForm):
    version = HiddenField()
    reminder_lead_days = IntegerField(
        "Days before a window opens that a visit counts as upcoming",
        validators=[DataRequired(), NumberRange(min=0, max=60)])
    kinds = SelectMultipleField(
        "Remind coordinators of visits that become",
        choices=[SelectChoice(k, k) for k in ("upcoming", "due", "overdue", "missed")],
        validate_choice=True)
    reminder_digest = BooleanField("One daily digest per person (untick: one email per visit)")
    reason = StringField("Reason for the change", validators=[DataRequired(), Length(max=300)])
