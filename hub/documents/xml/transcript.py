"""The transcript as an XML document, against the published ``transcript-1.0.xsd``.

RULES.md §4 assumes a structured XML document with a published, versioned XSD, signed
with enveloped XAdES by the homeroom teacher, the principal and the school seal. This
module writes that document from a :class:`TranscriptContent`, checks a document
against the schema, and reads one back, so the hub, verifiers and importers share one
definition of the format.

The document is ``<transcript>`` holding ``<content Id="content">`` (everything that
is signed) followed by up to three ``ds:Signature`` elements the signing engine
appends, each referencing ``#content``. Because signatures cover only ``<content>``,
the document id and version live inside it; the root repeats them as attributes for
routing, and the schema requires both copies to agree.

Signatures are computed over exact bytes, so :func:`build_xml` is deterministic: the
same content always gives the same bytes, and nothing but the content is printed.
"""

import threading
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TypeVar

from lxml import etree

from hub.documents.content import (
    PrimaryResults,
    PrimarySubject,
    PrimaryTrait,
    School,
    SchoolStage,
    SecondaryResults,
    SecondarySubject,
    Student,
    TranscriptContent,
)
from hub.domain.enums import Sex
from hub.domain.grading.assumptions import ONE_DECIMAL
from hub.domain.grading.primary import Completion, Quality, YearResult
from hub.domain.grading.secondary import Award, Level, PromotionOutcome, Rating

#: The hub's own namespace, until the ministry publishes a national transcript schema.
#: It names the schema version: a changed schema is a new namespace (README.md).
NAMESPACE = "urn:vn:hub:hocba:transcript:1.0"

#: Written in the root's ``schemaVersion`` attribute; fixed by the XSD.
SCHEMA_VERSION = "1.0"

#: The published XSD this module writes and validates against.
SCHEMA_PATH = Path(__file__).with_name("transcript-1.0.xsd")

#: XML-DSig namespace of the ``ds:Signature`` elements appended after ``<content>``.
SIGNATURE_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"

#: The ``Id`` of ``<content>``: every signature's ``ds:Reference URI="#content"``.
CONTENT_ID = "content"

#: At most one signature per signer: homeroom teacher, principal, school seal.
MAX_SIGNATURES = 3

# Labels of the two enums the domain gives none; the XSD documents the same words.
_SEX_LABELS = {Sex.MALE: "Nam", Sex.FEMALE: "Nữ"}
_STAGE_LABELS = {SchoolStage.PRIMARY: "Tiểu học", SchoolStage.SECONDARY: "Trung học"}

# A secondary subject's result columns, in document order, with their content fields.
_SUBJECT_PERIODS = (
    ("firstSemester", "first_semester"),
    ("secondSemester", "second_semester"),
    ("year", "year"),
    ("retest", "retest"),
    ("final", "final"),
)

EnumT = TypeVar("EnumT", bound=StrEnum)
ValueT = TypeVar("ValueT")

Element = etree._Element


class TranscriptXmlError(ValueError):
    """A document is not a valid transcript, or content cannot be written as one.

    ``violations`` lists each problem on its own, for logs and API responses; the
    message repeats them so the exception alone says what is wrong.
    """

    def __init__(self, message: str, violations: Iterable[str] = ()) -> None:
        self.violations: tuple[str, ...] = tuple(violations)
        if self.violations:
            message = message + ":\n" + "\n".join(f"- {v}" for v in self.violations)
        super().__init__(message)


def _q(tag: str) -> str:
    """The qualified (Clark) name of one of the schema's elements."""
    return f"{{{NAMESPACE}}}{tag}"


# --- Writing ------------------------------------------------------------------


def build_xml(content: TranscriptContent) -> bytes:
    """The transcript as pretty-printed UTF-8 XML with a declaration.

    Deterministic: same content, same bytes (elements and attributes in a fixed
    order, decimals with exactly one decimal as stored, the only date besides the
    student's being ``content.generated_on``). ``None`` fields are left out. Raises
    :class:`TranscriptXmlError` when the content cannot become a valid transcript
    without changing what it says (a score with two decimals, a correction without
    its reason, results that do not match the stage); range and format checks are
    the schema's, run by :func:`validate_xml` before signing.
    """
    root = etree.Element(_q("transcript"), nsmap={None: NAMESPACE})
    root.set("documentId", content.document_id)
    root.set("version", str(content.version))
    root.set("schemaVersion", SCHEMA_VERSION)
    body = etree.SubElement(root, _q("content"))
    body.set("Id", CONTENT_ID)
    _text(body, "documentId", content.document_id)
    _text(body, "version", str(content.version))
    if content.replaces is not None or content.correction_reason is not None:
        replaces = etree.SubElement(body, _q("replaces"))
        _text(replaces, "documentId", content.replaces)
        _text(replaces, "reason", content.correction_reason)
    _text(body, "schoolYear", content.school_year)
    _text(body, "grade", str(content.grade))
    _text(body, "className", content.class_name)
    _labelled(body, "stage", SchoolStage, content.stage)
    _write_school(body, content.school)
    _write_student(body, content.student)
    if content.secondary is not None:
        _write_secondary(body, content.secondary)
    if content.primary is not None:
        _write_primary(body, content.primary)
    _text(body, "homeroomTeacher", content.homeroom_teacher)
    _text(body, "homeroomComment", content.homeroom_comment)
    _text(body, "principal", content.principal)
    _text(body, "principalApproval", content.principal_approval)
    _text(body, "verificationUrl", content.verification_url)
    _text(body, "generatedOn", _date(content.generated_on))
    violations = _rule_violations(root)
    if violations:
        raise TranscriptXmlError(
            f"transcript {content.document_id} cannot be written as a valid document",
            violations,
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _text(parent: Element, tag: str, value: str | None) -> None:
    """Append ``<tag>value</tag>``, or nothing for ``None`` (minOccurs="0")."""
    if value is None:
        return
    try:
        etree.SubElement(parent, _q(tag)).text = value
    except (TypeError, ValueError) as error:
        # lxml refuses control characters, which XML 1.0 cannot carry at all.
        raise TranscriptXmlError(
            f"<{tag}> in <{etree.QName(parent).localname}> cannot be written as XML: {error}"
        ) from None


def _labelled(parent: Element, tag: str, kind: type[EnumT], value: EnumT | None) -> None:
    """Append ``<tag label="Tốt">GOOD</tag>``: the value for programs, the label for people."""
    if value is None:
        return
    try:
        member = kind(value)
    except ValueError:
        raise TranscriptXmlError(
            f"<{tag}> must be one of {[m.value for m in kind]}, got {value!r}"
        ) from None
    element = etree.SubElement(parent, _q(tag))
    element.set("label", _label(member))
    element.text = member.value


def _label(member: StrEnum) -> str:
    """The Vietnamese label of an enum value, as the XSD documents it."""
    if isinstance(member, Sex):
        return _SEX_LABELS[member]
    if isinstance(member, SchoolStage):
        return _STAGE_LABELS[member]
    return member.label  # type: ignore[attr-defined]


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _integer(value: int | None) -> str | None:
    return None if value is None else str(value)


def _boolean(value: bool | None) -> str | None:
    if value is None:
        return None
    return "true" if value else "false"


def _score(value: Decimal, where: str) -> str:
    """A score with exactly one decimal (``8`` → ``8.0``), never rounded: a score the
    grading rules produced already has at most one, and a document must not alter it."""
    try:
        rounded = value.quantize(ONE_DECIMAL)
    except InvalidOperation:
        rounded = None
    if rounded is None or rounded != value:
        raise TranscriptXmlError(
            f"{where}: a score is written with one decimal, {value!r} would be altered"
        )
    return str(rounded)


def _write_school(parent: Element, school: School) -> None:
    element = etree.SubElement(parent, _q("school"))
    _text(element, "moetCode", school.moet_code)
    _text(element, "name", school.name)
    _text(element, "district", school.district)
    _text(element, "province", school.province)
    _text(element, "department", school.department)


def _write_student(parent: Element, student: Student) -> None:
    element = etree.SubElement(parent, _q("student"))
    _text(element, "personalId", student.personal_id)
    _text(element, "ministryCode", student.ministry_code)
    _text(element, "fullName", student.full_name)
    _text(element, "birthDate", _date(student.birth_date))
    _labelled(element, "sex", Sex, student.sex)
    _text(element, "ethnicity", student.ethnicity)


def _write_secondary(parent: Element, results: SecondaryResults) -> None:
    element = etree.SubElement(parent, _q("secondaryResults"))
    subjects = etree.SubElement(element, _q("subjects"))
    for subject in results.subjects:
        _write_secondary_subject(subjects, subject)
    learning = etree.SubElement(element, _q("learning"))
    _labelled(learning, "firstSemester", Level, results.learning_first)
    _labelled(learning, "secondSemester", Level, results.learning_second)
    _labelled(learning, "year", Level, results.learning_year)
    _labelled(learning, "afterRetest", Level, results.learning_after_retest)
    conduct = etree.SubElement(element, _q("conduct"))
    _labelled(conduct, "firstSemester", Level, results.conduct_first)
    _labelled(conduct, "secondSemester", Level, results.conduct_second)
    _labelled(conduct, "year", Level, results.conduct_year)
    _labelled(conduct, "afterTraining", Level, results.conduct_after_training)
    _text(element, "halfDaysAbsent", _integer(results.half_days_absent))
    _labelled(element, "outcome", PromotionOutcome, results.outcome)
    _labelled(element, "award", Award, results.award)


def _write_secondary_subject(parent: Element, subject: SecondarySubject) -> None:
    element = etree.SubElement(parent, _q("subject"))
    _text(element, "code", subject.code)
    _text(element, "name", subject.name)
    _text(element, "commentOnly", _boolean(subject.comment_only))
    for tag, field in _SUBJECT_PERIODS:
        value: Decimal | Rating | None = getattr(subject, field)
        if value is None:
            continue
        period = etree.SubElement(element, _q(tag))
        if isinstance(value, Decimal):
            _text(period, "score", _score(value, f"{subject.code} {tag}"))
        else:
            _labelled(period, "rating", Rating, value)


def _write_primary(parent: Element, results: PrimaryResults) -> None:
    element = etree.SubElement(parent, _q("primaryResults"))
    subjects = etree.SubElement(element, _q("subjects"))
    for subject in results.subjects:
        _write_primary_subject(subjects, subject)
    traits = etree.SubElement(element, _q("qualitiesAndCompetencies"))
    for trait in results.traits:
        _write_trait(traits, trait)
    _labelled(element, "yearResult", YearResult, results.year_result)
    _text(element, "halfDaysAbsent", _integer(results.half_days_absent))
    _text(element, "promoted", _boolean(results.promoted))


def _write_primary_subject(parent: Element, subject: PrimarySubject) -> None:
    element = etree.SubElement(parent, _q("subject"))
    _text(element, "code", subject.code)
    _text(element, "name", subject.name)
    _labelled(element, "completion", Completion, subject.completion)
    _text(element, "testScore", _integer(subject.test_score))
    _text(element, "comment", subject.comment)


def _write_trait(parent: Element, trait: PrimaryTrait) -> None:
    element = etree.SubElement(parent, _q("quality" if trait.is_quality else "competency"))
    _text(element, "code", trait.code)
    _text(element, "name", trait.name)
    _labelled(element, "level", Quality, trait.level)


# --- Rules XML Schema 1.0 cannot state -----------------------------------------


def _rule_violations(root: Element) -> list[str]:
    """What the schema cannot say (XSD 1.0 has no co-occurrence constraints), checked
    on a tree that has the schema's structure; written once for writer and reader.

    - a correction (version > 1) names the version it replaces and why; version 1 does not;
    - the results are those of the stage (primaryResults for PRIMARY);
    - a comment-only subject has ratings, a scored subject scores.
    """
    violations: list[str] = []
    body = root.find(_q("content"))
    if body is None:
        return ["<transcript> has no <content>"]
    version = int(body.findtext(_q("version"), "0"))
    replaces = body.find(_q("replaces"))
    if version > 1 and replaces is None:
        violations.append(
            f"version {version} is a correction: <replaces> must give the replaced "
            "document id and the reason (RULES.md §4)"
        )
    if replaces is not None:
        if version <= 1:
            violations.append("version 1 is no correction: it cannot have <replaces>")
        for tag in ("documentId", "reason"):
            if replaces.find(_q(tag)) is None:
                violations.append(f"<replaces> needs <{tag}>")
    stage = body.findtext(_q("stage"))
    expected = "primaryResults" if stage == SchoolStage.PRIMARY else "secondaryResults"
    other = "secondaryResults" if expected == "primaryResults" else "primaryResults"
    if body.find(_q(expected)) is None or body.find(_q(other)) is not None:
        violations.append(f"a transcript of stage {stage} has <{expected}> only")
    path = f"{_q('secondaryResults')}/{_q('subjects')}/{_q('subject')}"
    for subject in body.iterfind(path):
        comment_only = _read_boolean(subject.findtext(_q("commentOnly"), ""))
        wanted = "rating" if comment_only else "score"
        kind = "comment-only" if comment_only else "scored"
        code = subject.findtext(_q("code"))
        for tag, _ in _SUBJECT_PERIODS:
            period = subject.find(_q(tag))
            if period is not None and period.find(_q(wanted)) is None:
                violations.append(f"subject {code} is {kind}: its <{tag}> must hold <{wanted}>")
    return violations


# --- Validating ---------------------------------------------------------------


class _PerThread(threading.local):
    """lxml's ``XMLSchema`` keeps the last run's error log on the instance and parsers
    are not meant to be shared between threads, so each thread loads its own (a few
    milliseconds, once); validation itself runs without the GIL."""

    schema: etree.XMLSchema | None = None
    parser: etree.XMLParser | None = None


_per_thread = _PerThread()


@cache
def _schema_bytes() -> bytes:
    return SCHEMA_PATH.read_bytes()


def _schema() -> etree.XMLSchema:
    """The compiled XSD. lxml (libxml2, in C) rather than ``xmlschema`` (pure Python):
    an order of magnitude faster on repeated validation; the schema is XSD 1.0, which
    libxml2 implements fully."""
    if _per_thread.schema is None:
        _per_thread.schema = etree.XMLSchema(etree.fromstring(_schema_bytes()))
    return _per_thread.schema


def _parser() -> etree.XMLParser:
    """A parser for untrusted documents: no entity expansion, no DTD, no network.

    Comments and processing instructions are dropped: they mean nothing to the schema,
    and without them an element's ``.text`` is all of its text.
    """
    if _per_thread.parser is None:
        _per_thread.parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
    return _per_thread.parser


def _parse(document: bytes) -> Element:
    try:
        root = etree.fromstring(document, _parser())
    except (etree.XMLSyntaxError, ValueError, TypeError) as error:
        raise TranscriptXmlError("not a well-formed XML document", [str(error)]) from None
    if root.getroottree().docinfo.doctype:
        # A transcript never has one; refusing it rules out entity tricks entirely.
        raise TranscriptXmlError("a transcript must not have a DOCTYPE declaration")
    return root


def _checked(root: Element) -> Element:
    """``root`` if it is a valid transcript: the XSD, then the rules it cannot state."""
    schema = _schema()
    if not schema.validate(root):
        violations = [f"line {e.line}: {_readable(e.message)}" for e in schema.error_log]
        raise TranscriptXmlError(f"the document does not conform to {SCHEMA_PATH.name}", violations)
    violations = _rule_violations(root)
    if violations:
        raise TranscriptXmlError("the document breaks transcript rules", violations)
    return root


def _readable(message: str) -> str:
    """libxml2's message without the namespace noise, with what a keyref failure means."""
    message = message.replace("{" + NAMESPACE + "}", "")
    if "rootIdentityIsSigned" in message:
        message += (
            " The root's documentId and version must equal <documentId> and <version>"
            " inside <content>, the part the signatures cover."
        )
    return message


def validate_xml(document: bytes) -> None:
    """Raise :class:`TranscriptXmlError` listing every violation unless ``document`` is
    a valid transcript 1.0: well-formed, conforming to ``transcript-1.0.xsd``, and
    keeping the few rules XSD 1.0 cannot express (see :func:`_rule_violations`).

    Appended ``ds:Signature`` elements (up to three) are allowed and not checked here;
    verifying them is the signing engine's job.
    """
    _checked(_parse(document))


# --- Reading ------------------------------------------------------------------


def parse_xml(document: bytes) -> TranscriptContent:
    """The content of a transcript document: the inverse of :func:`build_xml`.

    The document is validated first (:func:`validate_xml`), so everything read is in
    range. Values come from ``<content>``, the signed part; ``label`` attributes are
    for people and ignored, the enum values are authoritative. Signatures are not
    read or verified here.
    """
    body = _checked(_parse(document)).find(_q("content"))
    assert body is not None  # the schema requires it
    replaces = body.find(_q("replaces"))
    secondary = body.find(_q("secondaryResults"))
    primary = body.find(_q("primaryResults"))
    return TranscriptContent(
        document_id=_required(body, "documentId"),
        version=int(_required(body, "version")),
        replaces=None if replaces is None else _required(replaces, "documentId"),
        correction_reason=None if replaces is None else _required(replaces, "reason"),
        school_year=_required(body, "schoolYear"),
        grade=int(_required(body, "grade")),
        class_name=_required(body, "className"),
        stage=SchoolStage(_required(body, "stage")),
        school=_read_school(_child(body, "school")),
        student=_read_student(_child(body, "student")),
        secondary=None if secondary is None else _read_secondary(secondary),
        primary=None if primary is None else _read_primary(primary),
        homeroom_teacher=body.findtext(_q("homeroomTeacher")),
        homeroom_comment=body.findtext(_q("homeroomComment")),
        principal=body.findtext(_q("principal")),
        principal_approval=body.findtext(_q("principalApproval")),
        verification_url=_required(body, "verificationUrl").strip(),
        generated_on=_read_date(_required(body, "generatedOn")),
    )


def _child(parent: Element, tag: str) -> Element:
    element = parent.find(_q(tag))
    assert element is not None, tag  # only called where the schema requires the element
    return element


def _required(parent: Element, tag: str) -> str:
    return _child(parent, tag).text or ""


def _optional(parent: Element, tag: str, read: Callable[[str], ValueT]) -> ValueT | None:
    """``read`` applied to the text of an optional element, ``None`` when it is absent."""
    text = parent.findtext(_q(tag))
    return None if text is None else read(text)


def _read_boolean(text: str) -> bool:
    """xs:boolean: ``true``/``1`` or ``false``/``0``, surrounding whitespace allowed."""
    return text.strip() in ("true", "1")


def _read_integer(text: str) -> int:
    return int(text.strip())


def _read_date(text: str) -> date:
    return date.fromisoformat(text.strip())


def _read_school(element: Element) -> School:
    return School(
        moet_code=_required(element, "moetCode"),
        name=_required(element, "name"),
        district=_required(element, "district"),
        province=_required(element, "province"),
        department=_required(element, "department"),
    )


def _read_student(element: Element) -> Student:
    return Student(
        personal_id=_required(element, "personalId"),
        ministry_code=element.findtext(_q("ministryCode")),
        full_name=_required(element, "fullName"),
        birth_date=_optional(element, "birthDate", _read_date),
        sex=_optional(element, "sex", Sex),
        ethnicity=element.findtext(_q("ethnicity")),
    )


def _read_secondary(element: Element) -> SecondaryResults:
    learning = _child(element, "learning")
    conduct = _child(element, "conduct")
    return SecondaryResults(
        subjects=tuple(
            _read_secondary_subject(subject)
            for subject in _child(element, "subjects").iterfind(_q("subject"))
        ),
        learning_first=_optional(learning, "firstSemester", Level),
        learning_second=_optional(learning, "secondSemester", Level),
        learning_year=_optional(learning, "year", Level),
        learning_after_retest=_optional(learning, "afterRetest", Level),
        conduct_first=_optional(conduct, "firstSemester", Level),
        conduct_second=_optional(conduct, "secondSemester", Level),
        conduct_year=_optional(conduct, "year", Level),
        conduct_after_training=_optional(conduct, "afterTraining", Level),
        half_days_absent=_optional(element, "halfDaysAbsent", _read_integer),
        outcome=_optional(element, "outcome", PromotionOutcome),
        award=_optional(element, "award", Award),
    )


def _read_secondary_subject(element: Element) -> SecondarySubject:
    values: dict[str, Decimal | Rating | None] = {}
    for tag, field in _SUBJECT_PERIODS:
        period = element.find(_q(tag))
        if period is None:
            values[field] = None
            continue
        score = period.findtext(_q("score"))
        values[field] = (
            Decimal(score.strip()) if score is not None else Rating(_required(period, "rating"))
        )
    return SecondarySubject(
        code=_required(element, "code"),
        name=_required(element, "name"),
        comment_only=_read_boolean(_required(element, "commentOnly")),
        **values,
    )


def _read_primary(element: Element) -> PrimaryResults:
    traits = _child(element, "qualitiesAndCompetencies")
    return PrimaryResults(
        subjects=tuple(
            _read_primary_subject(subject)
            for subject in _child(element, "subjects").iterfind(_q("subject"))
        ),
        traits=tuple(
            _read_trait(trait) for trait in traits.iterchildren(_q("quality"), _q("competency"))
        ),
        year_result=_optional(element, "yearResult", YearResult),
        half_days_absent=_optional(element, "halfDaysAbsent", _read_integer),
        promoted=_optional(element, "promoted", _read_boolean),
    )


def _read_primary_subject(element: Element) -> PrimarySubject:
    return PrimarySubject(
        code=_required(element, "code"),
        name=_required(element, "name"),
        completion=_optional(element, "completion", Completion),
        test_score=_optional(element, "testScore", _read_integer),
        comment=element.findtext(_q("comment")),
    )


def _read_trait(element: Element) -> PrimaryTrait:
    return PrimaryTrait(
        code=_required(element, "code"),
        name=_required(element, "name"),
        is_quality=etree.QName(element).localname == "quality",
        level=_optional(element, "level", Quality),
    )
