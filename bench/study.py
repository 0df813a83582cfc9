"""BENCH40: the study the CRF-save benchmark writes into, built from the real shared forms.

Its one visit CRF has 40 fields: the 15 laboratory items of forms/labs.yaml (entered in
the site's units, converted to the protocol's) and the 25 of forms/sledai2k.yaml (24
yes/no descriptors and their derived total). The documents are assembled here rather than
kept as copies in schedules/ and forms/, so the benchmark saves exactly the items sites
save, and `make run` never shows a study that exists only to be measured.
"""

from __future__ import annotations

from typing import Any

from app.config import PROJECT_ROOT
from app.domain.definitions import Protocol
from app.studies import loader

CODE = "BENCH40"
FORM = "BENCH40_CRF"
VISITS = 36  # monthly visits, every one asking for the 40-field CRF


def _shared_sections(name: str) -> list[dict[str, Any]]:
    data, errors = loader.read_yaml(PROJECT_ROOT / "forms" / name, f"forms/{name}")
    if errors:
        raise loader.DefinitionInvalid(errors)
    return data["sections"]


def documents() -> dict[str, Any]:
    study = {
        "format": 1,
        "study": {"code": CODE, "title": "Benchmark study: monthly 40-field CRF"},
        "screening_form": f"{CODE}_SCR",
        "arms": [{"code": "ALL", "name": "Single arm"}],
        "anchors": [{"code": "ENROL", "name": "Enrolment", "kind": "enrollment"}],
        "visits": [{"code": "M{month}", "name": "Month {month}", "anchor": "ENROL",
                    "repeat": {"start": 30, "every": 30, "until": 30 * VISITS},
                    "window": {"before": 7, "after": 7, "ours": True}, "forms": [FORM]}],
    }
    crf = {"format": 1, "form": {"code": FORM, "title": "Labs and SLEDAI-2K", "study": CODE},
           "sections": _shared_sections("labs.yaml") + _shared_sections("sledai2k.yaml")}
    screening = {"format": 1, "form": {"code": f"{CODE}_SCR", "title": "Screening", "study": CODE},
                 "sections": [{"title": "Consent", "items": [
                     {"code": "CONSENT", "label": "Consent signed", "type": "boolean"}]}]}
    return {f"schedules/{CODE.lower()}.yaml": study, f"forms/{FORM.lower()}.yaml": crf,
            f"forms/{CODE.lower()}_scr.yaml": screening}


def protocol() -> Protocol:
    return loader.build(documents())
