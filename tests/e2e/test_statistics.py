"""The department's statistics through the API (issue 14, part 2): learning results by
district, school, level and grade; signing progress; pupils without a verified personal
ID — each equal to a recount from the rows, within the caller's reach, and current
right after a write (the tallies are kept in the writing transaction)."""

import csv
import io
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select, update
from strawberry.relay import GlobalID

from hub.auth.people import grant_officer
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import IdentityStatus, OrgLevel
from hub.domain.grading.primary import YearResult
from hub.domain.grading.secondary import Level, PromotionOutcome
from hub.web.app import create_app
from tests.conftest import database_of_its_own, settings_of_its_own
from tests.helpers import client_token, data, error_codes, gql, visiting
from tests.people import new_personal_id
from tests.world import World, build_world


class Place:
    """The module's own province: a database, the test world in it, the API over it."""

    def __init__(self, db: Database, world: World, http: httpx.AsyncClient, app: Any) -> None:
        self.db, self.world, self.http, self.app = db, world, http, app


@pytest.fixture(scope="module")
async def place(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Place]:
    own = settings_of_its_own(settings, tmp_path_factory.mktemp("statistics"))
    async for db in database_of_its_own(own):
        world = await build_world(db)
        await _transcripts(db)
        app = create_app(own, db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            yield Place(db, world, http, app)


SECONDARY = [level.value for level in Level]
PRIMARY = [result.value for result in YearResult]
OUTCOMES = [outcome.value for outcome in PromotionOutcome]


async def _transcripts(db: Database) -> None:
    """A transcript for every pupil enrolled this year, with the results the grading rules
    could give them; one in five corrected (the first version no longer current)."""
    async with db.unit_of_work() as session:
        enrolled = (
            await session.execute(
                select(models.Enrolment, models.SchoolClass)
                .join(models.SchoolClass, models.SchoolClass.id == models.Enrolment.class_id)
                .order_by(models.Enrolment.id)
            )
        ).all()
        assert enrolled, "the world enrols pupils"
        for n, (enrolment, school_class) in enumerate(enrolled):
            primary = school_class.grade <= 5
            values: dict[str, Any] = {
                "student_id": enrolment.student_id,
                "school_year_id": enrolment.school_year_id,
                "school_id": school_class.school_id,
                "class_id": school_class.id,
                "state": ("DRAFT", "READY", "SIGNED_BY_HOMEROOM", "SEALED")[n % 4],
                "learning_result": (PRIMARY if primary else SECONDARY)[n % 4] if n % 9 else None,
                "conduct_result": None if primary else SECONDARY[n % 3],
                "outcome": ("PROMOTED", "RETAINED")[n % 7 == 0]
                if primary
                else OUTCOMES[0 if n % 5 else n % 4],
                "xml": b"",
                "pdf": b"",
                "xml_sha256": "",
            }
            first = models.Transcript(document_id=str(uuid.uuid4()), **values)
            session.add(first)
            if n % 5 == 0:
                await session.flush()
                first.is_current = False
                session.add(
                    models.Transcript(
                        document_id=str(uuid.uuid4()),
                        version=2,
                        replaces_id=first.id,
                        **{**values, "learning_result": values["learning_result"] or "PASS"},
                    )
                )


async def _recount_results(db: Database, by: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The learning report counted from the transcripts, the slow way."""
    transcript, school_class, school = models.Transcript, models.SchoolClass, models.School
    async with db.unit_of_work() as session:
        rows = (
            await session.execute(
                select(
                    school.district_id,
                    transcript.school_id,
                    school.level,
                    school_class.grade,
                    transcript.learning_result,
                    transcript.conduct_result,
                    transcript.outcome,
                )
                .join(school_class, school_class.id == transcript.class_id)
                .join(school, school.id == transcript.school_id)
                .join(models.SchoolYear, models.SchoolYear.id == transcript.school_year_id)
                .where(transcript.is_current.is_(True), models.SchoolYear.is_current.is_(True))
            )
        ).all()
    groups: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"pupils": 0, "learning": Counter(), "conduct": Counter(), "outcomes": Counter()}
    )
    for district, school_id, level, grade, learning, conduct, outcome in rows:
        values = {"DISTRICT": district, "SCHOOL": school_id, "LEVEL": level.value, "GRADE": grade}
        group = groups[tuple(values[d] for d in by)]
        group["pupils"] += 1
        for name, code in (("learning", learning), ("conduct", conduct), ("outcomes", outcome)):
            if code is not None:
                group[name][code] += 1
    return groups


RESULTS = """query($by: [ResultDimension!]!, $year: String, $district: ID) {
  learningResults(groupBy: $by, schoolYear: $year, districtId: $district) {
    schoolYear
    rows { level grade district { id code name } school { id moetCode } pupils
      learning { code label count ratio } conduct { code count } outcomes { code count ratio }
      promotionRate retestRate }
    total { pupils promotionRate retestRate learning { code count } } } }"""


def _db_id(node: dict[str, Any] | None) -> int | None:
    if node is None:
        return None
    return int(GlobalID.from_id(node["id"]).node_id)


@pytest.mark.parametrize("by", [["DISTRICT"], ["SCHOOL"], ["LEVEL", "GRADE"], []])
async def test_learning_results_equal_a_recount(place: Place, by: list[str]) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    report = data(await gql(place.http, token, RESULTS, {"by": by}))["learningResults"]
    assert report["schoolYear"] == "2025-2026"
    expected = await _recount_results(place.db, by)
    got = {}
    for row in report["rows"]:
        values = {
            "DISTRICT": _db_id(row["district"]),
            "SCHOOL": _db_id(row["school"]),
            "LEVEL": row["level"],
            "GRADE": row["grade"],
        }
        got[tuple(values[d] for d in by)] = row
    assert set(got) == set(expected)
    for key, row in got.items():
        want = expected[key]
        assert row["pupils"] == want["pupils"]
        for name in ("learning", "conduct", "outcomes"):
            assert {c["code"]: c["count"] for c in row[name]} == dict(want[name]), (key, name)
        promoted = want["outcomes"]["PROMOTED"]
        assert row["promotionRate"] == round(promoted / want["pupils"], 4)
        assert row["retestRate"] == round(want["outcomes"]["RETEST"] / want["pupils"], 4)
    assert report["total"]["pupils"] == sum(w["pupils"] for w in expected.values())


async def test_learning_results_speak_the_circulars(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    report = data(await gql(place.http, token, RESULTS, {"by": ["LEVEL"]}))["learningResults"]
    rows = {row["level"]: row for row in report["rows"]}
    primary = {c["code"]: c["label"] for c in rows["PRIMARY"]["learning"]}
    assert primary["EXCELLENT"] == "Hoàn thành xuất sắc"
    assert rows["PRIMARY"]["conduct"] == []  # TT27 grades no conduct
    secondary = {c["code"]: c["label"] for c in rows["LOWER_SECONDARY"]["learning"]}
    assert secondary["GOOD"] == "Tốt"
    assert "RETEST" in {c["code"] for c in rows["LOWER_SECONDARY"]["outcomes"]}


async def test_learning_results_stay_within_reach(place: Place) -> None:
    lb = await client_token(place.db, place.http, org=OrgLevel.DISTRICT, districts=["LB"])
    report = data(await gql(place.http, lb, RESULTS, {"by": ["SCHOOL"]}))["learningResults"]
    schools = {row["school"]["moetCode"] for row in report["rows"]}
    assert schools == {place.world.schools["A"].code, place.world.schools["B"].code}
    school = await client_token(
        place.db, place.http, org=OrgLevel.SCHOOL, schools=[place.world.schools["C"].code]
    )
    report = data(await gql(place.http, school, RESULTS, {"by": ["DISTRICT"]}))["learningResults"]
    expected = await _recount_results(place.db, ["SCHOOL"])
    assert report["total"]["pupils"] == expected[(place.world.schools["C"].id,)]["pupils"]
    no_reports = await client_token(
        place.db, place.http, org=OrgLevel.DEPARTMENT, scopes=["students:read"]
    )
    refused = await gql(place.http, no_reports, RESULTS, {"by": ["DISTRICT"]})
    assert error_codes(refused) == ["FORBIDDEN"]
    assert refused["data"] is None


async def test_an_unknown_school_year_is_a_clear_error(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    answer = await gql(place.http, token, RESULTS, {"by": [], "year": "1999-2000"})
    assert error_codes(answer) == ["SCHOOL_YEAR_NOT_FOUND"]
    assert "1999-2000" in answer["errors"][0]["message"]


PROGRESS = """query($by: ProgressGrouping!, $school: ID) {
  signingProgress(groupBy: $by, schoolId: $school) {
  rows { district { id } school { id } schoolClass { id name } states { state count }
         total fullySigned ratio }
  total { total fullySigned } } }"""


@pytest.mark.parametrize("by", ["DISTRICT", "SCHOOL", "CLASS"])
async def test_signing_progress_equals_a_recount_and_follows_a_signature(
    place: Place, by: str
) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    # A school's classes are counted one school at a time.
    school = place.world.schools["A"].id if by == "CLASS" else None
    variables = {"by": by, "school": None if school is None else gid("School", school)}

    async def both() -> tuple[dict[Any, Counter[str]], dict[Any, Counter[str]]]:
        report = data(await gql(place.http, token, PROGRESS, variables))["signingProgress"]
        got = {}
        for row in report["rows"]:
            node = row["district"] or row["school"] or row["schoolClass"]
            got[_db_id(node)] = Counter({s["state"]: s["count"] for s in row["states"]})
            assert row["total"] == sum(got[_db_id(node)].values())
        transcript = models.Transcript
        key = {
            "DISTRICT": models.School.district_id,
            "SCHOOL": transcript.school_id,
            "CLASS": transcript.class_id,
        }[by]
        expected: dict[Any, Counter[str]] = defaultdict(Counter)
        async with place.db.unit_of_work() as session:
            statement = (
                select(key, transcript.state)
                .join(models.School, models.School.id == transcript.school_id)
                .where(transcript.is_current.is_(True))
            )
            if school is not None:
                statement = statement.where(transcript.school_id == school)
            for group, state in await session.execute(statement):
                expected[group][state] += 1
        for counts in got.values():
            for state in [s for s, n in counts.items() if n == 0]:
                del counts[state]
        return got, dict(expected)

    got, expected = await both()
    assert got == expected
    # A transcript sealed: the next read counts it, no delay.
    async with place.db.unit_of_work() as session:
        one = await session.scalar(
            select(models.Transcript.id)
            .where(models.Transcript.is_current.is_(True), models.Transcript.state == "DRAFT")
            .where(models.Transcript.school_id == place.world.schools["A"].id)
            .limit(1)
        )
        await session.execute(
            update(models.Transcript).where(models.Transcript.id == one).values(state="SEALED")
        )
    got, expected = await both()
    assert got == expected


async def test_classes_are_counted_one_school_at_a_time(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    answer = await gql(place.http, token, PROGRESS, {"by": "CLASS"})
    assert error_codes(answer) == ["INVALID_ARGUMENT"]
    assert "schoolId" in answer["errors"][0]["message"]


def gid(type_name: str, key: int) -> str:
    return str(GlobalID(type_name, str(key)))


IDENTITY = """query($by: PlaceGrouping!, $district: ID) {
  pupilsWithoutVerifiedId(groupBy: $by, districtId: $district) {
    rows { district { code } school { moetCode } pupils unverified ratio
           reasons { reason count } }
    total { pupils unverified } } }"""


async def test_pupils_without_a_verified_id_equal_a_recount(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    async with place.db.unit_of_work() as session:
        # Some pupils checked, one number the population database does not know.
        ids = list(await session.scalars(select(models.Student.id).order_by(models.Student.id)))
        await session.execute(
            update(models.Student)
            .where(models.Student.id.in_(ids[::3]))
            .values(identity_status=IdentityStatus.VERIFIED)
        )
        await session.execute(
            update(models.Student)
            .where(models.Student.id == ids[1])
            .values(identity_status=IdentityStatus.UNKNOWN)
        )
        rows = (
            await session.execute(
                select(
                    models.School.moet_code,
                    models.Student.personal_id,
                    models.Student.identity_status,
                ).join(models.School, models.School.id == models.Student.school_id)
            )
        ).all()
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for code, personal_id, status in rows:
        expected[code]["pupils"] += 1
        if personal_id is None:
            expected[code]["MISSING"] += 1
        elif status is not IdentityStatus.VERIFIED:
            expected[code][status.value] += 1
    report = data(await gql(place.http, token, IDENTITY, {"by": "SCHOOL"}))
    got = {}
    for row in report["pupilsWithoutVerifiedId"]["rows"]:
        counts = Counter({r["reason"]: r["count"] for r in row["reasons"] if r["count"]})
        counts["pupils"] = row["pupils"]
        assert row["unverified"] == sum(r["count"] for r in row["reasons"])
        got[row["school"]["moetCode"]] = counts
    assert got == expected
    assert sum(c["UNKNOWN"] for c in got.values()) == 1
    by_district = data(await gql(place.http, token, IDENTITY, {"by": "DISTRICT"}))
    total = by_district["pupilsWithoutVerifiedId"]["total"]
    assert total["pupils"] == sum(c["pupils"] for c in expected.values())


async def test_the_tallies_of_this_province_agree(place: Place) -> None:
    from hub.db import tallies

    async with place.db.unit_of_work() as session:
        for tally in tallies.TALLIES:
            assert await tallies.differences(session, tally) == []


async def _officer(place: Place, district: str | None = None) -> tuple[str, str]:
    personal_id = new_personal_id(1985)
    async with place.db.unit_of_work() as session:
        name = await grant_officer(
            session,
            personal_id=personal_id,
            full_name="Cán Bộ Thống Kê",
            granted_by="test",
            district_code=district,
        )
    return personal_id, name


async def test_the_results_page_and_its_downloads_hold_the_reports_figures(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    api = data(await gql(place.http, token, RESULTS, {"by": ["DISTRICT"]}))["learningResults"]
    async with visiting(place.app, *await _officer(place)) as officer:
        page = await officer.web.get("/dashboard/results")
        assert page.status_code == 200
        assert "Kết quả học tập, rèn luyện và lên lớp" in page.text
        assert 'aria-current="page"' in page.text  # the menu knows where it is
        text = page.text
        for row in api["rows"]:
            assert row["district"]["name"] in text
        assert "Học tập: Hoàn thành xuất sắc" in text and "Rèn luyện: Tốt" in text
        csv_file = await officer.web.get("/dashboard/results?format=csv&table=places")
        assert csv_file.status_code == 200
        lines = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
        header, body = lines[0], lines[1:]
        assert header[:2] == ["Phòng GDĐT", "Số học sinh"]
        names = {row["district"]["name"]: row for row in api["rows"]}
        for line in body[:-1]:
            if line[0] in names:
                assert int(line[1]) == names[line[0]]["pupils"]
        assert int(body[-1][1]) == api["total"]["pupils"]
        workbook_file = await officer.web.get("/dashboard/results?format=xlsx")
        workbook = openpyxl.load_workbook(io.BytesIO(workbook_file.content))
        assert workbook.sheetnames == ["Theo đơn vị", "Theo khối lớp"]
        grades = [row for row in workbook["Theo khối lớp"].iter_rows(values_only=True)][1:-1]
        expected = await _recount_results(place.db, ["GRADE"])
        assert {str(r[0]): r[1] for r in grades} == {
            f"Khối {grade}": want["pupils"] for (grade,), want in expected.items()
        }
        lb = next(d for d in place.world.districts.items() if d[0] == "LB")[1]
        drilled = await officer.web.get(f"/dashboard/results?district={lb}")
        assert drilled.status_code == 200 and "Trường THCS Gia Thụy" in drilled.text
        assert "Trường THCS Dịch Vọng" not in drilled.text  # another district's
        unknown = await officer.web.get("/dashboard/results?year=1999-2000")
        assert unknown.status_code == 404 and "1999-2000" in unknown.text
        assert "Traceback" not in unknown.text


async def test_a_district_officer_reads_their_district_only(place: Place) -> None:
    async with visiting(place.app, *await _officer(place, "CG")) as officer:
        page = await officer.web.get("/dashboard/results")
        assert page.status_code == 200
        assert "Cầu Giấy" in page.text and "Long Biên" not in page.text
        lb = place.world.districts["LB"]
        refused = await officer.web.get(f"/dashboard/results?district={lb}")
        assert refused.status_code in (400, 404)


PAGED = """query($after: String) {
  learningResults(groupBy: [SCHOOL, GRADE], first: 2, after: $after) {
    rows { school { moetCode } grade pupils }
    total { pupils }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


async def test_report_rows_come_a_page_at_a_time_and_the_total_is_the_whole(place: Place) -> None:
    token = await client_token(place.db, place.http, org=OrgLevel.DEPARTMENT)
    expected = await _recount_results(place.db, ["SCHOOL", "GRADE"])
    seen: list[tuple[str, int]] = []
    after, pages = None, 0
    while True:
        report = data(await gql(place.http, token, PAGED, {"after": after}))["learningResults"]
        pages += 1
        assert report["total"]["pupils"] == sum(w["pupils"] for w in expected.values())
        assert len(report["rows"]) <= 2
        assert report["pageInfo"]["hasPreviousPage"] is (pages > 1)
        seen += [(row["school"]["moetCode"], row["grade"]) for row in report["rows"]]
        if not report["pageInfo"]["hasNextPage"]:
            break
        after = report["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(expected)
    assert pages == -(-len(expected) // 2)
    too_many = await gql(
        place.http,
        token,
        "{ learningResults(groupBy: [SCHOOL], first: 100000) { total { pupils } } }",
    )
    assert error_codes(too_many) == ["INVALID_ARGUMENT"]
