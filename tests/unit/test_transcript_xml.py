"""The transcript XML document: its XSD, the writer, the validator and the reader."""

import dataclasses
import hashlib
import os
import subprocess
import sys
import typing
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from enum import StrEnum
from types import UnionType

import pytest
import xmlschema
from lxml import etree

from hub.documents import samples
from hub.documents.content import SchoolStage, TranscriptContent
from hub.documents.xml import (
    CONTENT_ID,
    MAX_SIGNATURES,
    NAMESPACE,
    SCHEMA_PATH,
    SIGNATURE_NAMESPACE,
    TranscriptXmlError,
    build_xml,
    parse_xml,
    validate_xml,
)
from hub.domain.grading.primary import Completion, Quality
from hub.domain.grading.secondary import Level, PromotionOutcome, Rating

XS = "{http://www.w3.org/2001/XMLSchema}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _schema_tree() -> etree._Element:
    return etree.parse(str(SCHEMA_PATH)).getroot()


def _round_trip(content: TranscriptContent) -> bytes:
    document = build_xml(content)
    validate_xml(document)
    assert parse_xml(document) == content
    return document


def _tampered(document: bytes, old: bytes, new: bytes) -> bytes:
    assert document.count(old) >= 1, old
    return document.replace(old, new, 1)


def _violations(document: bytes) -> str:
    with pytest.raises(TranscriptXmlError) as caught:
        validate_xml(document)
    return str(caught.value)


# --- The samples ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [samples.secondary(0), samples.secondary(1), samples.primary(0)], ids=str
)
def test_samples_build_validate_and_round_trip(content: TranscriptContent) -> None:
    document = _round_trip(content)
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    root = etree.fromstring(document)
    assert root.tag == f"{{{NAMESPACE}}}transcript"
    assert root.get("documentId") == content.document_id
    assert root.get("version") == "1"
    assert root.get("schemaVersion") == "1.0"
    assert [child.get("Id") for child in root] == [CONTENT_ID]


def test_build_is_byte_identical_across_calls() -> None:
    assert build_xml(samples.secondary(3)) == build_xml(samples.secondary(3))
    assert build_xml(samples.primary(3)) == build_xml(samples.primary(3))


def test_build_is_byte_identical_across_processes() -> None:
    script = (
        "import hashlib; from hub.documents import samples; "
        "from hub.documents.xml import build_xml; "
        "print(hashlib.sha256(build_xml(samples.secondary(7)) + build_xml(samples.primary(7)))"
        ".hexdigest())"
    )
    here = hashlib.sha256(
        build_xml(samples.secondary(7)) + build_xml(samples.primary(7))
    ).hexdigest()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == here


def test_vietnamese_text_is_written_as_utf8_not_escaped() -> None:
    document = build_xml(samples.secondary(1))
    assert "<fullName>Nguyễn Thị Thuỳ Dương</fullName>".encode() in document
    assert 'label="Học sinh Xuất sắc">EXCELLENT</award>'.encode() in document
    assert b"&#" not in document


def test_subject_order_is_kept() -> None:
    content = samples.secondary(0)
    assert content.secondary is not None
    reordered = dataclasses.replace(
        content,
        secondary=dataclasses.replace(
            content.secondary, subjects=tuple(reversed(content.secondary.subjects))
        ),
    )
    parsed = parse_xml(build_xml(reordered))
    assert parsed.secondary is not None
    assert parsed.secondary.subjects[0].code == "GDDP"
    assert parsed == reordered


def test_scores_are_written_with_one_decimal_as_stored() -> None:
    document = build_xml(samples.secondary(0))
    assert b"<score>8.0</score>" in document  # KHTN semester I
    assert b"<score>9.6</score>" in document
    content = samples.secondary(0)
    assert content.secondary is not None
    whole = dataclasses.replace(
        content.secondary.subjects[0],
        first_semester=Decimal("8"),
        second_semester=Decimal("10"),
        year=Decimal("9.3"),
        final=Decimal("9.3"),
    )
    varied = dataclasses.replace(
        content,
        secondary=dataclasses.replace(
            content.secondary, subjects=(whole, *content.secondary.subjects[1:])
        ),
    )
    document = _round_trip(varied)
    assert b"<score>8.0</score>" in document and b"<score>10.0</score>" in document


# --- Variations: the None branches, re-tests, corrections -----------------------


def _secondary_with_retest() -> TranscriptContent:
    """A student re-tested in Toán (ĐTBmcn 4.2 → 5.5) and retrained in summer."""
    content = samples.secondary(2)
    assert content.secondary is not None
    maths = dataclasses.replace(
        content.secondary.subjects[0],
        first_semester=Decimal("4.0"),
        second_semester=Decimal("4.3"),
        year=Decimal("4.2"),
        retest=Decimal("5.5"),
        final=Decimal("5.5"),
    )
    arts = dataclasses.replace(
        content.secondary.subjects[-1], year=Rating.FAIL, retest=Rating.PASS, final=Rating.PASS
    )
    results = dataclasses.replace(
        content.secondary,
        subjects=(maths, *content.secondary.subjects[1:-1], arts),
        learning_year=Level.FAIL,
        learning_after_retest=Level.PASS,
        conduct_second=Level.FAIL,
        conduct_year=Level.FAIL,
        conduct_after_training=Level.PASS,
        outcome=PromotionOutcome.PROMOTED,
        award=None,
    )
    return dataclasses.replace(content, secondary=results)


def test_retest_and_summer_training_round_trip() -> None:
    document = _round_trip(_secondary_with_retest())
    assert b"<retest>" in document and b"<afterRetest" in document
    assert b"<afterTraining" in document and b"<award" not in document


def test_correction_with_version_2_round_trips() -> None:
    original = samples.secondary(4)
    correction = dataclasses.replace(
        original,
        document_id="0c8a4d52-6f0e-4b1e-9a57-100000000004",
        version=2,
        replaces=original.document_id,
        correction_reason="Sửa điểm môn Toán học kỳ II do nhập sai.",
    )
    document = _round_trip(correction)
    root = etree.fromstring(document)
    replaces = root.find(f"{{{NAMESPACE}}}content/{{{NAMESPACE}}}replaces")
    assert replaces is not None
    assert replaces.findtext(f"{{{NAMESPACE}}}documentId") == original.document_id
    assert root.get("version") == "2"


def test_absent_optional_fields_are_left_out_and_read_back_as_none() -> None:
    content = samples.secondary(5)
    assert content.secondary is not None
    unassessed = dataclasses.replace(
        content.secondary.subjects[0],
        first_semester=None,
        second_semester=None,
        year=None,
        final=None,
    )
    sparse = dataclasses.replace(
        content,
        student=dataclasses.replace(
            content.student, ministry_code=None, birth_date=None, sex=None, ethnicity=None
        ),
        secondary=dataclasses.replace(
            content.secondary,
            subjects=(unassessed, *content.secondary.subjects[1:]),
            learning_first=None,
            learning_second=None,
            learning_year=None,
            conduct_first=None,
            conduct_second=None,
            conduct_year=None,
            half_days_absent=None,
            outcome=None,
            award=None,
        ),
        homeroom_teacher=None,
        homeroom_comment=None,
        principal=None,
        principal_approval=None,
    )
    document = _round_trip(sparse)
    for tag in (b"<ministryCode", b"<sex", b"<award", b"<outcome", b"<homeroomTeacher"):
        assert tag not in document


def test_primary_none_branches_round_trip() -> None:
    content = samples.primary(1)
    assert content.primary is not None
    subjects = content.primary.subjects
    traits = content.primary.traits
    varied = dataclasses.replace(
        content,
        primary=dataclasses.replace(
            content.primary,
            subjects=(
                dataclasses.replace(subjects[0], completion=None, test_score=None, comment=None),
                dataclasses.replace(subjects[1], completion=Completion.NOT_DONE, test_score=0),
                *subjects[2:],
            ),
            # competencies first, then qualities: the interleaving must survive
            traits=(
                dataclasses.replace(traits[-1], level=None),
                dataclasses.replace(traits[0], level=Quality.NEEDS_EFFORT),
                *traits[1:-1],
            ),
            year_result=None,
            half_days_absent=None,
            promoted=None,
        ),
    )
    _round_trip(varied)


# --- Refused content ------------------------------------------------------------


def test_correction_without_link_or_reason_is_refused() -> None:
    with pytest.raises(TranscriptXmlError, match="version 2 is a correction"):
        build_xml(dataclasses.replace(samples.secondary(0), version=2))
    with pytest.raises(TranscriptXmlError, match="needs <reason>"):
        build_xml(dataclasses.replace(samples.secondary(0), version=2, replaces="abc"))
    with pytest.raises(TranscriptXmlError, match="version 1 is no correction"):
        build_xml(
            dataclasses.replace(samples.secondary(0), replaces="abc", correction_reason="Sửa")
        )


def test_a_score_that_would_be_altered_is_refused() -> None:
    content = samples.secondary(0)
    assert content.secondary is not None
    subject = dataclasses.replace(content.secondary.subjects[0], year=Decimal("8.65"))
    varied = dataclasses.replace(
        content,
        secondary=dataclasses.replace(
            content.secondary, subjects=(subject, *content.secondary.subjects[1:])
        ),
    )
    with pytest.raises(TranscriptXmlError, match=r"TOAN year.*8\.65"):
        build_xml(varied)


def test_results_must_match_the_stage_and_the_subject_kind() -> None:
    with pytest.raises(TranscriptXmlError, match="stage PRIMARY"):
        build_xml(dataclasses.replace(samples.secondary(0), stage=SchoolStage.PRIMARY))
    content = samples.secondary(0)
    assert content.secondary is not None
    scored_pe = dataclasses.replace(content.secondary.subjects[-1], year=Decimal("7.0"))
    varied = dataclasses.replace(
        content,
        secondary=dataclasses.replace(
            content.secondary, subjects=(*content.secondary.subjects[:-1], scored_pe)
        ),
    )
    with pytest.raises(TranscriptXmlError, match="GDDP is comment-only"):
        build_xml(varied)


def test_control_characters_are_refused_with_the_element_named() -> None:
    content = dataclasses.replace(samples.secondary(0), homeroom_comment="Tốt\x00")
    with pytest.raises(TranscriptXmlError, match="homeroomComment"):
        build_xml(content)


def test_unknown_enum_value_in_content_is_refused() -> None:
    content = samples.secondary(0)
    assert content.secondary is not None
    bad = dataclasses.replace(content.secondary, award="GREAT")  # type: ignore[arg-type]
    with pytest.raises(TranscriptXmlError, match="GREAT"):
        build_xml(dataclasses.replace(content, secondary=bad))


# --- Tampered documents --------------------------------------------------------


def test_score_above_ten_fails_validation() -> None:
    document = _tampered(build_xml(samples.secondary(1)), b"<score>8.3<", b"<score>10.5<")
    message = _violations(document)
    assert "score" in message and "10.5" in message and "maxInclusive" in message


def test_score_with_two_decimals_fails_validation() -> None:
    document = _tampered(build_xml(samples.secondary(1)), b"<score>8.3<", b"<score>8.35<")
    assert "fractionDigits" in _violations(document)


def test_eleven_digit_personal_id_fails_validation() -> None:
    document = _tampered(
        build_xml(samples.secondary(1)), b"<personalId>001212000001<", b"<personalId>00121200001<"
    )
    message = _violations(document)
    assert "personalId" in message and "00121200001" in message


def test_unknown_enum_value_fails_validation() -> None:
    document = _tampered(build_xml(samples.secondary(1)), b">EXCELLENT</award>", b">GREAT</award>")
    message = _violations(document)
    assert "award" in message and "GREAT" in message and "EXCELLENT" in message


def test_removed_element_fails_validation() -> None:
    document = _tampered(
        build_xml(samples.secondary(1)),
        "<fullName>Nguyễn Thị Thuỳ Dương</fullName>".encode(),
        b"",
    )
    message = _violations(document)
    assert "birthDate" in message and "Expected is ( fullName )" in message


def test_root_version_must_equal_the_signed_version() -> None:
    document = _tampered(build_xml(samples.secondary(1)), b'version="1"', b'version="2"')
    assert "documentId and version must equal" in _violations(document)


def test_comment_only_subject_with_a_score_fails_validation() -> None:
    document = build_xml(samples.secondary(1))
    document = _tampered(
        document,
        b'<rating label="\xc4\x90\xe1\xba\xa1t">PASS</rating>',  # the first: GDTC semester I
        b"<score>7.0</score>",
    )
    assert "GDTC is comment-only" in _violations(document)


def test_malformed_and_doctype_documents_are_refused() -> None:
    document = build_xml(samples.secondary(1))
    assert "well-formed" in _violations(document[:-5])
    with_doctype = _tampered(
        document,
        b"?>\n",
        b'?>\n<!DOCTYPE transcript [<!ENTITY x "y">]>\n',
    )
    assert "DOCTYPE" in _violations(with_doctype)
    with pytest.raises(TranscriptXmlError):
        parse_xml(with_doctype)


def test_comments_do_not_hide_text_from_the_reader() -> None:
    content = samples.secondary(1)
    document = _tampered(build_xml(content), b"<name>To", b"<name><!-- x -->To")
    assert parse_xml(document) == content


def test_parse_refuses_an_invalid_document() -> None:
    document = _tampered(build_xml(samples.primary(1)), b"<testScore>9<", b"<testScore>11<")
    with pytest.raises(TranscriptXmlError, match="testScore"):
        parse_xml(document)


# --- Room for signatures ------------------------------------------------------


def _signature(signer: str) -> bytes:
    return (
        f'<ds:Signature xmlns:ds="{SIGNATURE_NAMESPACE}" Id="{signer}">'
        f'<ds:SignedInfo><ds:Reference URI="#{CONTENT_ID}"/></ds:SignedInfo>'
        "</ds:Signature>\n"
    ).encode()


def test_up_to_three_signatures_after_the_content_are_allowed() -> None:
    content = samples.secondary(1)
    signatures = b"".join(_signature(s) for s in ("homeroom", "principal", "seal"))
    signed = _tampered(build_xml(content), b"</transcript>", signatures + b"</transcript>")
    validate_xml(signed)
    assert parse_xml(signed) == content


def test_a_fourth_signature_or_a_foreign_element_fails_validation() -> None:
    document = build_xml(samples.secondary(1))
    four = b"".join(_signature(f"s{i}") for i in range(4))
    assert "Signature" in _violations(
        _tampered(document, b"</transcript>", four + b"</transcript>")
    )
    foreign = b'<Signature xmlns="urn:other"/></transcript>'
    assert "not expected" in _violations(_tampered(document, b"</transcript>", foreign))


# --- The schema itself --------------------------------------------------------


def test_schema_declares_the_namespace_and_qualified_elements() -> None:
    schema = _schema_tree()
    assert schema.get("targetNamespace") == NAMESPACE
    assert schema.get("elementFormDefault") == "qualified"
    (signatures,) = schema.iter(f"{XS}any")
    assert signatures.get("namespace") == SIGNATURE_NAMESPACE
    assert signatures.get("maxOccurs") == str(MAX_SIGNATURES)


def test_every_element_attribute_and_value_is_documented_in_vietnamese() -> None:
    undocumented = []
    for node in _schema_tree().iter(f"{XS}element", f"{XS}attribute", f"{XS}enumeration"):
        texts = [
            d.text
            for d in node.findall(f"{XS}annotation/{XS}documentation")
            if d.get(XML_LANG) == "vi" and d.text and d.text.strip()
        ]
        if not texts:
            undocumented.append(node.get("name") or node.get("value"))
    assert undocumented == []


def _enums_of(kind: object, seen: set[type]) -> set[type[StrEnum]]:
    """The enums reachable from a type hint, following dataclasses, unions and tuples."""
    found: set[type[StrEnum]] = set()
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return {kind}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if kind in seen:
            return found
        seen.add(kind)
        for hint in typing.get_type_hints(kind).values():
            found |= _enums_of(hint, seen)
        return found
    if isinstance(kind, UnionType) or typing.get_origin(kind) is not None:
        for argument in typing.get_args(kind):
            found |= _enums_of(argument, seen)
    return found


CONTENT_ENUMS = sorted(_enums_of(TranscriptContent, set()), key=lambda e: e.__name__)


def test_the_content_enums_are_found() -> None:
    names = {e.__name__ for e in CONTENT_ENUMS}
    assert names >= {"Level", "Rating", "PromotionOutcome", "Award", "Completion", "Quality"}
    assert names >= {"YearResult", "Sex", "SchoolStage"}


@pytest.mark.parametrize("enum", CONTENT_ENUMS, ids=lambda e: e.__name__)
def test_every_enum_value_is_in_the_schema(enum: type[StrEnum]) -> None:
    """A new enum member must come with a new schema version, never silently."""
    simple_type = _schema_tree().find(f"{XS}simpleType[@name='{enum.__name__}']")
    assert simple_type is not None, f"the XSD has no simpleType {enum.__name__}"
    documented = {
        value.get("value"): value.findtext(f"{XS}annotation/{XS}documentation")
        for value in simple_type.iter(f"{XS}enumeration")
    }
    assert set(documented) == {member.value for member in enum}
    if hasattr(enum, "label"):
        assert documented == {member.value: member.label for member in enum}


def test_label_attributes_match_the_schema_documentation() -> None:
    documentation = {
        (simple_type.get("name"), value.get("value")): value.findtext(
            f"{XS}annotation/{XS}documentation"
        )
        for simple_type in _schema_tree().iter(f"{XS}simpleType")
        for value in simple_type.iter(f"{XS}enumeration")
    }
    labels_in_schema = {(value, label) for (_, value), label in documentation.items()}
    for content in (samples.secondary(1), samples.primary(0), _secondary_with_retest()):
        for element in etree.fromstring(build_xml(content)).iter():
            if element.get("label") is not None:
                assert (element.text, element.get("label")) in labels_in_schema


def test_the_error_is_a_value_error_listing_violations() -> None:
    document = _tampered(build_xml(samples.secondary(1)), b"<score>8.3<", b"<score>10.5<")
    document = _tampered(document, b"<score>8.9<", b"<score>-1.0<")
    with pytest.raises(ValueError) as caught:
        validate_xml(document)
    assert isinstance(caught.value, TranscriptXmlError)
    assert len(caught.value.violations) == 2


def test_the_schema_works_in_a_second_validator() -> None:
    """Importers may not use libxml2: the pure-Python ``xmlschema`` agrees with it."""
    schema = xmlschema.XMLSchema10(str(SCHEMA_PATH))
    document = build_xml(samples.secondary(1))
    assert schema.is_valid(document.decode())
    assert schema.is_valid(build_xml(samples.primary(1)).decode())
    for old, new in ((b"<score>8.3<", b"<score>10.5<"), (b'version="1"', b'version="2"')):
        assert not schema.is_valid(_tampered(document, old, new).decode())


def test_validation_from_many_threads_reports_each_documents_own_errors() -> None:
    valid = build_xml(samples.secondary(1))
    invalid = _tampered(valid, b"<score>8.3<", b"<score>10.5<")

    def check(index: int) -> str:
        try:
            validate_xml(invalid if index % 2 else valid)
        except TranscriptXmlError as error:
            return str(error)
        return ""

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, range(40)))
    assert all(r == "" for r in results[::2])
    assert all("10.5" in r for r in results[1::2])
