"""The seed generator: deterministic, self-consistent, and shaped like Hà Nội."""

import itertools
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from hub.domain.enums import Sex, StaffRole
from hub.domain.personal_id import parse
from hub.domain.text import fold
from hub.seed import catalogue, names
from hub.seed.generate import (
    CURRENT_YEAR_START,
    ISSUERS,
    TABLES,
    TRACKED,
    Chunk,
    Size,
    generate,
    plan,
)

AS_OF = date(2025, 11, 20)


@cache
def demo() -> dict[str, list[tuple[Any, ...]]]:
    """The demo province's rows, table by table (generated once per test session)."""
    return _collect(generate(Size.DEMO, seed=2025, as_of=AS_OF))


def _collect(chunks: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for chunk in chunks:
        for table, rows in chunk.items():
            tables[table].extend(rows)
    return dict(tables)


def _dicts(table: str) -> list[dict[str, Any]]:
    return [dict(zip(TABLES[table], row, strict=True)) for row in demo()[table]]


def _first_rows(chunks: Any, per_table: int = 50) -> dict[str, list[tuple[Any, ...]]]:
    seen: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for chunk in itertools.islice(chunks, 4):  # reference data and three schools
        chunk: Chunk
        for table, rows in chunk.items():
            seen[table].extend(rows[: per_table - len(seen[table])])
    return dict(seen)


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_rows() -> None:
    first = _first_rows(generate(Size.PROVINCE, seed=7, as_of=AS_OF))
    second = _first_rows(generate(Size.PROVINCE, seed=7, as_of=AS_OF))
    assert first == second
    assert set(first) == set(TABLES)


def test_whole_demo_is_reproducible() -> None:
    assert _collect(generate(Size.DEMO, seed=2025, as_of=AS_OF)) == demo()


def test_different_seed_gives_different_rows() -> None:
    first = _first_rows(generate(Size.DEMO, seed=2025, as_of=AS_OF))
    second = _first_rows(generate(Size.DEMO, seed=2026, as_of=AS_OF))
    for table in ("students", "staff", "guardians", "signing_certificates"):
        assert first[table] != second[table], table


def test_as_of_moves_only_certificate_dates() -> None:
    later = _first_rows(generate(Size.DEMO, seed=2025, as_of=AS_OF + timedelta(days=10)))
    now = _first_rows(generate(Size.DEMO, seed=2025, as_of=AS_OF))
    for table in TABLES:
        if table != "signing_certificates":
            assert later[table] == now[table], table
    assert later["signing_certificates"] != now["signing_certificates"]


# -- keys and change versions -----------------------------------------------------------------


def test_ids_are_one_to_n_and_foreign_keys_point_backwards() -> None:
    rows = demo()
    for table, columns in TABLES.items():
        if columns[0] == "id":
            assert [row[0] for row in rows[table]] == list(range(1, len(rows[table]) + 1)), table
    staff_ids = {row[0] for row in rows["staff"]}
    student_ids = {row[0] for row in rows["students"]}
    class_ids = {row[0] for row in rows["classes"]}
    guardian_ids = {row[0] for row in rows["guardians"]}
    assert {c["homeroom_teacher_id"] for c in _dicts("classes")} <= staff_ids
    assert {e["student_id"] for e in _dicts("enrolments")} == student_ids
    assert {e["class_id"] for e in _dicts("enrolments")} <= class_ids
    assert {link["guardian_id"] for link in _dicts("guardian_links")} == guardian_ids
    assert {link["student_id"] for link in _dicts("guardian_links")} == student_ids


def test_change_versions_are_one_to_n_over_tracked_tables() -> None:
    versions = [row[-1] for table in TRACKED for row in demo()[table]]
    assert all(TABLES[table][-1] == "change_version" for table in TRACKED)
    assert sorted(versions) == list(range(1, len(versions) + 1))


def test_natural_keys_are_unique() -> None:
    rows = demo()
    for table, column in [
        ("students", "personal_id"),
        ("students", "moet_code"),
        ("staff", "personal_id"),
        ("guardians", "personal_id"),
        ("schools", "moet_code"),
        ("signing_certificates", "serial_number"),
    ]:
        index = TABLES[table].index(column)
        values = [row[index] for row in rows[table] if row[index] is not None]
        assert len(values) == len(set(values)), (table, column)


def test_personal_ids_are_unique_across_a_district() -> None:
    rows = _collect(generate(Size.DISTRICT, seed=2025, as_of=AS_OF))
    ids = [
        row[TABLES[table].index("personal_id")]
        for table in ("students", "staff", "guardians")
        for row in rows[table]
    ]
    ids = [number for number in ids if number is not None]
    assert len(ids) > 140_000
    assert len(ids) == len(set(ids))


# -- people -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["students", "staff"])
def test_personal_ids_agree_with_birth_year_and_sex(table: str) -> None:
    people = [p for p in _dicts(table) if p["personal_id"] is not None]
    assert people
    for person in people:
        decoded = parse(person["personal_id"])
        assert decoded is not None
        assert decoded.birth_year == person["birth_date"].year
        assert decoded.sex == Sex(person["sex"])
    provinces = Counter(parse(p["personal_id"]).province_code for p in people)  # type: ignore[union-attr]
    assert provinces["001"] / len(people) > 0.7
    assert len(provinces) > 1  # a few were born elsewhere


def test_guardian_personal_ids_are_parents_ages() -> None:
    numbers = [g["personal_id"] for g in _dicts("guardians") if g["personal_id"]]
    years = [parse(n).birth_year for n in numbers]  # type: ignore[union-attr]
    assert min(years) >= 1970
    assert max(years) <= 1995
    phones = [g["phone"] for g in _dicts("guardians") if g["phone"]]
    assert all(len(p) == 10 and p.startswith("0") and p.isdigit() for p in phones)


def test_students_age_matches_their_grade() -> None:
    grade_of_class = {c["id"]: c["grade"] for c in _dicts("classes")}
    grade_of_student = {
        e["student_id"]: grade_of_class[e["class_id"]] for e in _dicts("enrolments")
    }
    for student in _dicts("students"):
        expected = CURRENT_YEAR_START - 5 - grade_of_student[student["id"]]
        assert student["birth_date"].year in (expected, expected - 1)


def test_about_one_percent_of_students_have_no_personal_id() -> None:
    students = _dicts("students")
    missing = [s for s in students if s["personal_id"] is None]
    assert 0.002 < len(missing) / len(students) < 0.03
    assert all(s["identity_status"] == "UNVERIFIED" for s in missing)


def test_identity_statuses_are_mostly_verified() -> None:
    students = _dicts("students")
    statuses = Counter(s["identity_status"] for s in students)
    assert statuses["VERIFIED"] / len(students) > 0.85
    assert statuses["UNVERIFIED"] > 0
    assert statuses["MISMATCH"] > 0
    for s in students:
        assert (s["identity_verified_at"] is None) == (s["identity_status"] == "UNVERIFIED")


def test_guardian_links_are_verified_by_the_population_database_only() -> None:
    """Issue 11: a verified link says who verified it — never a bare flag."""
    links = _dicts("guardian_links")
    guardians = {g["id"]: g for g in _dicts("guardians")}
    verified = [link for link in links if link["verified"]]
    assert 0.8 < len(verified) / len(links) < 0.95
    for link in verified:
        assert link["verified_by"] == "POPULATION" and link["verified_at"] is not None
        assert link["verification"]["answer"] == "MATCHED"
        assert guardians[link["guardian_id"]]["personal_id"] is not None
    for link in links:
        if not link["verified"]:
            assert (link["verified_by"], link["verified_at"], link["verification"]) == (
                None,
                None,
                {},
            )


def test_names_have_diacritics_and_fold_to_search_name() -> None:
    families = [part.text for part in names.FAMILY_NAMES.distinct]
    assert "Nguyễn" in families
    assert any(not name.isascii() for name in families)
    for table in ("students", "staff"):
        for person in _dicts(table):
            name = person["full_name"]
            assert unicodedata.normalize("NFC", name) == name
            assert fold(name) == person["search_name"]
    all_names = [s["full_name"] for s in _dicts("students")]
    assert sum(not n.isascii() for n in all_names) / len(all_names) > 0.9


def test_family_names_are_weighted_like_reality() -> None:
    families = Counter(s["full_name"].split()[0] for s in _dicts("students"))
    total = sum(families.values())
    assert 0.30 < families["Nguyễn"] / total < 0.46
    assert families["Nguyễn"] > families["Trần"] > families["Đỗ"]


def test_demo_has_nguyen_van_an_first() -> None:
    students = _dicts("students")
    first_male = next(s for s in students if s["school_id"] == 1 and s["sex"] == "MALE")
    assert first_male["full_name"] == names.DEMO_STUDENT_NAME == "Nguyễn Văn An"
    assert first_male["search_name"] == "nguyen van an"


def test_ethnicity_is_mostly_kinh() -> None:
    ethnicities = Counter(s["ethnicity"] for s in _dicts("students"))
    assert ethnicities.most_common(1)[0][0] == "Kinh"
    assert ethnicities["Kinh"] / ethnicities.total() > 0.9


def test_every_school_has_one_principal_and_homeroom_teachers_of_its_own() -> None:
    roles: dict[tuple[int, int], set[str]] = defaultdict(set)
    for a in _dicts("staff_assignments"):
        roles[a["staff_id"], a["school_id"]].add(a["role"])
    for school in _dicts("schools"):
        at_school = [r for (_, sid), r in roles.items() if sid == school["id"]]
        assert sum(StaffRole.PRINCIPAL in r for r in at_school) == 1
        assert 1 <= sum(StaffRole.VICE_PRINCIPAL in r for r in at_school) <= 2
    for c in _dicts("classes"):
        assert {"HOMEROOM", "TEACHER"} <= roles[c["homeroom_teacher_id"], c["school_id"]]
    homerooms = [c["homeroom_teacher_id"] for c in _dicts("classes")]
    assert len(homerooms) == len(set(homerooms))


def test_class_names_and_grades_fit_the_school_level() -> None:
    level = {s["id"]: s["level"] for s in _dicts("schools")}
    allowed = {
        "PRIMARY": range(1, 6),
        "LOWER_SECONDARY": range(6, 10),
        "UPPER_SECONDARY": range(10, 13),
        "CONTINUING": range(10, 13),
    }
    for c in _dicts("classes"):
        assert c["grade"] in allowed[level[c["school_id"]]]
        assert c["name"].startswith(f"{c['grade']}A")


# -- certificates -----------------------------------------------------------------------------


def _coverage() -> dict[str, float]:
    """Share of staff holding a valid (active, unexpired) personal certificate by ownership."""
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC)
    schools = {s["id"]: s for s in _dicts("schools")}
    school_of = {a["staff_id"]: a["school_id"] for a in _dicts("staff_assignments")}
    valid = {
        c["staff_id"]
        for c in _dicts("signing_certificates")
        if c["staff_id"] and c["status"] == "ACTIVE" and c["valid_from"] <= now < c["valid_to"]
    }
    totals: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    for staff_id, school_id in school_of.items():
        school = schools[school_id]
        if school["directly_managed"] or school["level"] == "CONTINUING":
            continue
        totals[school["ownership"]] += 1
        holders[school["ownership"]] += staff_id in valid
    return {ownership: holders[ownership] / totals[ownership] for ownership in totals}


def test_certificate_coverage_is_close_to_the_department_report() -> None:
    coverage = _coverage()
    assert 0.60 <= coverage["PUBLIC"] <= 0.78
    assert 0.15 <= coverage["PRIVATE"] <= 0.40


def test_certificates_have_the_expected_mix() -> None:
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC)
    certificates = _dicts("signing_certificates")
    personal = [c for c in certificates if c["staff_id"]]
    assert any(c["status"] == "REVOKED" for c in personal)
    assert any(c["valid_to"] < now for c in personal)
    soon = [
        c
        for c in personal
        if c["status"] == "ACTIVE" and now < c["valid_to"] <= now + timedelta(days=30)
    ]
    assert soon
    for c in certificates:
        assert c["valid_from"] < c["valid_to"]
        assert c["issuer_dn"] in ISSUERS.values()
    for c in personal:
        assert c["subject_dn"].startswith("CN=") and ", UID=CCCD:" in c["subject_dn"]


def test_providers_follow_ownership() -> None:
    ownership = {s["id"]: s["ownership"] for s in _dicts("schools")}
    school_of = {a["staff_id"]: a["school_id"] for a in _dicts("staff_assignments")}
    for c in _dicts("signing_certificates"):
        if c["staff_id"] is None:
            continue
        public = ownership[school_of[c["staff_id"]]] == "PUBLIC"
        assert (c["provider"] == "BCY") == public
        assert c["provider"] in ({"BCY"} if public else {"SMARTCA", "MYSIGN"})


def test_every_school_has_exactly_one_seal() -> None:
    schools = {s["id"]: s["name"] for s in _dicts("schools")}
    seals = [c for c in _dicts("signing_certificates") if c["school_id"] is not None]
    assert sorted(c["school_id"] for c in seals) == sorted(schools)
    for seal in seals:
        assert seal["staff_id"] is None
        assert seal["provider"] == "PKCS11"
        assert seal["subject_dn"].startswith(f"CN={schools[seal['school_id']]},")


# -- shapes -----------------------------------------------------------------------------------


def test_demo_shape() -> None:
    p = plan(Size.DEMO, seed=2025, as_of=AS_OF)
    assert len(p.districts) == 3
    assert len(p.schools) == 12
    assert 1 <= sum(s.ownership == "PRIVATE" for s in p.schools) <= 2
    assert sum(s.directly_managed for s in p.schools) == 1
    assert 2_000 <= p.students <= 4_000


def test_school_shape() -> None:
    p = plan(Size.SCHOOL, seed=2025, as_of=AS_OF)
    assert len(p.districts) == 1
    assert sorted(s.level for s in p.schools) == ["LOWER_SECONDARY", "PRIMARY", "UPPER_SECONDARY"]
    assert 200 <= p.students <= 700
    assert p.schools[0].name == "Trường Tiểu học Ngọc Thụy"


def test_province_shape_matches_ha_noi() -> None:
    p = plan(Size.PROVINCE, seed=2025, as_of=AS_OF)
    assert len(p.schools) == 2913
    assert len(p.districts) == 30
    assert 2_150_000 <= p.students <= 2_450_000
    assert 115_000 <= p.staff <= 145_000
    public = sum(s.ownership == "PUBLIC" for s in p.schools) / len(p.schools)
    assert 0.75 <= public <= 0.88
    assert len({s.moet_code for s in p.schools}) == 2913
    names_per_district = Counter((s.district_id, s.level, s.name) for s in p.schools)
    assert max(names_per_district.values()) == 1


def test_plan_estimates_are_close_to_what_is_generated() -> None:
    p = plan(Size.DEMO, seed=2025, as_of=AS_OF)
    estimate = p.estimated_rows()
    for table, rows in demo().items():
        assert abs(len(rows) - estimate[table]) <= max(5, 0.1 * estimate[table]), table


# -- catalogue --------------------------------------------------------------------------------


def test_catalogue_comment_only_subjects() -> None:
    by_code = catalogue.by_code()
    for code in ("GDTC", "NGHE_THUAT", "AM_NHAC", "MI_THUAT", "GDDP", "HDTN_HN"):
        assert by_code[code].comment_only, code
    for code in ("TOAN", "NGU_VAN", "NGOAI_NGU_1", "KHTN", "LS_DL", "GDCD", "CONG_NGHE", "TIN_HOC"):
        assert not by_code[code].comment_only, code
    assert by_code["TOAN"].periods[6] == 140
    assert by_code["TOAN"].periods[10] == 105
    assert by_code["CONG_NGHE"].periods[9] == 52
    for grade in range(1, 13):
        assert catalogue.subjects_for_grade(grade), grade
    assert len({e.code for e in catalogue.CATALOGUE}) == len(catalogue.CATALOGUE)
