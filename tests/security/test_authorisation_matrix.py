"""The authorisation matrix: each kind of client × each organisation level × read/write
of each resource.

Data-driven: :data:`READS` and :data:`WRITES` list the resources (the GraphQL field or
route, the OAuth2 scopes it needs, how to ask and what the answer should be), and
:data:`CLIENTS` the callers — every :class:`ClientKind` at every reach (the whole
department, district LB, school A, school W). For each cell:

* without one of the resource's scopes the answer is FORBIDDEN (``extensions.code``)
  and carries no row;
* with every scope a read returns exactly the rows of the client's reach, compared
  as global IDs with the province as prepared here (a school-A client's students are
  exactly school A's; district LB sees A + B; the department sees everything);
  ``node(id:)`` of a record outside the reach is ``null``, not an error;
* a write aimed at a school outside the reach is rejected per row with its stable
  code (or the operation with TRANSCRIPT_NOT_FOUND / INVALID_ARGUMENT) and changes
  nothing, checked in the database afterwards; the same write inside the reach is
  accepted (so a hub that refused everything would not pass), then undone.

An admission service reads a pupil's transcript only under the family's consent (issue
11): the matrix's admission clients are given one for every prepared transcript, so
their rows follow the reach as everyone's do, and
:func:`test_an_admission_service_without_consent_sees_no_transcript` checks the rest.

Everything runs against a province of its own (``own``, see conftest.py), so that
the shared world's school W (written by other modules) cannot move the figures; it
is prepared once: two pupils for school W (which has none), one draft transcript per
school and a logged read of each school's first pupil. The department also sees the
records that belong to no school (a withdrawn pupil, a teacher whose assignments
ended), which the accepted writes leave behind. Clients are registered once per
module (one per kind and reach, through ``/oauth/token``); a token lacking a scope is
the same client's token issued for fewer scopes (the caller's scopes are the token's ∩
the grant's), and :func:`test_a_client_registered_without_a_scope_is_refused` covers
the grant itself.
"""

import hashlib
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from strawberry.relay import GlobalID

from hub.auth.access import SCOPES
from hub.db import models
from hub.documents import samples
from hub.documents.xml.transcript import build_xml
from hub.domain.consent import TEXT_VERSION
from hub.domain.enums import ClientKind, OrgLevel, Sex, StaffRole
from hub.domain.personal_id import compose
from tests.helpers import data, error_codes, gql, register, token_for

LETTERS = "ABCDW"
#: The schools each reach covers (tests/world.py: LB = A, B; CG = C, D, W).
REACH = {
    "department": "ABCDW",
    "district-LB": "AB",
    "school-A": "A",
    "school-W": "W",
}
DISTRICT_OF = {"A": "LB", "B": "LB", "C": "CG", "D": "CG", "W": "CG"}
#: Where writes are aimed: schools outside the reach (a sibling in the same district
#: and one in the other district), and one inside it for the accepted control.
OUTSIDE = {"department": "", "district-LB": "CW", "school-A": "BD", "school-W": "AC"}
INSIDE = {"department": "W", "district-LB": "A", "school-A": "A", "school-W": "W"}
#: Primary-school writes need a primary pupil: only B is a primary school.
INSIDE_PRIMARY = {"department": "B", "district-LB": "B", "school-A": "", "school-W": ""}
FULL = frozenset(SCOPES)

CLIENTS = [
    pytest.param(kind, reach, id=f"{kind.value.lower()}-{reach}")
    for kind in ClientKind
    for reach in REACH
]


def gid(type_name: str, key: int) -> str:
    return str(GlobalID(type_name, str(key)))


# --------------------------------------------------------------------------------------
# The province as prepared for the matrix


@dataclass
class SchoolFacts:
    letter: str
    id: int
    code: str
    district_id: int
    students: set[str] = field(default_factory=set)
    staff: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    certificates: set[str] = field(default_factory=set)
    transcripts: set[str] = field(default_factory=set)
    #: Records aimed at by node lookups and writes.
    student_id: int = 0  # the pupil with the transcript and the logged read
    transcript_id: int = 0
    transcript_document: str = ""
    pupil_id: int = 0  # the pupil writes are aimed at (class 0, with a personal ID)
    pupil: dict[str, Any] = field(default_factory=dict)
    teacher_id: int = 0
    class_id: int = 0
    teacher_personal_id: str = ""
    certificate_id: int = 0
    without_personal_id: set[str] = field(default_factory=set)
    without_valid_certificate: set[str] = field(default_factory=set)


@dataclass
class Matrix:
    own: Any
    schools: dict[str, SchoolFacts]
    _tokens: dict[tuple[ClientKind, str, str | None], str] = field(default_factory=dict)
    _clients: dict[tuple[ClientKind, str], tuple[str, int]] = field(default_factory=dict)

    @property
    def http(self):  # type: ignore[no-untyped-def]
        return self.own.http

    def districts(self, reach: str) -> set[str]:
        return {gid("District", self.schools[x].district_id) for x in REACH[reach]}

    async def token(self, kind: ClientKind, reach: str, without: str | None = None) -> str:
        """The client of ``kind`` at ``reach`` (all scopes), or its token lacking ``without``."""
        key = (kind, reach, without)
        if key in self._tokens:
            return self._tokens[key]
        if (kind, reach) not in self._clients:
            org, schools, districts = {
                "department": (OrgLevel.DEPARTMENT, [], []),
                "district-LB": (OrgLevel.DISTRICT, [], ["LB"]),
                "school-A": (OrgLevel.SCHOOL, [self.schools["A"].code], []),
                "school-W": (OrgLevel.SCHOOL, [self.schools["W"].code], []),
            }[reach]
            client_id, secret = await register(
                self.own.db,
                org=org,
                schools=schools,
                districts=districts,
                scopes=sorted(FULL),
                kind=kind,
            )
            self._tokens[(kind, reach, None)] = await token_for(self.http, client_id, secret)
            if kind is ClientKind.ADMISSION:
                await self.consent_to(client_id)
            async with self.own.db.unit_of_work() as session:
                version = await session.scalar(
                    select(models.ApiClient.credentials_version).where(
                        models.ApiClient.client_id == client_id
                    )
                )
            self._clients[(kind, reach)] = (client_id, version)
        if without is not None:
            client_id, version = self._clients[(kind, reach)]
            issued, _ = self.own.app.state.hub.tokens.issue(
                client_id, FULL - {without}, credentials_version=version
            )
            self._tokens[key] = issued
        return self._tokens[key]

    async def consent_to(self, client_id: str) -> None:
        """Consents, with the pupils' agreement, for the admission service ``client_id``
        to read every prepared transcript (this year's)."""
        now = datetime.now(UTC)
        guardian = new_personal_id(1980, Sex.MALE)  # who consented: no record needs them
        async with self.own.db.unit_of_work() as session:
            session.add_all(
                models.Consent(
                    student_id=facts.student_id,
                    recipient=client_id,
                    purpose="ma trận phân quyền",
                    documents={"schoolYears": ["2025-2026"]},
                    valid_from=now - timedelta(days=1),
                    valid_until=now + timedelta(days=30),
                    text_version=TEXT_VERSION,
                    given_by=guardian,
                    pupil_agreed_at=now - timedelta(days=1),
                )
                for facts in self.schools.values()
            )

    async def orphans(self, model: type) -> set[str]:
        """Rows that belong to no school (pupils withdrawn, staff whose assignments ended):
        the department still sees them, no school or district does."""
        async with self.own.db.unit_of_work() as session:
            if model is models.Student:
                ids = await session.scalars(
                    select(models.Student.id).where(models.Student.school_id.is_(None))
                )
                return {gid("Student", i) for i in ids}
            ids = await session.scalars(
                select(models.Staff.id).where(
                    ~select(models.StaffAssignment.id)
                    .where(models.StaffAssignment.staff_id == models.Staff.id)
                    .exists()
                )
            )
            return {gid("Staff", i) for i in ids}

    async def rows_of(self, reach: str, kind: str) -> set[str]:
        """What a client of ``reach`` should see of ``kind`` (an attribute of SchoolFacts)."""
        expected = set().union(*(getattr(self.schools[x], kind) for x in REACH[reach]))
        if reach == "department" and kind in ("students", "staff"):
            model = models.Student if kind == "students" else models.Staff
            expected |= await self.orphans(model)
        return expected


_serial = itertools.count(960_001)


def new_personal_id(birth_year: int, sex: Sex) -> str:
    return compose("001", birth_year, sex, next(_serial))


async def _prepare(own: Any) -> dict[str, SchoolFacts]:
    world = own.world
    async with own.db.unit_of_work() as session:
        schools = {
            x: SchoolFacts(
                letter=x,
                id=world.schools[x].id,
                code=world.schools[x].code,
                district_id=world.districts[DISTRICT_OF[x]],
            )
            for x in LETTERS
        }
        # School W has no pupils in the shared world: give it two, in its first class.
        w = schools["W"]
        for n in range(2):
            pupil = models.Student(
                personal_id=new_personal_id(2013, Sex.FEMALE),
                moet_code=f"HSW9{n:04d}",
                full_name=f"Phạm Thị Ghi {n}",
                search_name=f"pham thi ghi {n}",
                birth_date=date(2013, 3, 3 + n),
                sex=Sex.FEMALE,
                school_id=w.id,
            )
            session.add(pupil)
            await session.flush()
            session.add(
                models.Enrolment(
                    student_id=pupil.id,
                    class_id=world.schools["W"].classes[0],
                    school_year_id=world.current_year_id,
                )
            )
        await session.flush()
        for facts in schools.values():
            pupils = list(
                await session.scalars(
                    select(models.Student)
                    .where(models.Student.school_id == facts.id)
                    .order_by(models.Student.id)
                )
            )
            facts.students = {gid("Student", p.id) for p in pupils}
            facts.without_personal_id = {
                gid("Student", p.id) for p in pupils if p.personal_id is None
            }
            # Pupils cycle through the four classes: index 0 and 4 are in the first.
            facts.student_id = pupils[0].id
            target = pupils[4] if len(pupils) > 4 else pupils[1]
            facts.pupil_id = target.id
            facts.pupil = {
                "personalId": target.personal_id,
                "fullName": target.full_name,
                "birthDate": target.birth_date.isoformat(),
                "sex": target.sex.value,
            }
            staff = world.schools[facts.letter].staff
            facts.staff = {gid("Staff", i) for i in staff}
            # Teachers 3 (revoked) and 4 (expired) hold no valid certificate.
            facts.without_valid_certificate = {gid("Staff", i) for i in staff[3:]}
            facts.teacher_id = staff[1]
            facts.teacher_personal_id = (await session.get(models.Staff, staff[1])).personal_id
            facts.classes = {gid("SchoolClass", i) for i in world.schools[facts.letter].classes}
            facts.class_id = world.schools[facts.letter].classes[0]
            # The world names each certificate after its school: cred-A-0…, seal-A.
            for certificate in await session.scalars(select(models.SigningCertificate)):
                if certificate.credential_id in (
                    f"seal-{facts.letter}",
                    *(f"cred-{facts.letter}-{n}" for n in range(6)),
                ):
                    facts.certificates.add(gid("Certificate", certificate.id))
                if certificate.credential_id == f"cred-{facts.letter}-0":
                    facts.certificate_id = certificate.id
            enrolment = await session.scalar(
                select(models.Enrolment).where(models.Enrolment.student_id == facts.student_id)
            )
            # A real document with results: locking an empty one is refused (TRANSCRIPT_EMPTY).
            document_id = str(uuid.uuid4())
            xml = build_xml(replace(samples.secondary(facts.student_id), document_id=document_id))
            transcript = models.Transcript(
                document_id=document_id,
                student_id=facts.student_id,
                school_year_id=world.current_year_id,
                school_id=facts.id,
                class_id=enrolment.class_id,
                state="DRAFT",
                xml=xml,
                pdf=b"%PDF-1.7 matrix",
                xml_sha256=hashlib.sha256(xml).hexdigest(),
            )
            session.add(transcript)
            await session.flush()
            facts.transcript_id = transcript.id
            facts.transcript_document = transcript.document_id
            facts.transcripts = {gid("Transcript", transcript.id)}
            # Someone read the pupil's record: the access log has an entry to show.
            session.add(
                models.AccessLog(
                    client_id="matrix-setup",
                    action="read",
                    entity="student",
                    entity_id=facts.student_id,
                    item="record",
                    purpose="ma-tran",
                )
            )
    return schools


@pytest.fixture(scope="module")
async def matrix(own) -> Matrix:
    return Matrix(own=own, schools=await _prepare(own))


# --------------------------------------------------------------------------------------
# Reads


def _ids(connection: dict[str, Any]) -> set[str]:
    nodes = connection["nodes"]
    assert connection["totalCount"] == len(nodes), connection["totalCount"]
    return {n["id"] for n in nodes}


def _per_school(
    m: Matrix, template: str, key: Callable[[SchoolFacts], str]
) -> tuple[str, dict[str, Any]]:
    """One aliased field per school (``a: field(arg: $a)``), one request for all five."""
    variables = {x.lower(): key(m.schools[x]) for x in LETTERS}
    header = ", ".join(f"${x.lower()}: ID!" for x in LETTERS)
    body = " ".join(
        template.replace("ALIAS", x.lower()).replace("VAR", f"${x.lower()}") for x in LETTERS
    )
    return f"query({header}) {{ {body} }}", variables


@dataclass(frozen=True)
class Read:
    """A read: its scopes, how to ask, how to turn the answer into what to compare, and
    what a client of a reach should get (``expected(matrix, reach)``)."""

    name: str
    scopes: tuple[str, ...]
    ask: Callable[[Matrix], tuple[str, dict[str, Any]]]
    seen: Callable[[dict[str, Any]], Any]
    expected: Callable[[Matrix, str], Awaitable[Any]]
    #: Instead of one request (``ask``/``seen``): (the answer if refused, what it shows).
    run: Callable[[Matrix, str], Awaitable[tuple[dict[str, Any] | None, Any]]] | None = None


def _connection(field_name: str, kind: str, scopes: tuple[str, ...]) -> Read:
    async def expected(m: Matrix, reach: str) -> set[str]:
        return await m.rows_of(reach, kind)

    return Read(
        name=field_name,
        scopes=scopes,
        ask=lambda m: (f"{{ {field_name}(first: 500) {{ totalCount nodes {{ id }} }} }}", {}),
        seen=lambda d: _ids(d[field_name]),
        expected=expected,
    )


def _node(type_name: str, scopes: tuple[str, ...], key: Callable[[SchoolFacts], int]) -> Read:
    """``node(id:)`` of one record per school: present inside the reach, null outside."""

    async def expected(m: Matrix, reach: str) -> set[str]:
        if type_name == "District":
            return {x for x in LETTERS if DISTRICT_OF[x] in {DISTRICT_OF[y] for y in REACH[reach]}}
        return set(REACH[reach])

    return Read(
        name=f"node:{type_name}",
        scopes=scopes,
        ask=lambda m: _per_school(
            m, "ALIAS: node(id: VAR) { id }", lambda s: gid(type_name, key(s))
        ),
        seen=lambda d: {x for x in LETTERS if d[x.lower()] is not None},
        expected=expected,
    )


def _school_gid(s: SchoolFacts) -> str:
    return gid("School", s.id)


async def _changes(m: Matrix, reach: str) -> set[str]:
    return (
        await m.rows_of(reach, "students")
        | await m.rows_of(reach, "staff")
        | await m.rows_of(reach, "certificates")
    )


async def _coverage(m: Matrix, reach: str) -> dict[str, Any]:
    schools = len(REACH[reach])  # every school has five teachers, three with a valid one
    return {
        "districts": m.districts(reach),
        "total": {"staffTotal": 5 * schools, "withValidCertificate": 3 * schools},
    }


async def _logged(m: Matrix, reach: str) -> set[str]:
    return set(REACH[reach])


async def _const(value: Any) -> Any:
    return value


async def _per_school_rows(m: Matrix, reach: str, kind: str) -> dict[str, set[str]]:
    return {x: getattr(m.schools[x], kind) if x in REACH[reach] else set() for x in LETTERS}


FEED = """query($since: Int!) { changes(since: $since, first: 500) {
  nextSince hasMore changes { entity node { id } } } }"""


READS = [
    _connection("students", "students", ("students:read",)),
    _connection("staff", "staff", ("staff:read",)),
    _connection("certificates", "certificates", ("certificates:read",)),
    _connection("transcripts", "transcripts", ("transcripts:read",)),
    _connection("classes", "classes", ()),
    Read(
        name="schools",
        scopes=(),
        ask=lambda m: ("{ schools(first: 500) { totalCount nodes { id } } }", {}),
        seen=lambda d: _ids(d["schools"]),
        expected=lambda m, reach: _const({_school_gid(m.schools[x]) for x in REACH[reach]}),
    ),
    Read(
        name="districts",
        scopes=(),
        ask=lambda m: ("{ districts(first: 500) { totalCount nodes { id } } }", {}),
        seen=lambda d: _ids(d["districts"]),
        expected=lambda m, reach: _const(m.districts(reach)),
    ),
    Read(
        name="changes",
        scopes=("changes:read",),
        ask=lambda m: (FEED, {"since": 0}),
        seen=lambda d: d,
        expected=_changes,
        run=lambda m, token: _read_changes(m, token),  # followed to its end
    ),
    Read(
        name="studentAccessLog",
        scopes=("audit:read",),
        ask=lambda m: _per_school(
            m,
            "ALIAS: studentAccessLog(studentId: VAR, first: 50) "
            "{ totalCount nodes { clientId purpose } }",
            lambda s: gid("Student", s.student_id),
        ),
        seen=lambda d: {
            x
            for x in LETTERS
            if {"clientId": "matrix-setup", "purpose": "ma-tran"} in d[x.lower()]["nodes"]
        },
        expected=_logged,
    ),
    Read(
        name="certificateCoverage",
        scopes=("reports:read",),
        ask=lambda m: (
            "{ certificateCoverage(groupBy: [DISTRICT]) { rows { district { id } } "
            "total { staffTotal withValidCertificate } } }",
            {},
        ),
        seen=lambda d: {
            "districts": {r["district"]["id"] for r in d["certificateCoverage"]["rows"]},
            "total": d["certificateCoverage"]["total"],
        },
        expected=_coverage,
    ),
    Read(
        name="staffWithoutValidCertificate",
        scopes=("reports:read", "staff:read"),
        ask=lambda m: _per_school(
            m,
            "ALIAS: staffWithoutValidCertificate(schoolId: VAR, first: 50) "
            "{ totalCount nodes { id } }",
            _school_gid,
        ),
        seen=lambda d: {x: _ids(d[x.lower()]) for x in LETTERS},
        expected=lambda m, reach: _per_school_rows(m, reach, "without_valid_certificate"),
    ),
    Read(
        name="studentsWithoutPersonalId",
        scopes=("reports:read", "students:read"),
        ask=lambda m: _per_school(
            m,
            "ALIAS: studentsWithoutPersonalId(schoolId: VAR, first: 50) "
            "{ totalCount nodes { id } }",
            _school_gid,
        ),
        seen=lambda d: {x: _ids(d[x.lower()]) for x in LETTERS},
        expected=lambda m, reach: _per_school_rows(m, reach, "without_personal_id"),
    ),
    _node("Student", ("students:read",), lambda s: s.student_id),
    _node("Staff", ("staff:read",), lambda s: s.teacher_id),
    _node("Certificate", ("certificates:read",), lambda s: s.certificate_id),
    _node("Transcript", ("transcripts:read",), lambda s: s.transcript_id),
    _node("SchoolClass", (), lambda s: s.class_id),
    _node("School", (), lambda s: s.id),
    _node("District", (), lambda s: s.district_id),
]


async def _read_changes(m: Matrix, token: str) -> tuple[dict[str, Any] | None, set[str]]:
    """Follow the change feed to its end; the ids of the records it carries."""
    since, nodes = 0, set()
    while True:
        result = await gql(m.http, token, FEED, {"since": since})
        if result.get("errors"):
            return result, nodes
        feed = data(result)["changes"]
        nodes |= {c["node"]["id"] for c in feed["changes"] if c["node"] is not None}
        if not feed["hasMore"]:
            return None, nodes
        since = feed["nextSince"]


async def _ask(m: Matrix, read: Read, token: str) -> tuple[dict[str, Any] | None, Any]:
    """(the raw answer when it carries errors, else None; what it shows)."""
    if read.run is not None:
        return await read.run(m, token)
    query, variables = read.ask(m)
    result = await gql(m.http, token, query, variables)
    if result.get("errors"):
        return result, None
    return None, read.seen(data(result))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)] or [None]
    return [value]


READ_CASES = [pytest.param(r, id=r.name) for r in READS]
SCOPED_READ_CASES = [
    pytest.param(r, scope, id=f"{r.name}-without-{scope}") for r in READS for scope in r.scopes
]


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize("read", READ_CASES)
async def test_a_read_returns_exactly_the_rows_of_the_reach(matrix, read, kind, reach):
    token = await matrix.token(kind, reach)
    refused, seen = await _ask(matrix, read, token)
    assert refused is None, refused["errors"]
    assert seen == await read.expected(matrix, reach)


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize(("read", "scope"), SCOPED_READ_CASES)
async def test_a_read_without_its_scope_is_forbidden_and_empty(matrix, read, scope, kind, reach):
    token = await matrix.token(kind, reach, without=scope)
    refused, _ = await _ask(matrix, read, token)
    assert refused is not None, f"{read.name} answered without {scope}"
    assert set(error_codes(refused)) == {"FORBIDDEN"}, refused["errors"]
    # No row leaks beside the refusal: every field of the answer is null or empty.
    assert all(leaf is None for leaf in _leaves(refused.get("data"))), refused["data"]


# Downloads of a transcript's files go through their own route, not GraphQL.


async def _downloads(m: Matrix, token: str) -> dict[str, int]:
    statuses = {}
    for x in LETTERS:
        response = await m.http.get(
            f"/transcripts/{m.schools[x].transcript_document}.pdf",
            headers={"Authorization": f"Bearer {token}"},
        )
        statuses[x] = response.status_code
        if response.status_code == 200:
            assert response.content == b"%PDF-1.7 matrix"
        else:
            expected = {403: ("FORBIDDEN", "CONSENT_REQUIRED"), 404: ("TRANSCRIPT_NOT_FOUND",)}
            assert response.json()["code"] in expected[response.status_code], response.text
    return statuses


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
async def test_a_transcript_download_is_given_inside_the_reach_only(matrix, kind, reach):
    statuses = await _downloads(matrix, await matrix.token(kind, reach))
    # An admission service is told CONSENT_REQUIRED (403) outside its reach as well:
    # "not found" there would tell it which pupils exist.
    outside = 403 if kind is ClientKind.ADMISSION else 404
    assert statuses == {x: 200 if x in REACH[reach] else outside for x in LETTERS}


@pytest.mark.parametrize("reach", REACH)
async def test_an_admission_service_without_consent_sees_no_transcript(matrix, reach):
    """Nothing of a pupil without a consent: the list and the download say
    CONSENT_REQUIRED (the same for a document that does not exist), a node is null."""
    org, schools, districts = {
        "department": (OrgLevel.DEPARTMENT, [], []),
        "district-LB": (OrgLevel.DISTRICT, [], ["LB"]),
        "school-A": (OrgLevel.SCHOOL, [matrix.schools["A"].code], []),
        "school-W": (OrgLevel.SCHOOL, [matrix.schools["W"].code], []),
    }[reach]
    token = await token_for(
        matrix.http,
        *await register(
            matrix.own.db,
            org=org,
            schools=schools,
            districts=districts,
            scopes=sorted(FULL),
            kind=ClientKind.ADMISSION,
        ),
    )
    for query in ("{ transcripts { nodes { id } } }", NESTED[2][0]):
        refused = await gql(matrix.http, token, query)
        assert error_codes(refused) == ["CONSENT_REQUIRED"], refused
        assert all(leaf is None for leaf in _leaves(refused.get("data"))), refused["data"]
    query, variables = _per_school(
        matrix, "ALIAS: node(id: VAR) { id }", lambda s: gid("Transcript", s.transcript_id)
    )
    assert data(await gql(matrix.http, token, query, variables)) == {
        x.lower(): None for x in LETTERS
    }
    answers = [
        await matrix.http.get(
            f"/transcripts/{document}.pdf", headers={"Authorization": f"Bearer {token}"}
        )
        for document in [s.transcript_document for s in matrix.schools.values()]
        + [str(uuid.uuid4())]
    ]
    assert {(a.status_code, a.json()["code"]) for a in answers} == {(403, "CONSENT_REQUIRED")}


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize("scope", ["transcripts:read", "personal-ids:read"])
async def test_a_transcript_download_without_its_scope_is_forbidden(matrix, scope, kind, reach):
    statuses = await _downloads(matrix, await matrix.token(kind, reach, without=scope))
    assert statuses == dict.fromkeys(LETTERS, 403)


# A relation reached through a record of another kind needs that kind's scope too.

NESTED = [
    ("{ schools { nodes { sealCertificates { id } } } }", "certificates:read"),
    ("{ classes { nodes { homeroomTeacher { id } } } }", "staff:read"),
    ("{ transcripts { nodes { student { id } } } }", "students:read"),
    ("{ certificates { nodes { staff { id } } } }", "staff:read"),
    ("{ staff { nodes { certificates { id } } } }", "certificates:read"),
    ("{ staff { nodes { hasValidCertificate } } }", "certificates:read"),
]


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize(
    ("query", "scope"), [pytest.param(q, s, id=f"{q.split()[1]}-{s}") for q, s in NESTED]
)
async def test_a_relation_needs_its_own_scope(matrix, query, scope, kind, reach):
    allowed = await gql(matrix.http, await matrix.token(kind, reach), query)
    assert not allowed.get("errors"), allowed["errors"]
    refused = await gql(matrix.http, await matrix.token(kind, reach, without=scope), query)
    assert set(error_codes(refused)) == {"FORBIDDEN"}, refused
    assert all(leaf is None for leaf in _leaves(refused.get("data"))), refused["data"]


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize(
    ("scope", "entity"),
    [("students:read", "student"), ("staff:read", "staff"), ("certificates:read", "certificate")],
)
async def test_the_change_feed_leaves_out_the_kinds_a_client_may_not_read(
    matrix, scope, entity, kind, reach
):
    token = await matrix.token(kind, reach, without=scope)
    since, entities = 0, set()
    while True:
        feed = data(await gql(matrix.http, token, FEED, {"since": since}))["changes"]
        entities |= {c["entity"] for c in feed["changes"]}
        if not feed["hasMore"]:
            break
        since = feed["nextSince"]
    assert entity not in entities
    if entity == "student":  # a guardian link's node is its pupil
        assert "guardianLink" not in entities


# --------------------------------------------------------------------------------------
# Writes


ROWS = "rows { status errors { code } }"


@dataclass(frozen=True)
class Write:
    """A write: its scope, the mutation, a row (or argument) aimed at a school, what it
    answers outside the reach, and how to read back what it could have changed.

    ``prepare`` (inside the reach only) makes what the accepted control needs and
    ``undo`` puts the province back as it was, so the reads above stay exact.
    """

    name: str
    scope: str
    mutation: str
    aim: Callable[[Matrix, str, str], dict[str, Any]]  # (matrix, target letter, tag) → vars
    refused: str  # the code outside the reach
    state: Callable[[Any, Matrix, str, dict[str, Any]], Awaitable[Any]]
    inside: Callable[[Matrix, str], str] = lambda m, reach: INSIDE[reach]
    prepare: Callable[[Any, Matrix, str, dict[str, Any]], Awaitable[None]] | None = None
    undo: Callable[[Any, Matrix, str, dict[str, Any]], Awaitable[None]] | None = None
    per_row: bool = True  # rows come back with a status; else the operation is refused
    accepted: tuple[str, ...] = ("CREATED", "UPDATED", "UNCHANGED")


def _student_row(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    personal_id = new_personal_id(2013, Sex.MALE)
    return {
        "r": [
            {
                "personalId": personal_id,
                "fullName": f"Trần Văn Ma Trận {tag}",
                "birthDate": "2013-05-06",
                "sex": "MALE",
                "schoolCode": m.schools[x].code,
            }
        ]
    }


def _staff_row(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {
        "r": [
            {
                "personalId": new_personal_id(1985, Sex.FEMALE),
                "fullName": f"Lê Thị Ma Trận {tag}",
                "birthDate": "1985-02-03",
                "sex": "FEMALE",
                "assignments": [{"schoolCode": m.schools[x].code, "roles": ["TEACHER"]}],
            }
        ]
    }


def _pid(v: dict[str, Any]) -> str:
    return v["r"][0]["personalId"]


async def _count(session: Any, statement: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.subquery())))


async def _students_with(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    return (
        await _count(session, select(models.Student).where(models.Student.personal_id == _pid(v))),
        await _count(
            session, select(models.Student).where(models.Student.school_id == m.schools[x].id)
        ),
    )


async def _staff_with(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    return (
        await _count(session, select(models.Staff).where(models.Staff.personal_id == _pid(v))),
        await _count(
            session,
            select(models.StaffAssignment).where(
                models.StaffAssignment.school_id == m.schools[x].id
            ),
        ),
    )


async def _withdraw_created(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
    await session.execute(
        update(models.Student).where(models.Student.personal_id == _pid(v)).values(school_id=None)
    )


async def _end_created(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
    staff_id = select(models.Staff.id).where(models.Staff.personal_id == _pid(v))
    await session.execute(
        delete(models.StaffAssignment).where(models.StaffAssignment.staff_id.in_(staff_id))
    )


def _link_row(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {
        "r": [
            {
                "studentPersonalId": m.schools[x].pupil["personalId"],
                "guardian": {"fullName": f"Người Giám Hộ {tag}", "phone": f"0987{tag[-6:]:0>6}"},
                "relation": "GUARDIAN",
            }
        ]
    }


async def _links_of(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    phone = v["r"][0]["guardian"]["phone"]
    return (
        sorted(
            await session.scalars(
                select(models.GuardianLink.guardian_id).where(
                    models.GuardianLink.student_id == m.schools[x].pupil_id
                )
            )
        ),
        await _count(session, select(models.Guardian).where(models.Guardian.phone == phone)),
    )


async def _unlink(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
    phone = v["r"][0]["guardian"]["phone"]
    guardians = select(models.Guardian.id).where(models.Guardian.phone == phone)
    await session.execute(
        delete(models.GuardianLink).where(models.GuardianLink.guardian_id.in_(guardians))
    )


def _end_row(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {
        "r": [{"personalId": m.schools[x].teacher_personal_id, "schoolCode": m.schools[x].code}]
    }


async def _assignments_of(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    staff_id = select(models.Staff.id).where(models.Staff.personal_id == _pid(v))
    rows = await session.execute(
        select(models.StaffAssignment.school_id, models.StaffAssignment.role).where(
            models.StaffAssignment.staff_id.in_(staff_id)
        )
    )
    return sorted(rows.all())


async def _new_teacher(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
    """The accepted control ends a teacher made for it, not one the reads count."""
    personal_id = new_personal_id(1982, Sex.MALE)
    session.add(
        models.Staff(
            personal_id=personal_id,
            full_name="Giáo Viên Tạm",
            search_name="giao vien tam",
            sex=Sex.MALE,
            birth_date=date(1982, 1, 1),
            assignments=[models.StaffAssignment(school_id=m.schools[x].id, role=StaffRole.TEACHER)],
        )
    )
    v["r"][0]["personalId"] = personal_id


def _withdraw_row(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {"r": [{"personalId": m.schools[x].pupil["personalId"]}]}


async def _pupil_place(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    student = await session.scalar(
        select(models.Student).where(models.Student.personal_id == _pid(v))
    )
    enrolments = await _count(
        session, select(models.Enrolment).where(models.Enrolment.student_id == student.id)
    )
    return student.school_id, enrolments


async def _new_pupil(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
    """The accepted control withdraws a pupil made for it, not one the reads count."""
    personal_id = new_personal_id(2013, Sex.MALE)
    session.add(
        models.Student(
            personal_id=personal_id,
            full_name="Học Sinh Tạm",
            search_name="hoc sinh tam",
            birth_date=date(2013, 1, 1),
            sex=Sex.MALE,
            school_id=m.schools[x].id,
        )
    )
    v["r"][0]["personalId"] = personal_id


def _assessment(row: dict[str, Any]) -> Callable[[Matrix, str, str], dict[str, Any]]:
    def aim(m: Matrix, x: str, tag: str) -> dict[str, Any]:
        return {"r": [{"studentPersonalId": m.schools[x].pupil["personalId"], **row}]}

    return aim


ASSESSMENT_TABLES = (
    models.SubjectAssessment,
    models.StudentYearRecord,
    models.SubjectRetest,
    models.PrimarySubjectAssessment,
    models.PrimaryTraitAssessment,
)


async def _gradebook_of(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    pupil = m.schools[x].pupil_id
    return [
        await _count(session, select(table).where(table.student_id == pupil))
        for table in ASSESSMENT_TABLES
    ]


def _transcript_of(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {"id": gid("Transcript", m.schools[x].transcript_id)}


async def _transcript_state(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    transcript_id = m.schools[x].transcript_id
    state = await session.scalar(
        select(models.Transcript.state).where(models.Transcript.id == transcript_id)
    )
    events = await _count(
        session,
        select(models.TranscriptEvent).where(models.TranscriptEvent.transcript_id == transcript_id),
    )
    return state, events


def _set_state(state: str) -> Callable[[Any, Matrix, str, dict[str, Any]], Awaitable[None]]:
    async def put(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> None:
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id == m.schools[x].transcript_id)
            .values(state=state)
        )

    return put


def _school_of(m: Matrix, x: str, tag: str) -> dict[str, Any]:
    return {"id": gid("School", m.schools[x].id)}


async def _school_transcripts(session: Any, m: Matrix, x: str, v: dict[str, Any]) -> Any:
    school = m.schools[x].id
    return (
        await _count(
            session, select(models.Transcript).where(models.Transcript.school_id == school)
        ),
        await _count(session, select(models.Job).where(models.Job.school_id == school)),
    )


def _upsert(field_name: str, input_type: str) -> str:
    return f"mutation($r: [{input_type}!]!) {{ {field_name}(rows: $r) {{ {ROWS} }} }}"


WRITES = [
    Write(
        name="upsertStudents",
        scope="students:write",
        mutation=_upsert("upsertStudents", "StudentInput"),
        aim=_student_row,
        refused="SCHOOL_NOT_FOUND",
        state=_students_with,
        undo=_withdraw_created,
        accepted=("CREATED",),
    ),
    Write(
        name="upsertStaff",
        scope="staff:write",
        mutation=_upsert("upsertStaff", "StaffInput"),
        aim=_staff_row,
        refused="SCHOOL_NOT_FOUND",
        state=_staff_with,
        undo=_end_created,
        accepted=("CREATED",),
    ),
    Write(
        name="upsertGuardianLinks",
        scope="students:write",
        mutation=_upsert("upsertGuardianLinks", "GuardianLinkInput"),
        aim=_link_row,
        refused="STUDENT_NOT_FOUND",
        state=_links_of,
        undo=_unlink,
        accepted=("CREATED",),
    ),
    Write(
        name="endStaffAssignments",
        scope="staff:write",
        mutation=_upsert("endStaffAssignments", "AssignmentEndInput"),
        aim=_end_row,
        refused="ASSIGNMENT_NOT_FOUND",
        state=_assignments_of,
        prepare=_new_teacher,
        accepted=("DELETED",),
    ),
    Write(
        name="withdrawStudents",
        scope="students:write",
        mutation=_upsert("withdrawStudents", "StudentWithdrawalInput"),
        aim=_withdraw_row,
        refused="STUDENT_NOT_FOUND",
        state=_pupil_place,
        prepare=_new_pupil,
        accepted=("DELETED",),
    ),
    Write(
        name="upsertSecondaryAssessments",
        scope="assessments:write",
        mutation=_upsert("upsertSecondaryAssessments", "SecondaryAssessmentInput"),
        aim=_assessment(
            {
                "subjectCode": "TOAN",
                "semester": 1,
                "regular": ["8", "7.5", "9", "10"],
                "midterm": "8.5",
                "final": "9",
            }
        ),
        refused="STUDENT_NOT_FOUND",
        state=_gradebook_of,
    ),
    Write(
        name="upsertYearRecords",
        scope="assessments:write",
        mutation=_upsert("upsertYearRecords", "YearRecordInput"),
        aim=_assessment({"conductFirst": "GOOD", "halfDaysAbsent": 2}),
        refused="STUDENT_NOT_FOUND",
        state=_gradebook_of,
    ),
    Write(
        name="upsertRetests",
        scope="assessments:write",
        mutation=_upsert("upsertRetests", "RetestInput"),
        aim=_assessment({"subjectCode": "KHTN", "score": "6.5"}),
        refused="STUDENT_NOT_FOUND",
        state=_gradebook_of,
    ),
    Write(
        name="upsertPrimaryAssessments",
        scope="assessments:write",
        mutation=_upsert("upsertPrimaryAssessments", "PrimaryAssessmentInput"),
        aim=_assessment(
            {
                "subjectCode": "TIENG_VIET",
                "period": "END_YEAR",
                "completion": "WELL",
                "testScore": 9,
            }
        ),
        refused="STUDENT_NOT_FOUND",
        state=_gradebook_of,
        inside=lambda m, reach: INSIDE_PRIMARY[reach],
    ),
    Write(
        name="upsertPrimaryTraits",
        scope="assessments:write",
        mutation=_upsert("upsertPrimaryTraits", "PrimaryTraitInput"),
        aim=_assessment({"trait": "CHAM_CHI", "period": "END_YEAR", "level": "GOOD"}),
        refused="STUDENT_NOT_FOUND",
        state=_gradebook_of,
        inside=lambda m, reach: INSIDE_PRIMARY[reach],
    ),
    Write(
        name="markTranscriptReady",
        scope="transcripts:write",
        mutation="mutation($id: ID!) { markTranscriptReady(id: $id) { id state } }",
        aim=_transcript_of,
        refused="TRANSCRIPT_NOT_FOUND",
        state=_transcript_state,
        undo=_set_state("DRAFT"),
        per_row=False,
        accepted=("READY",),
    ),
    Write(
        name="reopenTranscript",
        scope="transcripts:write",
        mutation="mutation($id: ID!) { reopenTranscript(id: $id) { id state } }",
        aim=_transcript_of,
        refused="TRANSCRIPT_NOT_FOUND",
        state=_transcript_state,
        prepare=_set_state("READY"),
        undo=_set_state("DRAFT"),
        per_row=False,
        accepted=("DRAFT",),
    ),
    Write(
        name="startTranscriptGeneration",
        scope="transcripts:write",
        mutation="mutation($id: ID!) { startTranscriptGeneration(schoolId: $id) { jobId } }",
        aim=_school_of,
        refused="INVALID_ARGUMENT",
        state=_school_transcripts,
        inside=lambda m, reach: "",  # starting a real run is the jobs tests' business
        per_row=False,
    ),
]

WRITE = {w.name: w for w in WRITES}
WRITE_CASES = [pytest.param(w, id=w.name) for w in WRITES]
_tags = itertools.count(1)


async def _state(m: Matrix, write: Write, x: str, variables: dict[str, Any]) -> Any:
    async with m.own.db.unit_of_work() as session:
        return await write.state(session, m, x, variables)


async def _refused_outside(m: Matrix, write: Write, token: str, x: str) -> None:
    variables = write.aim(m, x, f"{next(_tags):06d}")
    before = await _state(m, write, x, variables)
    result = await gql(m.http, token, write.mutation, variables)
    if write.per_row:
        rows = next(iter(data(result).values()))["rows"]
        assert [r["status"] for r in rows] == ["REJECTED"], (x, rows)
        assert [e["code"] for e in rows[0]["errors"]] == [write.refused], (x, rows)
    else:
        assert error_codes(result) == [write.refused], (x, result)
        assert result.get("data") is None, (x, result)
    assert await _state(m, write, x, variables) == before, f"{write.name} changed school {x}"


async def _accepted_inside(m: Matrix, write: Write, token: str, x: str) -> None:
    variables = write.aim(m, x, f"{next(_tags):06d}")
    if write.prepare is not None:
        async with m.own.db.unit_of_work() as session:
            await write.prepare(session, m, x, variables)
    try:
        result = data(await gql(m.http, token, write.mutation, variables))
        answer = next(iter(result.values()))
        if write.per_row:
            assert [r["errors"] for r in answer["rows"]] == [[]], (x, answer)
            assert answer["rows"][0]["status"] in write.accepted, (x, answer)
        else:
            assert answer["state"] in write.accepted, (x, answer)
    finally:
        if write.undo is not None:
            async with m.own.db.unit_of_work() as session:
                await write.undo(session, m, x, variables)


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize("write", WRITE_CASES)
async def test_a_write_outside_the_reach_is_rejected_and_changes_nothing(
    matrix, write, kind, reach
):
    token = await matrix.token(kind, reach)
    for x in OUTSIDE[reach]:
        await _refused_outside(matrix, write, token, x)
    inside = write.inside(matrix, reach)
    if inside:
        await _accepted_inside(matrix, write, token, inside)


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize("write", WRITE_CASES)
async def test_a_write_without_its_scope_is_forbidden_and_changes_nothing(
    matrix, write, kind, reach
):
    token = await matrix.token(kind, reach, without=write.scope)
    x = INSIDE[reach]  # even inside the reach
    variables = write.aim(matrix, x, f"{next(_tags):06d}")
    before = await _state(matrix, write, x, variables)
    result = await gql(matrix.http, token, write.mutation, variables)
    assert error_codes(result) == ["FORBIDDEN"], result
    assert result.get("data") is None, result
    assert await _state(matrix, write, x, variables) == before


@pytest.mark.parametrize(("kind", "reach"), [c for c in CLIENTS if c.values[1] != "department"])
async def test_another_schools_pupil_cannot_be_moved_in(matrix, kind, reach):
    """upsertStudents with an outside pupil's identity and the caller's own school."""
    token = await matrix.token(kind, reach)
    mine = matrix.schools[INSIDE[reach]].code
    for x in OUTSIDE[reach]:
        pupil = matrix.schools[x].pupil
        variables = {"r": [pupil | {"schoolCode": mine}]}
        place = WRITE["withdrawStudents"]  # reads back the pupil's school and class place
        before = await _state(matrix, place, x, variables)
        rows = data(await gql(matrix.http, token, WRITE["upsertStudents"].mutation, variables))
        assert rows["upsertStudents"]["rows"] == [
            {"status": "REJECTED", "errors": [{"code": "STUDENT_ENROLLED_ELSEWHERE"}]}
        ]
        assert await _state(matrix, place, x, variables) == before


# --------------------------------------------------------------------------------------
# The grant itself: a client registered without a scope cannot ask for it, nor use it.

GRANTED = sorted({scope for r in READS for scope in r.scopes} | {w.scope for w in WRITES})


@pytest.mark.parametrize("scope", GRANTED)
async def test_a_client_registered_without_a_scope_is_refused(matrix, scope):
    own = matrix.own
    client_id, secret = await register(
        own.db,
        org=OrgLevel.SCHOOL,
        schools=[matrix.schools["A"].code],
        scopes=sorted(FULL - {scope}),
        kind=ClientKind.VENDOR,
    )
    asked = await own.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    token = await token_for(own.http, client_id, secret)
    read = next((r for r in READS if scope in r.scopes), None)
    if read is not None:
        refused, _ = await _ask(matrix, read, token)
        assert refused is not None and set(error_codes(refused)) == {"FORBIDDEN"}
    else:
        write = next(w for w in WRITES if w.scope == scope)
        variables = write.aim(matrix, "A", f"{next(_tags):06d}")
        result = await gql(own.http, token, write.mutation, variables)
        assert error_codes(result) == ["FORBIDDEN"], result


# --------------------------------------------------------------------------------------
# Department-only operations: the whole province's runs, for a department client only.

DEPARTMENT_ONLY = [
    ("{ syncRuns(first: 5) { runId } }", "sync:run"),
    ("{ certificateRefreshRuns(first: 5) { jobId } }", "certificates:read"),
]


@pytest.mark.parametrize(("kind", "reach"), CLIENTS)
@pytest.mark.parametrize(
    ("query", "scope"), [pytest.param(q, s, id=q.split()[1]) for q, s in DEPARTMENT_ONLY]
)
async def test_department_only_runs_are_refused_below_the_department(
    matrix, query, scope, kind, reach
):
    result = await gql(matrix.http, await matrix.token(kind, reach), query)
    if reach == "department":
        assert not result.get("errors"), result["errors"]
    else:
        assert set(error_codes(result)) == {"FORBIDDEN"} and result.get("data") is None
    refused = await gql(matrix.http, await matrix.token(kind, reach, without=scope), query)
    assert set(error_codes(refused)) == {"FORBIDDEN"} and refused.get("data") is None


# --------------------------------------------------------------------------------------
# A transcript's history: the versions of one pupil's year, wherever each was made.

HISTORY = """query($id: ID!) { node(id: $id) { ... on Transcript {
  id history { id documentId } } } }"""


async def _versions_at_two_schools(m: Matrix) -> tuple[int, int, int]:
    """A pupil who moved from A to W in the year: A's sealed version 1, replaced by
    version 2 that W now holds (a correction A opened, drafted again by W)."""
    a, w = m.schools["A"], m.schools["W"]
    async with m.own.db.unit_of_work() as session:
        pupil = models.Student(
            personal_id=new_personal_id(2013, Sex.MALE),
            full_name="Vũ Văn Chuyển Trường",
            search_name="vu van chuyen truong",
            birth_date=date(2013, 6, 1),
            sex=Sex.MALE,
            school_id=w.id,
        )
        session.add(pupil)
        await session.flush()
        versions = []
        for n, (school, state, current) in enumerate(
            [(a, "SEALED", False), (w, "DRAFT", True)], start=1
        ):
            xml = f"<hoc-ba pupil='{pupil.id}' v='{n}'/>".encode()
            transcript = models.Transcript(
                document_id=str(uuid.uuid4()),
                student_id=pupil.id,
                school_year_id=m.own.world.current_year_id,
                school_id=school.id,
                class_id=school.class_id,
                version=n,
                replaces_id=versions[-1] if versions else None,
                is_current=current,
                state=state,
                xml=xml,
                pdf=b"%PDF-1.7 history",
                xml_sha256=hashlib.sha256(xml).hexdigest(),
            )
            session.add(transcript)
            await session.flush()
            versions.append(transcript.id)
    return pupil.id, versions[0], versions[1]


async def _remove(m: Matrix, pupil: int, transcripts: list[int]) -> None:
    async with m.own.db.unit_of_work() as session:
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id.in_(transcripts))
            .values(replaces_id=None)
        )
        await session.execute(
            delete(models.Transcript).where(models.Transcript.id.in_(transcripts))
        )
        await session.execute(
            update(models.Student).where(models.Student.id == pupil).values(school_id=None)
        )


@pytest.mark.parametrize("reach", ["school-A", "school-W"])
async def test_a_transcripts_history_shows_only_versions_inside_the_reach(matrix, reach):
    pupil, v1, v2 = await _versions_at_two_schools(matrix)
    try:
        token = await matrix.token(ClientKind.VENDOR, reach)
        mine, theirs = (v1, v2) if reach == "school-A" else (v2, v1)
        # The version outside the reach is absent when asked for directly ...
        hidden = data(await gql(matrix.http, token, HISTORY, {"id": gid("Transcript", theirs)}))
        assert hidden["node"] is None
        # ... and should be through the history of the version inside it.
        node = data(await gql(matrix.http, token, HISTORY, {"id": gid("Transcript", mine)}))
        assert node["node"]["id"] == gid("Transcript", mine)
        assert {v["id"] for v in node["node"]["history"]} == {gid("Transcript", mine)}
    finally:
        await _remove(matrix, pupil, [v1, v2])
