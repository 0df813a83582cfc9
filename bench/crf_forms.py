"""What the CRF-save benchmark posts: for each client (a coordinator of one site) the empty
BENCH40 CRFs of its site, and for each CRF the form a coordinator would submit, filled with
values as the site's lab reports them (in the site's units, within the soft ranges, so no
automatic query opens)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, exists, select

from app.crf.models import CrfEntry
from app.domain.definitions import FormDef, Item, ItemType
from app.domain.units import convert
from app.participants.models import Participant
from app.sites.models import Site
from app.studies.models import Study
from app.visits.models import Visit
from bench import study as bench_study
from bench.crfdata import site_unit


@dataclass(frozen=True)
class Desk:
    """One client's site and the visits whose CRF it saves, in order."""

    username: str
    site_index: int  # the site's position in id order: it picks the lab's units
    visits: tuple[int, ...]


def definition() -> FormDef:
    return bench_study.protocol().forms[bench_study.FORM]


def path(visit_id: int) -> str:
    return f"/visits/{visit_id}/forms/{bench_study.FORM}"


def desks(engine: Engine, count: int) -> list[Desk]:
    """The `count` sites with the most empty BENCH40 CRFs, one desk each."""
    empty = (select(Visit.site_id, Visit.id).join(Participant)
             .join(Study, Study.id == Participant.study_id)
             .where(Study.code == bench_study.CODE, Visit.cancelled_at.is_(None),
                    Visit.unscheduled.is_(False),
                    ~exists().where(CrfEntry.visit_id == Visit.id,
                                    CrfEntry.form_code == bench_study.FORM)))
    with engine.connect() as conn:
        sites = conn.execute(select(Site.id, Site.code).order_by(Site.id)).all()
        by_site: dict[int, list[int]] = {}
        for site_id, visit_id in conn.execute(empty.order_by(Visit.id)):
            by_site.setdefault(site_id, []).append(visit_id)
    index = {site_id: n for n, (site_id, _) in enumerate(sites)}
    codes = dict(sites)
    chosen = sorted(by_site, key=lambda s: (-len(by_site[s]), s))[:count]
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} sites have empty {bench_study.FORM} CRFs")
    return [Desk(f"coord-{codes[s]}".lower(), index[s], tuple(by_site[s])) for s in sorted(chosen)]


def fields(form: FormDef, site_index: int, rng: random.Random) -> list[tuple[str, str]]:
    """The posted fields of one CRF, named as app.crf.forms names them."""
    posted: list[tuple[str, str]] = []
    for item in form.items.values():
        if item.derived is None:
            posted.extend(_item_fields(item, site_index, rng))
    return posted


def _item_fields(item: Item, site_index: int, rng: random.Random) -> list[tuple[str, str]]:
    if item.type is ItemType.QUANTITY:
        unit = site_unit(item, site_index)
        shown = [(f"{item.code}-value", _lab_number(item, unit, rng)),
                 (f"{item.code}-unit", unit)]
        return shown + ([(f"{item.code}-uln", "40")] if item.uln else [])
    if item.type is ItemType.BOOLEAN:
        return [(item.code, "yes" if rng.random() < 0.1 else "no")]
    if item.type is ItemType.TITRE:
        return [(item.code, f"1:{rng.choice((40, 80, 160, 320))}")]
    raise ValueError(f"{item.code}: no benchmark value for {item.type}")


def _lab_number(item: Item, unit: str, rng: random.Random) -> str:
    """A value in the lower middle of the soft range, as a lab prints it in `unit`."""
    low, high = item.soft.low, item.soft.high
    span = high - low
    wanted = low + span / 4 + Decimal(str(rng.random())) * span / 4
    shown = convert(wanted, item.unit, unit, item.code)
    return f"{shown:.3g}" if abs(shown) < 1000 else str(int(shown))


def body(posted: list[tuple[str, str]], csrf: str) -> bytes:
    """A first save: entry version 0, no change reason."""
    return urlencode([*posted, ("entry_version", "0"), ("change_reason", ""),
                      ("csrf_token", csrf)]).encode()


def raw_values(form: FormDef, posted: list[tuple[str, str]]) -> dict[str, Any]:
    """The posted fields in the shape the application parses (app.crf.forms.raw_of)."""
    raw: dict[str, Any] = {}
    for name, value in posted:
        code, _, part = name.partition("-")
        if part:
            raw.setdefault(code, {})[part] = value
        else:
            raw[code] = value
    return raw
