"""Study and CRF definitions as frozen values, built by the loader from schedules/ and forms/."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from app.domain.rules import Rule
from app.domain.schedule import Schedule


class ItemType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    QUANTITY = "quantity"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    TITRE = "titre"


@dataclass(frozen=True)
class Range:
    low: Decimal | None
    high: Decimal | None

    def contains(self, value: Decimal) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self, unit: str | None) -> str:
        suffix = f" {unit}" if unit else ""
        return f"{self.low if self.low is not None else '…'}–" \
               f"{self.high if self.high is not None else '…'}{suffix}"


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    type: ItemType
    required: bool = False
    unit: str | None = None  # the protocol's unit (quantity)
    units: tuple[str, ...] = ()  # units a site may enter (quantity)
    codelist: tuple[tuple[str, str], ...] = ()  # (code, label) for choice
    hard: Range | None = None  # outside: refused
    soft: Range | None = None  # outside: accepted, flagged for review
    uln: bool = False  # the lab's upper limit of normal is entered with the value
    judgement: bool = False  # an investigator's yes/no on a criterion
    identifying: bool = False  # a personal identifier
    derived: tuple[str, tuple[tuple[str, str], ...]] | None = None  # (kind, params)
    show_if: Rule | None = None
    help: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


class CriterionKind(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: CriterionKind
    text: str
    rule: Rule
    subgroups: tuple[str, ...] = ()  # empty: every sub-group

    def applies_to(self, subgroup: str | None) -> bool | None:
        """True/False, or None when it depends on a sub-group not yet chosen."""
        if not self.subgroups:
            return True
        return None if subgroup is None else subgroup in self.subgroups


@dataclass(frozen=True)
class FormDef:
    code: str
    title: str
    study: str | None
    sections: tuple[Section, ...]
    criteria: tuple[Criterion, ...] = ()
    source: str = ""  # the file it was loaded from
    repeating: bool = False  # a visit may hold any number of these (adverse events, …)

    @cached_property
    def items(self) -> dict[str, Item]:
        """By code; built once (a save looks items up a few hundred times). Do not change it."""
        return {item.code: item for section in self.sections for item in section.items}


@dataclass(frozen=True)
class Choice:
    code: str
    name: str


@dataclass(frozen=True)
class Randomization:
    ratio: tuple[tuple[str, int], ...]  # (arm code, weight)
    block_sizes: tuple[int, ...]
    stratify_by: tuple[str, ...] = ("site",)


@dataclass(frozen=True)
class StudyDef:
    code: str
    title: str
    screening_form: str
    arms: tuple[Choice, ...]
    subgroups: tuple[Choice, ...] = ()
    registry_id: str | None = None
    phase: str | None = None
    target_enrollment: int | None = None
    randomization: Randomization | None = None
    source: str = ""
    schedule: Schedule = field(default_factory=Schedule)


@dataclass(frozen=True)
class Protocol:
    """One version of a study: its definition, its forms, and the hash that identifies it."""

    study: StudyDef
    forms: dict[str, FormDef] = field(default_factory=dict)
    content_hash: str = ""
    documents: dict = field(default_factory=dict, compare=False, repr=False)  # as loaded

    @property
    def screening(self) -> FormDef:
        return self.forms[self.study.screening_form]
