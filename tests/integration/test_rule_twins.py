"""Each rule has one home, and its SQL twin agrees with it on the same rows (issue 10).

The rows live in a district and public upper-secondary schools of this module's own
(unique codes), which no figure of the shared world counts: a school
with two principal records, a teacher whose only usable certificate was retired by
a provider migration, a seal retired in favour of a new one, and transcripts in
every state. The schools' seals are removed afterwards (the world counts every seal).
"""

import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from strawberry.relay import GlobalID

from hub.auth.access import SCOPES, Caller
from hub.db import models, roles
from hub.db.queries import (
    awaits_publication,
    certificate_valid_at,
    signing_certificate_id,
)
from hub.documents import samples
from hub.documents.xml.transcript import build_xml
from hub.domain import lifecycle
from hub.domain.certificates import as_utc, is_valid_at, signing_certificate
from hub.domain.enums import (
    CertificateStatus,
    OrgLevel,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.lifecycle import TranscriptState
from hub.domain.personal_id import compose
from hub.domain.problems import Code, HubError
from hub.domain.roles import homeroom_teacher_of, principal_of, seal_certificate_of
from hub.domain.signers import SignerRole
from hub.jobs import signing as signing_jobs
from hub.signing import service as signing_service
from hub.signing.verification.records import expected_signers
from hub.transcripts import service as transcripts
from hub.transcripts.assemble import enrolled, gradebook
from tests.helpers import client_token, data, gql

NOW = datetime.now(UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
CALLER = Caller("rule-twins", frozenset(SCOPES), OrgLevel.DEPARTMENT, None)
_serial = iter(range(1, 100_000))


@dataclass
class Corner:
    """This module's rows: ids by name."""

    schools: dict[str, int]
    school_codes: dict[str, str]
    staff: dict[str, models.Staff]
    classes: dict[str, int]
    transcripts: dict[str, int]
    school_year_id: int


def _certificate(**fields: object) -> models.SigningCertificate:
    values: dict[str, object] = {
        "provider": SigningProvider.SMARTCA,
        "credential_id": uuid.uuid4().hex[:16],
        "serial_number": uuid.uuid4().hex[:16],
        "subject_dn": "CN=?",
        "issuer_dn": "CN=rule twins",
        "valid_from": NOW - 30 * DAY,
        "valid_to": NOW + 300 * DAY,
        "status": CertificateStatus.ACTIVE,
        **fields,
    }
    return models.SigningCertificate(**values)


def _person(name: str, *assignments: tuple[int, StaffRole]) -> models.Staff:
    return models.Staff(
        personal_id=compose("001", 1979, Sex.MALE, 880_000 + next(_serial)),
        full_name=name,
        search_name=name.lower(),
        assignments=[models.StaffAssignment(school_id=s, role=r) for s, r in assignments],
    )


def _document(with_results: bool) -> bytes:
    content = samples.secondary(next(_serial))
    if not with_results:
        results = content.secondary
        assert results is not None
        empty = dataclasses.replace(
            results,
            subjects=tuple(
                dataclasses.replace(
                    s, first_semester=None, second_semester=None, year=None, retest=None, final=None
                )
                for s in results.subjects
            ),
            **{
                f.name: None
                for f in dataclasses.fields(results)
                if f.name not in ("subjects", "half_days_absent")
            },
        )
        content = dataclasses.replace(content, secondary=empty)
    return build_xml(content)


@pytest.fixture(scope="module")
async def corner(db, world) -> AsyncIterator[Corner]:  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:6].upper()
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        district = models.District(
            department_id=department.id, code=f"RT{suffix}", name="Phòng GDĐT Quy Tắc"
        )
        session.add(district)
        await session.flush()
        schools = {}
        for name in ("two-principals", "one-principal", "no-principal"):
            school = models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"RT-{suffix}-{name}",
                name=f"Trường THPT Quy Tắc {name}",
                level=SchoolLevel.UPPER_SECONDARY,
                ownership=Ownership.PUBLIC,
            )
            session.add(school)
            await session.flush()
            schools[name] = school
        two, one, none = (s.id for s in schools.values())

        # The departing principal is recorded first; the newcomer's record comes later
        # (a higher assignment id and a higher staff id), the old one never ended.
        staff = {
            "departing principal": _person("Lê Văn Cũ", (two, StaffRole.PRINCIPAL)),
            "retired-only teacher": _person("Phạm Thị Hưu", (two, StaffRole.HOMEROOM)),
            "migrated teacher": _person("Vũ Văn Chuyển", (two, StaffRole.TEACHER)),
            "many certificates": _person("Đặng Thị Nhiều", (two, StaffRole.STAFF)),
            "other principal": _person(
                "Bùi Văn Một", (one, StaffRole.PRINCIPAL), (none, StaffRole.TEACHER)
            ),
            "vice principal": _person("Hoàng Thị Phó", (none, StaffRole.VICE_PRINCIPAL)),
        }
        session.add_all(staff.values())
        await session.flush()
        newcomer = _person("Trần Thị Mới")
        session.add(newcomer)
        await session.flush()
        newcomer.assignments.append(models.StaffAssignment(school_id=two, role=StaffRole.PRINCIPAL))
        staff["new principal"] = newcomer
        await session.flush()

        own = {name: person.id for name, person in staff.items()}
        session.add_all(
            [
                _certificate(staff_id=own["departing principal"]),
                _certificate(staff_id=own["new principal"]),
                _certificate(staff_id=own["other principal"]),
                # A confirmed migration retired the teacher's only certificate.
                _certificate(staff_id=own["retired-only teacher"], retired_at=NOW - HOUR),
                _certificate(
                    staff_id=own["retired-only teacher"], status=CertificateStatus.REVOKED
                ),
                # The old provider's certificate, preferred before, retired; the new one holds.
                _certificate(
                    staff_id=own["migrated teacher"], preferred=True, retired_at=NOW - HOUR
                ),
                _certificate(staff_id=own["migrated teacher"], provider=SigningProvider.MYSIGN),
                _certificate(staff_id=own["many certificates"], valid_to=NOW - DAY),
                _certificate(staff_id=own["many certificates"], valid_from=NOW + DAY),
                _certificate(staff_id=own["many certificates"], status=CertificateStatus.SUSPENDED),
                _certificate(staff_id=own["many certificates"], retired_at=NOW + DAY),
                _certificate(staff_id=own["many certificates"], valid_to=NOW + 90 * DAY),
                _certificate(staff_id=own["many certificates"], valid_to=NOW + 90 * DAY),
                # The school's seal: the old token retired, the new one in force.
                _certificate(
                    school_id=two,
                    provider=SigningProvider.PKCS11,
                    preferred=True,
                    retired_at=NOW - DAY,
                ),
                _certificate(school_id=two, provider=SigningProvider.PKCS11),
                _certificate(
                    school_id=one, provider=SigningProvider.PKCS11, status=CertificateStatus.REVOKED
                ),
            ]
        )
        classes = {
            "with teacher": models.SchoolClass(
                school_id=two,
                school_year_id=world.current_year_id,
                name="10A1",
                grade=10,
                homeroom_teacher_id=own["retired-only teacher"],
            ),
            "without teacher": models.SchoolClass(
                school_id=two, school_year_id=world.current_year_id, name="10A2", grade=10
            ),
            "other school": models.SchoolClass(
                school_id=one,
                school_year_id=world.current_year_id,
                name="10B1",
                grade=10,
                homeroom_teacher_id=own["migrated teacher"],
            ),
        }
        session.add_all(classes.values())
        await session.flush()

        found: dict[str, int] = {}

        async def transcript(name: str, state: TranscriptState, *, current: bool, xml: bytes):
            pupil = models.Student(
                personal_id=compose("001", 2010, Sex.FEMALE, 890_000 + next(_serial)),
                full_name=f"Học Sinh {name}",
                search_name=f"hoc sinh {name}",
                school_id=two,
            )
            session.add(pupil)
            await session.flush()
            session.add(
                models.Enrolment(
                    student_id=pupil.id,
                    class_id=classes["with teacher"].id,
                    school_year_id=world.current_year_id,
                )
            )
            row = models.Transcript(
                document_id=str(uuid.uuid4()),
                student_id=pupil.id,
                school_year_id=world.current_year_id,
                school_id=two,
                class_id=classes["with teacher"].id,
                state=state.value,
                is_current=current,
                xml=xml,
                pdf=b"%PDF-1.7 rule twins",
                xml_sha256=hashlib.sha256(xml).hexdigest(),
            )
            session.add(row)
            await session.flush()
            found[name] = row.id

        placeholder = b"<rule-twins/>"
        for state in TranscriptState:
            for current in (True, False):
                await transcript(
                    f"{state.value} {'current' if current else 'replaced'}",
                    state,
                    current=current,
                    xml=placeholder,
                )
        await transcript(
            "draft with results", TranscriptState.DRAFT, current=True, xml=_document(True)
        )
        await transcript("empty draft", TranscriptState.DRAFT, current=True, xml=_document(False))
        found_corner = Corner(
            schools={name: s.id for name, s in schools.items()},
            school_codes={name: s.moet_code for name, s in schools.items()},
            staff=staff,
            classes={name: c.id for name, c in classes.items()},
            transcripts=found,
            school_year_id=world.current_year_id,
        )
    yield found_corner
    async with db.unit_of_work() as session:
        await session.execute(
            delete(models.SigningCertificate).where(
                models.SigningCertificate.school_id.in_(found_corner.schools.values())
            )
        )


async def _certificates(db, corner: Corner) -> list[models.SigningCertificate]:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return list(
            await session.scalars(
                select(models.SigningCertificate).where(
                    (models.SigningCertificate.school_id.in_(corner.schools.values()))
                    | models.SigningCertificate.staff_id.in_([s.id for s in corner.staff.values()])
                )
            )
        )


# --- certificate validity ------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(0), -2 * HOUR, 2 * DAY, -40 * DAY])
async def test_certificate_validity_and_its_sql_twin_agree(db, corner, offset):
    at = NOW + offset
    rows = await _certificates(db, corner)
    async with db.sessions() as session:
        in_sql = set(
            await session.scalars(
                select(models.SigningCertificate.id).where(
                    models.SigningCertificate.id.in_([r.id for r in rows]), certificate_valid_at(at)
                )
            )
        )
    assert in_sql == {r.id for r in rows if is_valid_at(r, at)}
    if offset == timedelta(0):
        retired = {r.id for r in rows if r.retired_at is not None and as_utc(r.retired_at) <= NOW}
        assert retired and not retired & in_sql


async def test_the_signing_certificate_and_its_sql_twin_agree(db, corner):
    rows = await _certificates(db, corner)
    async with db.sessions() as session:
        # As the signing service joins it (find_signer): the chosen certificate's id.
        owner = models.SigningCertificate
        for person in corner.staff.values():
            in_sql = await session.scalar(
                select(signing_certificate_id(owner.staff_id, person.id, NOW))
            )
            pure = signing_certificate([r for r in rows if r.staff_id == person.id], NOW)
            assert in_sql == (pure.id if pure else None), person.full_name
        for school_id in corner.schools.values():
            in_sql = await session.scalar(
                select(signing_certificate_id(owner.school_id, school_id, NOW))
            )
            pure = seal_certificate_of(school_id, rows, NOW)
            assert in_sql == (pure.id if pure else None)
    retired_only = corner.staff["retired-only teacher"].id
    assert signing_certificate([r for r in rows if r.staff_id == retired_only], NOW) is None
    seal = seal_certificate_of(corner.schools["two-principals"], rows, NOW)
    assert seal is not None and seal.retired_at is None


# --- role holders --------------------------------------------------------------------------------


async def test_the_principal_and_its_sql_twin_agree(db, corner):
    async with db.sessions() as session:
        assignments = list(
            await session.scalars(
                select(models.StaffAssignment).where(
                    models.StaffAssignment.school_id.in_(corner.schools.values())
                )
            )
        )
        for school_id in corner.schools.values():
            in_sql = await session.scalar(select(roles.principal_id(school_id)))
            assert in_sql == principal_of(school_id, assignments)
        flagged = set(
            await session.scalars(
                select(models.StaffAssignment.id).where(
                    models.StaffAssignment.school_id.in_(corner.schools.values()),
                    roles.is_principal_record(),
                )
            )
        )
    expected = {
        a.id
        for a in assignments
        if a.role is StaffRole.PRINCIPAL and a.staff_id == principal_of(a.school_id, assignments)
    }
    assert flagged == expected
    assert principal_of(corner.schools["two-principals"], assignments) == (
        corner.staff["new principal"].id
    )
    assert principal_of(corner.schools["no-principal"], assignments) is None


async def test_the_homeroom_teacher_and_its_sql_twin_agree(db, corner):
    async with db.sessions() as session:
        for class_id in corner.classes.values():
            school_class = await session.get(models.SchoolClass, class_id)
            in_sql = await session.scalar(select(roles.homeroom_teacher_id(class_id)))
            assert in_sql == homeroom_teacher_of(school_class)
            teacher = await roles.homeroom_teacher(session, class_id=class_id)
            assert (teacher.id if teacher else None) == homeroom_teacher_of(school_class)


async def test_two_principal_records_resolve_the_same_way_on_every_path(db, corner):
    new, old = corner.staff["new principal"], corner.staff["departing principal"]
    async with db.sessions() as session:
        transcript = await session.get(
            models.Transcript, corner.transcripts["SIGNED_BY_HOMEROOM current"]
        )
        # The signing service: only the principal may sign as principal.
        signer = await signing_service.find_signer(
            session, transcript.school_id, [transcript.id], SignerRole.PRINCIPAL, new.personal_id
        )
        assert signer.staff is not None and signer.staff.id == new.id
        with pytest.raises(HubError) as refused:
            await signing_service.find_signer(
                session,
                transcript.school_id,
                [transcript.id],
                SignerRole.PRINCIPAL,
                old.personal_id,
            )
        assert refused.value.problem.code is Code.SIGNER_NOT_ROLE_HOLDER
        # A signing batch finds the same person.
        batch_signer = await signing_jobs._signer_of(session, transcript, SignerRole.PRINCIPAL)
        assert batch_signer.staff is not None and batch_signer.staff.id == new.id
        # Verification expects the same person.
        expected = await expected_signers(session, transcript)
        assert expected.personal_ids[SignerRole.PRINCIPAL] == frozenset({new.personal_id})
        # The drafted transcript prints the same name.
        year = await session.get(models.SchoolYear, corner.school_year_id)
        places = await enrolled(
            session, school_year=year, class_ids=[corner.classes["with teacher"]]
        )
        book = await gradebook(session, school_year=year, students=places)
        assert book.principals[corner.schools["two-principals"]] == new.full_name
        assert (await roles.principal(session, school_id=transcript.school_id)).id == new.id


async def test_a_retired_certificate_cannot_sign(db, corner):
    teacher = corner.staff["retired-only teacher"]
    async with db.sessions() as session:
        transcript = await session.get(models.Transcript, corner.transcripts["READY current"])
        with pytest.raises(HubError) as refused:
            await signing_service.find_signer(
                session,
                transcript.school_id,
                [transcript.id],
                SignerRole.HOMEROOM_TEACHER,
                teacher.personal_id,
            )
        assert refused.value.problem.code is Code.CREDENTIAL_NOT_FOUND
        seal = await signing_service.find_signer(
            session, transcript.school_id, [transcript.id], SignerRole.SCHOOL_SEAL, None
        )
        assert seal.certificate.retired_at is None


async def test_a_retired_certificate_is_invalid_through_graphql_everywhere(db, http, corner):
    code = corner.school_codes["two-principals"]
    token = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[code])
    school = str(GlobalID("School", str(corner.schools["two-principals"])))
    answer = data(
        await gql(
            http,
            token,
            """query($s: ID!) {
              staff(filter: {schoolId: $s}, first: 50) {
                nodes { fullName hasValidCertificate certificates { isValid } } }
              staffWithoutValidCertificate(schoolId: $s, first: 50) { nodes { fullName } }
              certificateCoverage(groupBy: [LEVEL]) { total { staffTotal withValidCertificate } }
            }""",
            {"s": school},
        )
    )
    listed = {n["fullName"]: n for n in answer["staff"]["nodes"]}
    without = {n["fullName"] for n in answer["staffWithoutValidCertificate"]["nodes"]}
    retired_only = corner.staff["retired-only teacher"].full_name
    assert listed[retired_only]["hasValidCertificate"] is False
    assert not any(c["isValid"] for c in listed[retired_only]["certificates"])
    assert retired_only in without
    migrated = corner.staff["migrated teacher"].full_name
    assert listed[migrated]["hasValidCertificate"] is True
    assert [c["isValid"] for c in listed[migrated]["certificates"]].count(True) == 1
    # The three answers agree with each other person by person.
    valid = {name for name, node in listed.items() if node["hasValidCertificate"]}
    assert without == set(listed) - valid
    total = answer["certificateCoverage"]["total"]
    assert total == {"staffTotal": len(listed), "withValidCertificate": len(valid)}


# --- readiness and publishing --------------------------------------------------------------------


async def test_a_transcript_without_results_is_not_marked_ready(db, http, corner):
    empty = corner.transcripts["empty draft"]
    async with db.sessions() as session:
        with pytest.raises(HubError) as refused:
            await transcripts.mark_ready(session, caller=CALLER, transcript_id=empty)
        assert refused.value.problem.code is Code.TRANSCRIPT_EMPTY
    token = await client_token(
        db, http, org=OrgLevel.SCHOOL, schools=[corner.school_codes["two-principals"]]
    )
    answer = await gql(
        http,
        token,
        "mutation($id: ID!) { markTranscriptReady(id: $id) { state } }",
        {"id": str(GlobalID("Transcript", str(empty)))},
    )
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["TRANSCRIPT_EMPTY"]


async def test_readying_several_refuses_each_empty_one_and_readies_the_rest(db, corner):
    full, empty = corner.transcripts["draft with results"], corner.transcripts["empty draft"]
    async with db.unit_of_work() as session:
        outcomes = dict(
            await transcripts.mark_ready_all(session, caller=CALLER, transcript_ids=[empty, full])
        )
    assert outcomes[full] is None
    assert outcomes[empty] is not None and outcomes[empty].code is Code.TRANSCRIPT_EMPTY
    async with db.sessions() as session:
        assert (await session.get(models.Transcript, full)).state == "READY"
        assert (await session.get(models.Transcript, empty)).state == "DRAFT"


async def test_awaiting_publication_and_its_sql_twin_agree(db, corner):
    ids = [v for k, v in corner.transcripts.items() if k.endswith(("current", "replaced"))]
    async with db.sessions() as session:
        rows = list(
            await session.scalars(select(models.Transcript).where(models.Transcript.id.in_(ids)))
        )
        in_sql = set(
            await session.scalars(
                select(models.Transcript.id).where(
                    models.Transcript.id.in_(ids), awaits_publication()
                )
            )
        )
    pure = {
        r.id
        for r in rows
        if lifecycle.awaits_publication(TranscriptState(r.state), is_current=r.is_current)
    }
    assert in_sql == pure == {corner.transcripts["SEALED current"]}


async def test_publishing_goes_through_the_transcript_service_once(db, corner):
    sealed = corner.transcripts["SEALED replaced"]
    async with db.unit_of_work() as session:
        transcript = await session.get(models.Transcript, sealed)
        assert await transcripts.publish(
            session, caller=CALLER, transcript=transcript, receipt="R-1"
        )
        assert not await transcripts.publish(
            session, caller=CALLER, transcript=transcript, receipt="R-1"
        )
    async with db.sessions() as session:
        assert (await session.get(models.Transcript, sealed)).state == "PUBLISHED"
        events = list(
            await session.scalars(
                select(models.TranscriptEvent.detail).where(
                    models.TranscriptEvent.transcript_id == sealed,
                    models.TranscriptEvent.event == transcripts.Event.PUBLISHED,
                )
            )
        )
    assert events == ["Kho học bạ số quốc gia, biên nhận R-1"]
