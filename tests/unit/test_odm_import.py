"""A broken ODM file is refused with problems that name the element, never half imported."""

from dataclasses import replace

import pytest

from app.config import PROJECT_ROOT
from app.odm.importer import OdmImportError, import_metadata
from app.odm.metadata import export_metadata
from app.studies import loader
from app.studies.services import read_definitions

MINI = PROJECT_ROOT / "tests" / "data" / "mini"


@pytest.fixture(scope="module")
def mini():
    (protocol,) = read_definitions(MINI / "schedules", MINI / "forms")
    return protocol


@pytest.fixture(scope="module")
def xml(mini) -> bytes:
    return export_metadata(mini)


def _broken(xml: bytes, old: str, new: str) -> bytes:
    assert xml.count(old.encode()) == 1, old
    return xml.replace(old.encode(), new.encode())


def _problems(xml: bytes) -> str:
    with pytest.raises(OdmImportError) as caught:
        import_metadata(xml)
    return "\n".join(caught.value.problems)


def test_a_study_without_visits_round_trips(mini, xml):
    back = loader.build(import_metadata(xml))
    assert replace(back, content_hash=mini.content_hash) == mini


def test_a_schema_error_names_the_element_and_its_oid(xml):
    broken = _broken(xml, 'Name="AGE" DataType="integer"', 'Name="AGE"')
    problems = _problems(broken)
    assert "not valid ODM 1.3.2" in problems
    assert "/ODM/Study/MetaDataVersion/ItemDef[3] (OID IT.MINI_SCR.AGE): missing required " \
           "attribute 'DataType'" in problems


def test_a_reference_to_nothing_names_the_referring_element(xml):
    broken = _broken(xml, 'ItemRef ItemOID="IT.MINI_SCR.SEX"',
                     'ItemRef ItemOID="IT.MINI_SCR.GENDER"')
    assert _problems(broken) == "ItemGroupDef (OID IG.MINI_SCR.1), ItemRef " \
        "'IT.MINI_SCR.GENDER': no ItemDef with OID 'IT.MINI_SCR.GENDER'"


def test_a_garbled_extension_names_its_element_and_alias(xml):
    broken = _broken(xml, 'Name="{ratio: {A: 1, B: 1}', 'Name="{ratio: {A: 1, B: 1')
    problems = _problems(broken)
    assert problems.startswith("Protocol: Alias ecrf:randomization: not YAML flow:")


def test_every_problem_is_reported_at_once(xml):
    broken = _broken(xml, 'CodeListRef CodeListOID="CL.MINI_SCR.SEX"',
                     'CodeListRef CodeListOID="CL.MINI_SCR.GENDER"')
    broken = _broken(broken, "<CheckValue>3000</CheckValue>", "<CheckValue>lots</CheckValue>")
    problems = _problems(broken).splitlines()
    assert problems == [
        "ItemDef (OID IT.MINI_SCR.SEX): no CodeList with OID 'CL.MINI_SCR.GENDER'",
        "ItemDef (OID IT.MINI_SCR.CREAT): RangeCheck CheckValue: expected a number, got 'lots'",
    ]


@pytest.mark.parametrize(("content", "expected"), [
    (b"<ODM><Study>", "not a readable XML file: invalid XML syntax"),
    (b"<html><body/></html>", "the document is <html>, not a CDISC ODM 1.3 file"),
    (b'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY boom "boom">]><ODM>&boom;</ODM>',
     "not a readable XML file: Entities are forbidden"),
])
def test_what_is_not_odm_at_all_is_said_so(content, expected):
    assert _problems(content).startswith(expected)
