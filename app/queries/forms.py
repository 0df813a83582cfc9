"""The query forms: one text each; the steps on an existing query carry its version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

TEXT_MAX = 2000


class AskForm(FlaskForm):
    text = TextAreaField("Question", validators=[
        DataRequired(message="Write the question for the site."), Length(max=TEXT_MAX)])


class _Step(FlaskForm):
    version = HiddenField()  # the query's version when the page was shown

    def expected_version(self) -> int | None:
        return int(self.version.data) if (self.version.data or "").isdigit() else None


class AnswerForm(_Step):
    text = TextAreaField("Answer", validators=[
        DataRequired(message="Write the answer."), Length(max=TEXT_MAX)])


class CloseForm(_Step):
    text = TextAreaField("Note on closing (optional)", validators=[Optional(),
                                                                     Length(max=TEXT_MAX)])


class ReopenForm(_Step):
    text = TextAreaField("Why reopen?", validators=[
        DataRequired(message="Say what is still unclear."), Length(max=TEXT_MAX)])


STEP_FORMS = {"answer": AnswerForm, "close": CloseForm, "reopen": ReopenForm}


def step_form(action: str, version: int | None = None) -> _Step:
    """A step's form, prefixed so that two forms on one page keep distinct field ids.

    With a version: a blank form to show. Without: the form as posted in this request.
    """
    if version is None:
        return STEP_FORMS[action](prefix=action)
    form = STEP_FORMS[action](formdata=None, prefix=action)
    form.version.data = str(version)
    return form
