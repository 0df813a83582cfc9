"""The baselines of the export benchmark: hand-written SELECTs of the rows each export writes,
for `COPY (…) TO STDOUT WITH (FORMAT csv)`.

CSV: per CRF, one row per CRF instance with the export's key columns and one column per item
part (value, unit, ULN, value in the protocol's unit), pivoted in SQL; then visits.csv's rows
with the status computed in SQL. ODM: one row per stored value with its subject, site, visit,
CRF, the audit row of its last change and the valid signatures of its CRF and visit.
What the baselines do not do: neutralise formula cells, format booleans and decimals as the
export does, compress, or write XML.
"""

from __future__ import annotations

from app.domain import tabular
from app.domain.definitions import FormDef
from bench.sweep import STATUS


def _sites(site_ids: frozenset[int] | None, column: str) -> str:
    return "" if site_ids is None else f" AND {column} IN ({', '.join(map(str, sorted(site_ids)))})"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_PART = {"value": "iv.value", "unit": "iv.unit", "uln": "iv.uln",
         "std": "trim_scale(iv.canonical_value)"}


def form_rows(study_code: str, study_id: int, form: FormDef,
              site_ids: frozenset[int] | None) -> str:
    """One CRF's file: an instance per row, its values pivoted into the export's columns."""
    items = ",\n  ".join(f"max({_PART[c.part]}) FILTER (WHERE iv.item_code = {_quoted(c.item)})"
                         for c in tabular.columns(form))
    return f"""SELECT {_quoted(study_code)}, s.code,
  coalesce(p.participant_code, sc.screening_number), v.code, v.name, e.sequence, e.version,
  e.updated_at{',' if items else ''}
  {items}
FROM crf_entries e
JOIN protocol_versions pv ON pv.id = e.protocol_version_id
JOIN sites s ON s.id = e.site_id
LEFT JOIN participants p ON p.id = e.participant_id
LEFT JOIN screenings sc ON sc.id = e.screening_id
LEFT JOIN visits v ON v.id = e.visit_id
LEFT JOIN item_values iv ON iv.entry_id = e.id
WHERE pv.study_id = {study_id} AND e.form_code = {_quoted(form.code)}{_sites(site_ids, 'e.site_id')}
GROUP BY e.id, s.id, p.id, sc.id, v.id
ORDER BY e.id"""


# the status rule in SQL, the same text the sweep's baseline runs
_STATUS = STATUS.format(today="(now() AT TIME ZONE s.timezone)::date")


def visit_rows(study_code: str, study_id: int, site_ids: frozenset[int] | None) -> str:
    """visits.csv: every visit of the study's participants, its status as of today."""
    return f"""SELECT {_quoted(study_code)}, s.code, p.participant_code, v.code, v.name, v.anchor,
  v.target_date, v.window_start, v.window_end, v.window_ours, v.unscheduled, v.actual_date,
  v.not_done_reason, {_STATUS}
FROM visits v
JOIN participants p ON p.id = v.participant_id
JOIN sites s ON s.id = v.site_id
WHERE p.study_id = {study_id}{_sites(site_ids, 'v.site_id')}
ORDER BY p.id, v.target_date, v.id"""


def _latest_signature(target: str) -> str:
    return f"""(SELECT DISTINCT ON (target_id) target_id, signer_id, meaning, signed_at
  FROM signatures WHERE target = '{target}' AND invalidated_at IS NULL
  ORDER BY target_id, id DESC)"""


def value_rows(study_id: int, site_ids: frozenset[int] | None) -> str:
    """The ODM's rows: each stored value, where it belongs, its last change and signatures."""
    return f"""SELECT coalesce(pe.participant_code, ps.participant_code, sc.screening_number),
  s.code, v.code, e.form_code, e.sequence, iv.item_code, iv.value, iv.unit,
  a.actor_id, a.occurred_at, a.reason, fs.signer_id, fs.meaning, fs.signed_at,
  vs.signer_id, vs.meaning, vs.signed_at
FROM crf_entries e
JOIN protocol_versions pv ON pv.id = e.protocol_version_id
JOIN item_values iv ON iv.entry_id = e.id
JOIN sites s ON s.id = e.site_id
LEFT JOIN participants pe ON pe.id = e.participant_id
LEFT JOIN screenings sc ON sc.id = e.screening_id
LEFT JOIN participants ps ON ps.screening_id = e.screening_id
LEFT JOIN visits v ON v.id = e.visit_id
LEFT JOIN (SELECT DISTINCT ON (entity_id, field) entity_id, field, actor_id, occurred_at, reason
  FROM audit_events WHERE entity_type = 'crf_entries' AND action IN ('enter', 'update')
  ORDER BY entity_id, field, id DESC) a ON a.entity_id = e.id AND a.field = iv.item_code
LEFT JOIN {_latest_signature('crf')} fs ON fs.target_id = e.id
LEFT JOIN {_latest_signature('visit')} vs ON vs.target_id = v.id
WHERE pv.study_id = {study_id} AND iv.value IS NOT NULL{_sites(site_ids, 'e.site_id')}
ORDER BY coalesce(pe.id, ps.id) NULLS LAST, v.id IS NOT NULL, sc.id, v.target_date, v.id,
  e.form_code, e.sequence, iv.id"""


def copy(select: str) -> str:
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
