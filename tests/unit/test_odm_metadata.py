"""ODM 1.3.2 metadata: each seed study exports valid ODM and imports back to the same definition."""

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
import xmlschema

from app.config import PROJECT_ROOT
from app.domain.units import UNITS
from app.odm import oids, schema
from app.odm.importer import import_metadata, write_documents
from app.odm.metadata import export_metadata
from app.studies import loader
from app.studies.services import read_definitions

SEED_STUDIES = ("CS20AT04", "UCMSC-LN", "ALLOMSC-SLE", "CD19CART-SLE")
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def protocols():
    found, errors = loader.load_all(PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms")
    assert errors == []
    return {p.study.code: p for p in found}


@pytest.fixture(scope="module")
def exported(protocols):
    return {code: export_metadata(protocols[code], version=2, now=WHEN) for code in SEED_STUDIES}


@pytest.fixture(scope="module")
def odm_xsd() -> xmlschema.XMLSchema:
    """The official schema as odmlib ships it, found through the installed package."""
    xsd = Path(str(resources.files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"))
    assert xsd.is_file() and schema.xsd_path() == xsd
    return schema.odm_schema()  # the import's own copy of it: built once, a second a time


@pytest.mark.parametrize("code", SEED_STUDIES)
def test_export_validates_against_the_odm_1_3_2_xsd(odm_xsd, exported, code):
    errors = [f"{e.path}: {e.reason}" for e in odm_xsd.iter_errors(io.BytesIO(exported[code]))]
    assert errors == []


@pytest.mark.parametrize("code", SEED_STUDIES)
def test_import_gives_the_same_definition_back(protocols, exported, code):
    original = protocols[code]
    documents = import_metadata(exported[code])
    assert set(documents) == set(original.documents)  # the same file names, via ecrf:file
    back = loader.build(documents)
    # Study, forms, items, rules, schedule and the `source` file names compare exactly. Only
    # content_hash is normalised: it hashes the YAML as written (a `repeat` comes back as
    # the visits it expands to, 10.0 as 10), not the definition it means.
    assert replace(back, content_hash=original.content_hash) == original


def test_written_files_load_as_the_same_studies(protocols, exported, tmp_path):
    for xml in exported.values():
        write_documents(import_metadata(xml, validate=False), tmp_path)
    reread = {p.study.code: p for p in read_definitions(tmp_path / "schedules",
                                                        tmp_path / "forms")}
    assert set(reread) == set(SEED_STUDIES)
    for code, protocol in reread.items():
        assert (protocol.study, protocol.forms) == (protocols[code].study, protocols[code].forms)


def test_every_reference_resolves_and_every_unit_is_defined(exported):
    root = ET.fromstring(exported["CS20AT04"])
    defined = {el.get("OID") for el in root.iter() if el.get("OID")}
    refs = {(el.tag.split("}")[1], name, value) for el in root.iter()
            for name, value in el.attrib.items()
            if name.endswith("OID") and name not in ("OID", "FileOID")}
    assert refs and {value for *_, value in refs} <= defined
    used_units = {value for _, name, value in refs if name == "MeasurementUnitOID"}
    declared = {mu.get("OID") for mu in root.iterfind(".//odm:MeasurementUnit", NS)}
    assert used_units == declared


def test_the_mapping_of_one_study(exported):
    root = ET.fromstring(exported["CS20AT04"])
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert root.get("FileType") == "Snapshot" and root.get("ODMVersion") == "1.3.2"
    assert root.get("CreationDateTime") == "2026-03-01T09:30:00+00:00"
    assert mdv.get("OID") == "MDV.CS20AT04.v2"

    def one(path):
        (found,) = mdv.findall(path, NS)
        return found

    def alias(el, context):
        return one_alias.get("Name") if (one_alias := el.find(
            f"odm:Alias[@Context='{context}']", NS)) is not None else None

    d3 = one("odm:StudyEventDef[@OID='SE.INF1_D3']")
    assert (alias(d3, "ecrf:anchor"), alias(d3, "ecrf:offset"), alias(d3, "ecrf:window")) == \
        ("INF1", "3", "{before: 1, after: 1, ours: true}")
    assert one("odm:FormDef[@OID='F.AE']").get("Repeating") == "Yes"
    weight = one("odm:ItemDef[@OID='IT.CS20AT04_SCR.WEIGHT']")
    assert weight.get("DataType") == "float"
    assert [u.get("MeasurementUnitOID") for u in weight.findall("odm:MeasurementUnitRef", NS)] \
        == ["MU.kg", "MU.lb"]
    checks = [(c.get("SoftHard"), c.get("Comparator"), c.findtext("odm:CheckValue", None, NS))
              for c in weight.findall("odm:RangeCheck", NS)]
    assert checks == [("Hard", "GE", "10"), ("Hard", "LE", "350"), ("Soft", "GE", "30"),
                      ("Soft", "LE", "200")]
    assert alias(one("odm:ItemDef[@OID='IT.CS20AT04_SCR.ANATITER']"), "ecrf:type") == "titre"
    ref = one(".//odm:ItemRef[@ItemOID='IT.CS20AT04_SCR.CHILDBEARING']")
    condition = one(f"odm:ConditionDef[@OID='{ref.get('CollectionExceptionConditionOID')}']")
    assert condition.findtext("odm:FormalExpression", None, NS) == \
        "{not: {item: SEX, in: [F]}}"  # ODM names when NOT to collect: the negated show_if
    age = one(".//odm:ItemRef[@ItemOID='IT.CS20AT04_SCR.AGE']")
    assert one(f"odm:MethodDef[@OID='{age.get('MethodOID')}']").get("Type") == "Computation"
    e8 = one("odm:ConditionDef[@OID='CR.CS20AT04_SCR.E8']")
    assert (alias(e8, "ecrf:criterion"), alias(e8, "ecrf:subgroups")) == ("exclusion", "LN")


def test_unit_oids_are_distinct_and_item_groups_are_found():
    assert len({oids.unit_oid(unit) for unit in UNITS}) == len(UNITS)
    assert oids.unit_oid("10^3/uL") == "MU.10E3_per_uL"
    assert oids.code_of("SE.INF1_W4", oids.EVENT) == "INF1_W4"
    (protocol,) = read_definitions(PROJECT_ROOT / "tests/data/mini/schedules",
                                   PROJECT_ROOT / "tests/data/mini/forms")
    assert oids.item_group_oids(protocol.screening)["CREAT"] == "IG.MINI_SCR.2"
