"""WTForms built at run time from a CRF definition; field names are the item codes.

Fields only collect text; `app.domain.values.parse_all` decides what is valid, so the
browser, the CLI and the API give the same message for the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, Form, FormField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.domain.definitions import FormDef, Item, ItemType
from app.domain.values import Entry, parse_all

TEXT_MAX, REASON_MAX = 2000, 500  # characters a text item and a change reason may hold


def raw_of(field: Field) -> Any:
    if isinstance(field, FormField):
        return {k: (v or "").strip() for k, v in field.data.items()}
    return field.data


def _label(item: Item) -> str:
    return f"{item.label} ({item.code})"


def _quantity(item: Item) -> Field:
    class QuantityForm(Form):
        value = StringField("Value", render_kw={"inputmode": "decimal"})
        unit = SelectField("Unit", choices=[SelectChoice(u, u) for u in item.units],
                           validate_choice=False)
        if item.uln:
            uln = StringField("Lab upper limit of normal", render_kw={"inputmode": "decimal"})

    return FormField(QuantityForm, label=_label(item))


def _boolean(item: Item) -> Field:
    return RadioField(_label(item), choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
                      validators=[Optional()], validate_choice=False)


def _choice(item: Item) -> Field:
    choices = [SelectChoice("", "—")] + [SelectChoice(c, label) for c, label in item.codelist]
    return SelectField(_label(item), choices=choices, validate_choice=False)


def _text_like(kind: str | None = None, placeholder: str | None = None,
               inputmode: str | None = None) -> Callable[[Item], Field]:
    def make(item: Item) -> Field:
        attrs = {k: v for k, v in (("type", kind), ("placeholder", placeholder),
                                   ("inputmode", inputmode)) if v}
        return StringField(_label(item), validators=[Length(max=TEXT_MAX)],
                           render_kw=attrs)

    return make


FIELD_BUILDERS: dict[ItemType, Callable[[Item], Field]] = {
    ItemType.TEXT: _text_like(),
    ItemType.INTEGER: _text_like(inputmode="numeric"),
    ItemType.DECIMAL: _text_like(inputmode="decimal"),
    ItemType.QUANTITY: _quantity,
    ItemType.DATE: _text_like(kind="date"),
    ItemType.BOOLEAN: _boolean,
    ItemType.CHOICE: _choice,
    ItemType.TITRE: _text_like(placeholder="1:80"),
}


class CrfForm(FlaskForm):
    entry_version = HiddenField()
    change_reason = StringField("Reason for changing saved values",
                                validators=[Length(max=REASON_MAX)])

    definition: FormDef
    parsed: Entry  # the values as the domain parser read them, once validated
    problems: dict[str, str]

    def validate(self, extra_validators=None) -> bool:
        """WTForms checks the token and lengths; the domain parser checks every value."""
        ok = super().validate(extra_validators)
        self.parsed = parse_all(self.definition, self.raw_values())
        self.problems = self.parsed.problems
        return ok and not self.problems

    def item_fields(self, section_index: int) -> list[tuple[Item, Field | None]]:
        items = self.definition.sections[section_index].items
        return [(item, getattr(self, item.code, None)) for item in items]

    def raw_values(self) -> dict[str, Any]:
        return {code: raw_of(getattr(self, code)) for code in self.definition.items
                if hasattr(self, code)}

    def posted(self) -> Posted:
        """What was posted, once validated."""
        return Posted(self.raw_values(), self.parsed, int(self.entry_version.data or 0),
                      self.change_reason.data)


@dataclass(frozen=True)
class Posted:
    """A posted CRF: its values as the fields hold them, parsed, and the hidden fields."""

    raw: dict[str, Any]
    parsed: Entry
    version: int
    reason: str | None


# id(definition) → (definition, its class). Building a class of 40 fields costs about a
# millisecond a request; the definition is kept here, so its id is never reused.
_CLASSES: dict[int, tuple[FormDef, type[CrfForm]]] = {}


def form_class(definition: FormDef) -> type[CrfForm]:
    """The form class of one CRF definition, built once (protocols are built once too)."""
    built = _CLASSES.get(id(definition))
    if built is None:
        built = _CLASSES[id(definition)] = (definition, _build_class(definition))
    return built[1]


def _build_class(definition: FormDef) -> type[CrfForm]:
    """Derived items get no field."""
    attrs: dict[str, Any] = {"definition": definition}
    for item in definition.items.values():
        if item.derived is None:
            attrs[item.code] = FIELD_BUILDERS[item.type](item)
    return type(f"{definition.code}Form", (CrfForm,), attrs)


def initial_data(definition: FormDef, raw: dict[str, Any]) -> dict[str, Any]:
    """Stored values in the shape the fields display."""
    data: dict[str, Any] = {}
    for code, value in raw.items():
        item = definition.items.get(code)
        if item is None or value is None:
            continue
        data[code] = {k: v or "" for k, v in value.items()} if isinstance(value, dict) else value
    return data


def bind(definition: FormDef, raw: dict[str, Any], version: int, formdata=None) -> CrfForm:
    """The form for one CRF entry: stored values, or what was just posted."""
    form = form_class(definition)(formdata=formdata, data=initial_data(definition, raw))
    if formdata is None:
        form.entry_version.data = str(version)
    return form


_TEXT_LIKE = frozenset({ItemType.TEXT, ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE,
                        ItemType.TITRE})
_CHOSEN = frozenset({ItemType.BOOLEAN, ItemType.CHOICE})


def read_posted(definition: FormDef, raw: dict[str, Any], formdata: Mapping) -> Posted | None:
    """The posted CRF read as `bind(definition, raw, …, formdata)` would read it, without
    building its form (a 40-field form costs milliseconds a save); None when the form must
    be built to show something next to a field: a value that does not parse, text too long.

    A field that was not posted keeps its stored value, as a WTForms field does (an
    unticked radio button sends nothing). tests/unit/test_crf_posted.py holds the two equal.
    """
    reason, version = _first(formdata, "change_reason", None), _first(formdata,
                                                                       "entry_version", None)
    if len(reason or "") > REASON_MAX or not (version or "0").isdecimal():
        return None  # the view's own check of a built form, the same
    initial = initial_data(definition, raw)
    values: dict[str, Any] = {}
    for code, item in definition.items.items():
        if item.derived is not None:
            continue
        before = initial.get(code)
        if item.type is ItemType.QUANTITY:
            held = before if isinstance(before, dict) else {}
            parts = ("value", "unit", "uln") if item.uln else ("value", "unit")
            values[code] = {p: (_first(formdata, f"{code}-{p}", held.get(p)) or "").strip()
                            for p in parts}
            continue
        value = _first(formdata, code, before)
        if item.type in _CHOSEN and value is not None:
            value = str(value)
        elif item.type in _TEXT_LIKE and len(value or "") > TEXT_MAX:
            return None
        values[code] = value
    parsed = parse_all(definition, values)
    if parsed.problems:
        return None
    return Posted(values, parsed, int(version or 0), reason)


def _first(formdata: Mapping, name: str, before: Any) -> Any:
    """The first value posted under `name`, else `before`."""
    posted = formdata.getlist(name) if name in formdata else ()
    return posted[0] if posted else before
