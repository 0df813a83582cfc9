"""The clinical-data ODM export passes the ODM 1.3.2 XSD and carries audit and signatures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from app.crf.models import CrfEntry
from app.model_base import utcnow
from app.odm.schema import parse, schema_problems
from app.signatures.models import Signature
from tests.conftest import login
from tests.functional.test_export_csv import exported_world  # noqa: F401 - a shared fixture

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def _sign(session, participant, meaning: str, invalidated: bool = False) -> None:
    entry = session.scalars(select(CrfEntry).where(CrfEntry.participant_id == participant.id,
                                                   CrfEntry.form_code == "LAB")).one()
    session.add(Signature(target="crf", target_id=entry.id, site_id=entry.site_id,
                          study_id=participant.study_id, signer_id=participant.enrolled_by_id,
                          printed_name="Dr A", meaning=meaning, content_hash="0" * 64,
                          invalidated_at=utcnow() if invalidated else None))
    session.commit()


def _export(client, user: str) -> ET.Element:
    login(client, user)
    resp = client.get("/exports/CS20AT04.odm.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    return parse(resp.get_data())


def test_the_export_validates_against_the_xsd(client, session, exported_world):  # noqa: F811
    _sign(session, exported_world["a"], "Reviewed and approved")
    root = _export(client, "root-admin")
    assert schema_problems(root) == []


def test_values_units_audit_records_and_signatures(client, session,
                                                   exported_world):  # noqa: F811
    _sign(session, exported_world["a"], "Reviewed and approved")
    root = _export(client, "dm-a")
    subject = root.find(".//odm:SubjectData[@SubjectKey='SITEA-A01']", NS)
    hgb = subject.find(".//odm:ItemData[@ItemOID='IT.LAB.HGB']", NS)
    assert hgb.get("Value") == "120"
    assert hgb.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID") == "MU.g_per_L"
    audit = hgb.find("odm:AuditRecord", NS)
    assert audit.find("odm:UserRef", NS).get("UserOID").startswith("USR.")
    assert audit.find("odm:DateTimeStamp", NS).text.endswith("+00:00")
    lab = subject.find(".//odm:FormData[@FormOID='F.LAB']", NS)
    signature = lab.find("odm:Signature", NS)
    meaning_oid = signature.find("odm:SignatureRef", NS).get("SignatureOID")
    meaning = root.find(f".//odm:SignatureDef[@OID='{meaning_oid}']/odm:Meaning", NS)
    assert meaning.text == "Reviewed and approved"


def test_invalidated_signatures_are_not_exported(client, session, exported_world):  # noqa: F811
    _sign(session, exported_world["a"], "Reviewed and approved", invalidated=True)
    root = _export(client, "dm-a")
    assert root.find(".//odm:Signature", NS) is None


def test_a_site_scoped_export_holds_only_its_sites(client, exported_world):  # noqa: F811
    root = _export(client, "dm-a")
    keys = {s.get("SubjectKey") for s in root.iterfind(".//odm:SubjectData", NS)}
    assert keys == {"SITEA-A01"}
    assert {loc.get("OID") for loc in root.iterfind(".//odm:Location", NS)} == {"LOC.SITEA"}


def test_the_cli_writes_odm(app, exported_world, tmp_path):  # noqa: F811
    out = tmp_path / "cs.xml"
    result = app.test_cli_runner().invoke(args=["export", "odm", "CS20AT04", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert schema_problems(parse(out.read_bytes())) == []


def test_each_section_is_one_item_group_in_the_forms_order(client, session, two_sites,
                                                           exported_world):  # noqa: F811
    from app.crf import services as crf_services
    from app.studies.services import protocol_of

    participant = exported_world["a"]
    entry = session.scalars(select(CrfEntry).where(CrfEntry.participant_id == participant.id,
                                                   CrfEntry.form_code == "LAB")).one()
    form = protocol_of(participant.protocol_version).forms["LAB"]
    crf_services.save(session, entry, form, {**entry.raw_values(),
                                             "CREAT": {"value": "80", "unit": "umol/L"},
                                             "WBC": {"value": "5.2", "unit": "10^9/L"}},
                      actor=two_sites["coord_a"], reason=None)
    session.commit()
    root = _export(client, "dm-a")
    lab = root.find(".//odm:FormData[@FormOID='F.LAB']", NS)
    groups = [g.get("ItemGroupOID") for g in lab.iterfind("odm:ItemGroupData", NS)]
    assert len(groups) == len(set(groups)) and groups == sorted(groups)
    items = [i.get("ItemOID") for i in lab.iterfind(".//odm:ItemData", NS)]
    assert items.index("IT.LAB.HGB") < items.index("IT.LAB.WBC") < items.index("IT.LAB.CREAT")


def test_the_full_trail_has_every_change_with_its_reason(client, session, two_sites,
                                                         exported_world):  # noqa: F811
    from app.crf import services as crf_services
    from app.studies.services import protocol_of

    participant = exported_world["a"]
    entry = session.scalars(select(CrfEntry).where(CrfEntry.participant_id == participant.id,
                                                   CrfEntry.form_code == "LAB")).one()
    form = protocol_of(participant.protocol_version).forms["LAB"]
    actor = two_sites["coord_a"]
    crf_services.save(session, entry, form, {"HGB": {"value": "13", "unit": "g/dL"}},
                      actor=actor, reason="transcription error")
    crf_services.save(session, entry, form, {"HGB": {"value": "", "unit": "g/dL"}},
                      actor=actor, reason="wrong visit")
    session.commit()
    login(client, "dm-a")
    resp = client.get("/exports/CS20AT04.odm-history.xml")
    root = parse(resp.get_data())
    assert schema_problems(root) == [] and root.get("FileType") == "Transactional"
    hgb = root.findall(".//odm:ItemData[@ItemOID='IT.LAB.HGB']", NS)
    steps = [(i.get("TransactionType"), i.get("Value"), i.get("IsNull"),
              (i.find("odm:MeasurementUnitRef", NS) is not None)
              and i.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID"),
              getattr(i.find("odm:AuditRecord/odm:ReasonForChange", NS), "text", None))
             for i in hgb]
    assert steps == [("Insert", "120", None, "MU.g_per_L", None),
                     ("Update", "13", None, "MU.g_per_dL", "transcription error"),
                     ("Update", None, "Yes", False, "wrong visit")]


def test_screening_crfs_are_exported_for_enrolled_and_screened_out(client, session, two_sites,
                                                                  exported_world):  # noqa: F811
    from app.crf import services as crf_services
    from app.screening import services as screening
    from app.screening.models import Screening
    from app.studies.services import protocol_of

    participant = exported_world["a"]
    version = participant.protocol_version
    form = protocol_of(version).screening
    actor = two_sites["coord_a"]
    enrolled = session.get(Screening, participant.screening_id)
    crf_services.save(session, enrolled.entry, form, {"SCRDT": "2026-01-02"}, actor=actor,
                      reason=None)
    other = screening.start(session, version, two_sites["a"], "S-77", actor=actor)
    crf_services.save(session, other.entry, form, {"SCRDT": "2026-02-03"}, actor=actor,
                      reason=None)
    session.commit()
    root = _export(client, "dm-a")
    assert schema_problems(root) == []
    events = [e.get("StudyEventOID") for e in root.iterfind(
        ".//odm:SubjectData[@SubjectKey='SITEA-A01']/odm:StudyEventData", NS)]
    assert events[0] == "SE.ecrf.screening" and len(events) > 1
    alone = root.find(".//odm:SubjectData[@SubjectKey='S-77']", NS)
    assert alone.find(".//odm:ItemData[@ItemOID='IT.CS20AT04_SCR.SCRDT']", NS).get(
        "Value") == "2026-02-03"
    assert root.find(".//odm:StudyEventDef[@OID='SE.ecrf.screening']", NS) is None  # data only
