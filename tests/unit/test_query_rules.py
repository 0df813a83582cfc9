"""The query life cycle as plain rules: every allowed step, every refused one, and the texts."""

from decimal import Decimal
from itertools import product

import pytest

from app.domain.access import ROLE_PERMISSIONS, Permission, Role
from app.domain.definitions import Range
from app.domain.queries import (
    PERMISSION_FOR,
    QueryAction,
    QueryStatus,
    TransitionRefused,
    actions_from,
    correction_text,
    is_unresolved,
    next_status,
    soft_range_text,
)

OPEN, ANSWERED, CLOSED = QueryStatus.OPEN, QueryStatus.ANSWERED, QueryStatus.CLOSED
ALLOWED = {
    (OPEN, QueryAction.ANSWER): ANSWERED,
    (OPEN, QueryAction.CORRECT): ANSWERED,
    (OPEN, QueryAction.CLOSE): CLOSED,
    (ANSWERED, QueryAction.CLOSE): CLOSED,
    (CLOSED, QueryAction.REOPEN): OPEN,
    (ANSWERED, QueryAction.REOPEN): OPEN,
}


@pytest.mark.parametrize(("status", "action"), list(ALLOWED))
def test_allowed_steps(status, action):
    assert next_status(status, action) is ALLOWED[(status, action)]
    assert next_status(status.value, action.value) is ALLOWED[(status, action)]  # stored text


@pytest.mark.parametrize(("status", "action"),
                         [pair for pair in product(QueryStatus, QueryAction)
                          if pair not in ALLOWED])
def test_every_other_step_is_refused_with_a_reason(status, action):
    with pytest.raises(TransitionRefused) as refused:
        next_status(status, action)
    assert str(refused.value).startswith("This query is")


def test_a_closed_query_must_be_reopened_before_an_answer():
    with pytest.raises(TransitionRefused, match="reopen it first"):
        next_status(CLOSED, QueryAction.ANSWER)


def test_unknown_status_is_an_error_not_a_silent_pass():
    with pytest.raises(ValueError):
        next_status("pending", QueryAction.ANSWER)


def test_actions_offered_per_status():
    assert actions_from(OPEN) == (QueryAction.ANSWER, QueryAction.CLOSE)
    assert actions_from(ANSWERED) == (QueryAction.CLOSE, QueryAction.REOPEN)
    assert actions_from("closed") == (QueryAction.REOPEN,)


def test_answered_queries_still_count_as_open():
    assert is_unresolved(OPEN) and is_unresolved(ANSWERED) and not is_unresolved(CLOSED)


def test_monitors_raise_and_close_coordinators_answer():
    def may(role: Role, action: QueryAction) -> bool:
        return PERMISSION_FOR[action] in ROLE_PERMISSIONS[role]

    for action in (QueryAction.RAISE, QueryAction.CLOSE, QueryAction.REOPEN):
        assert may(Role.MONITOR, action) and may(Role.DATA_MANAGER, action)
        assert not may(Role.COORDINATOR, action)
    assert may(Role.COORDINATOR, QueryAction.ANSWER) and may(Role.INVESTIGATOR,
                                                             QueryAction.CORRECT)
    assert not may(Role.MONITOR, QueryAction.ANSWER)
    assert QueryAction.AUTO not in PERMISSION_FOR  # the system needs no permission
    assert set(PERMISSION_FOR.values()) <= {Permission.RAISE_QUERY, Permission.ENTER_DATA}


def test_soft_range_text_names_value_range_and_unit():
    text = soft_range_text("Systolic blood pressure", "230 mmHg", Decimal("230"), "mmHg",
                           Range(Decimal(80), Decimal(200)))
    assert text == ("Systolic blood pressure: 230 mmHg is outside the expected range "
                    "80–200 mmHg. Please confirm the value or correct it.")


def test_soft_range_text_gives_the_protocol_unit_when_entered_in_another():
    text = soft_range_text("Body weight", "480 lb", Decimal("217.724398"), "kg",
                           Range(Decimal(30), Decimal(200)))
    assert "480 lb (= 217.724 kg) is outside the expected range 30–200 kg" in text


def test_soft_range_text_with_an_open_ended_range_and_no_unit():
    text = soft_range_text("Score", "31", Decimal(31), None, Range(None, Decimal(30)))
    assert "Score: 31 is outside the expected range …–30." in text


def test_correction_text_carries_old_new_and_reason():
    assert correction_text("SYSBP", "230 mmHg", "130 mmHg", " transcription error ") == \
        "Corrected SYSBP: 230 mmHg → 130 mmHg. Reason: transcription error"
    assert correction_text("PULSE", None, "70 bpm", None) == \
        "Corrected PULSE: (blank) → 70 bpm."
