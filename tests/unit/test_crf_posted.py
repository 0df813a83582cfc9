"""A CRF post read without its WTForms form (`read_posted`) holds what the form would hold:
for any stored values and any post, the same values and hidden fields when the form is
valid, and None exactly when it is not."""

from __future__ import annotations

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.config import PROJECT_ROOT
from app.crf.forms import REASON_MAX, TEXT_MAX, bind, read_posted
from app.domain.definitions import ItemType
from app.studies import loader
from tests.conftest import MINI

APP = Flask(__name__)
APP.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)


def _forms():
    found = []
    for schedules, forms in ((PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms"),
                             (MINI / "schedules", MINI / "forms")):
        protocols, errors = loader.load_all(schedules, forms)
        assert errors == []
        found += [f for p in protocols for f in p.forms.values()]
    return sorted({f.code: f for f in found}.values(), key=lambda f: f.code)


FORMS = _forms()


def _texts(item) -> st.SearchStrategy[str]:
    typical = {ItemType.BOOLEAN: ["yes", "no", "maybe"],
               ItemType.CHOICE: [c for c, _ in item.codelist] + ["other"],
               ItemType.DATE: ["2026-03-04", "2026-02-30", "04/03/2026"],
               ItemType.TITRE: ["1:80", "1:7", "80"],
               ItemType.QUANTITY: ["1.2", "0", "-3", "abc", "1e400"]}.get(item.type, [])
    return st.one_of(st.sampled_from([*typical, "", " ", "12", " 7.5 ", "x"]),
                     st.text(max_size=12),
                     st.just("a" * (TEXT_MAX + 1)))


def _valid(item) -> st.SearchStrategy[str]:
    """Text that parses, for half of the cases: most random posts hold some bad value."""
    number = "7"
    if item.hard is not None and item.hard.low is not None:
        number = str(item.hard.low if item.hard.high is None
                     else (item.hard.low + item.hard.high) / 2)
    typical = {ItemType.BOOLEAN: ["yes", "no"],
               ItemType.CHOICE: [c for c, _ in item.codelist],
               ItemType.DATE: ["2026-03-04"], ItemType.TITRE: ["1:80"],
               ItemType.TEXT: ["a note", " spaced "]}.get(item.type, [number, f" {number} "])
    return st.sampled_from([*typical, ""])


def _stored(item, texts=_texts) -> st.SearchStrategy:
    if item.type is ItemType.QUANTITY:
        return st.fixed_dictionaries({"value": texts(item),
                                      "unit": st.sampled_from((*item.units, "")),
                                      "uln": st.one_of(st.none(), st.sampled_from(["40", ""]))})
    return texts(item)


@st.composite
def cases(draw):
    form = draw(st.sampled_from(FORMS))
    texts = _valid if draw(st.booleans()) else _texts
    items = [i for i in form.items.values() if i.derived is None]
    stored = {i.code: draw(_stored(i, texts)) for i in items if draw(st.booleans())}
    post = MultiDict()
    for item in items:
        names = ([f"{item.code}-value", f"{item.code}-unit", f"{item.code}-uln"]
                 if item.type is ItemType.QUANTITY else [item.code])
        for name in names:
            for _ in range(draw(st.integers(0, 2))):  # absent, once, or twice
                unit = name.endswith("-unit")
                post.add(name, draw(st.sampled_from((*item.units, "mg")) if unit
                                    else texts(item)))
    for name, values in (("entry_version", st.sampled_from(["", "0", "3", "x", "²"])),
                         ("change_reason", st.sampled_from(["", "typo", "r" * (REASON_MAX + 1)]))):
        if draw(st.booleans()):
            post.add(name, draw(values))
    return form, stored, post


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_post_read_directly_is_what_the_form_holds(case):
    form_def, stored, post = case
    with APP.test_request_context(method="POST", data=post):
        fast = read_posted(form_def, stored, post)
        form = bind(form_def, stored, 0, post)
        valid = form.validate()
        if post.get("entry_version") in ("x", "²"):  # tampered with: the view answers 400
            assert fast is None
            return
        assert (fast is not None) == valid, (form.errors, form.problems)
        if valid:
            slow = form.posted()
            assert fast.raw == slow.raw
            assert (fast.version, fast.reason) == (slow.version, slow.reason)
            assert fast.parsed.values == slow.parsed.values


def test_an_unsent_radio_keeps_the_stored_answer():
    form_def = next(f for f in FORMS if any(i.type is ItemType.BOOLEAN and i.derived is None
                                            for i in f.items.values()))
    code = next(c for c, i in form_def.items.items() if i.type is ItemType.BOOLEAN)
    with APP.test_request_context(method="POST"):
        posted = read_posted(form_def, {code: "yes"}, MultiDict())
    assert posted is not None and posted.raw[code] == "yes"
