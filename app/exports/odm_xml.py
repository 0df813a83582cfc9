"""The XML of ODM clinical data: OIDs of users, sites and signature meanings, attributes, and
a CRF instance's FormData with each value's ItemData and audit record.

An export writes an ItemData per stored value, millions for a large study: what depends only
on the form (its items, their OIDs, groups and order) is worked out once per form
(`FormWriter`), and the common case of an attribute needing no escaping is a concatenation.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from app.crf.models import split_shown
from app.domain.definitions import FormDef, ItemType
from app.odm import oids

_SPECIAL = re.compile(r"[&<>\"\n\r\t]")  # what quoteattr would change


def user_oid(user_id: int | None) -> str:
    return f"USR.{user_id}" if user_id is not None else "USR.system"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def meaning_oid(meaning: str) -> str:
    return "SD." + hashlib.sha256(meaning.encode()).hexdigest()[:10]


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def quoted(value: str) -> str:
    """`quoteattr(value)`, without its work when there is nothing to escape."""
    return quoteattr(value) if _SPECIAL.search(value) else f'"{value}"'


def attrs(**values: object) -> str:
    return "".join(f" {k}={quoted(str(v))}" for k, v in values.items() if v is not None)


def signature(signer_id: int | None, meaning: str | None, at: datetime | None,
              site: str) -> str:
    if signer_id is None:
        return ""
    return (f'<Signature><UserRef UserOID="{user_oid(signer_id)}"/>'
            f'<LocationRef LocationOID="{location_oid(site)}"/>'
            f'<SignatureRef SignatureOID="{meaning_oid(meaning)}"/>'
            f"<DateTimeStamp>{when(at)}</DateTimeStamp></Signature>")


class FormWriter:
    """FormData of one form's instances; one writer per form and export."""

    def __init__(self, form: FormDef) -> None:
        self.form = form
        self.items = form.items  # a property that builds the dict: once, not per value
        self.order = {code: n for n, code in enumerate(self.items)}
        self.groups = oids.item_group_oids(form)
        self.item_oids = {code: quoted(oids.item_oid(form.code, code)) for code in self.items}
        self.titres = {code for code, item in self.items.items() if item.type is ItemType.TITRE}
        self.form_oid = oids.form_oid(form.code)
        self._units: dict[str, str] = {}
        self._moment: tuple[datetime | None, str] = (None, "")

    def form_data(self, entry, rows: list) -> str:
        """One instance: its rows (one per value, or per change) in any order of items."""
        order, site = self.order, entry.site
        by_group: dict[str, list[str]] = {}
        for r in sorted((r for r in rows if r.item_code in order),
                        key=lambda r: order[r.item_code]):
            by_group.setdefault(self.groups[r.item_code], []).append(self._item(r, site))
        body = "".join(f"<ItemGroupData{attrs(ItemGroupOID=oid)}>{''.join(items)}"
                       "</ItemGroupData>" for oid, items in by_group.items())
        head = attrs(FormOID=self.form_oid, FormRepeatKey=entry.sequence)
        sign = signature(entry.f_signer, entry.f_meaning, entry.f_at, site)
        return f"<FormData{head}>{sign}{body}</FormData>"

    def _item(self, r, site: str) -> str:
        code, value, unit = r.item_code, r.value, r.unit
        if r.action is not None:  # an audit row: the value as shown then, read back
            value, unit, _ = split_shown(value, self.items[code].units)
        if code in self.titres and value and value.startswith("1:"):
            value = value[2:]
        audit = ""
        if r.occurred_at is not None:
            reason = f"<ReasonForChange>{escape(r.reason)}</ReasonForChange>" if r.reason else ""
            audit = (f'<AuditRecord><UserRef UserOID="{user_oid(r.actor_id)}"/>'
                     f'<LocationRef LocationOID="{location_oid(site)}"/>'
                     f"<DateTimeStamp>{self._when(r.occurred_at)}</DateTimeStamp>{reason}"
                     "</AuditRecord>")
        unit_ref = f'<MeasurementUnitRef MeasurementUnitOID="{self._unit(unit)}"/>' if unit \
            else ""
        transaction = "" if r.action is None else \
            f' TransactionType="{"Insert" if r.action == "enter" else "Update"}"'
        shown = ' IsNull="Yes"' if value in (None, "") else f" Value={quoted(value)}"
        return (f"<ItemData ItemOID={self.item_oids[code]}{transaction}{shown}>{audit}{unit_ref}"
                "</ItemData>")

    def _unit(self, unit: str) -> str:
        oid = self._units.get(unit)
        if oid is None:
            oid = self._units[unit] = oids.unit_oid(unit)
        return oid

    def _when(self, moment: datetime) -> str:
        """The values of one save share its moment: formatted once."""
        last, text = self._moment
        if moment != last:
            text = when(moment)
            self._moment = (moment, text)
        return text
