"""The consent rule (issue 11): who consents, when a consent counts, what a new one may
say, and the text shown (hub.domain.consent)."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hub.domain import consent as rule
from hub.domain.consent import ConsentStatus
from hub.domain.enums import GuardianRelation
from hub.domain.people import Child, Person
from hub.domain.problems import Code, HubError

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
DAY = timedelta(days=1)


@dataclass
class Row:
    recipient: str = "hub_admission"
    documents: dict[str, Any] = field(default_factory=lambda: {"schoolYears": ["2025-2026"]})
    valid_from: datetime = NOW - DAY
    valid_until: datetime = NOW + 30 * DAY
    pupil_agreed_at: datetime | None = None
    revoked_at: datetime | None = None


SIX = date(2019, 6, 1)  # six on NOW
TWELVE = date(2013, 6, 1)


def test_ages_and_the_agreement_cutoff_agree_on_every_day_of_four_years() -> None:
    born = [date(2016, 2, 29), date(2016, 3, 1), date(2016, 2, 28), date(2015, 12, 31)]
    day = date(2022, 1, 1)
    while day < date(2026, 1, 1):
        for birth in born:
            required = rule.pupil_agreement_required(birth, day)
            assert required == (rule.age_on(birth, day) >= rule.AGREEMENT_AGE), (birth, day)
        day += DAY


def test_who_consents_by_age() -> None:
    on = date(2026, 3, 10)
    assert not rule.pupil_agreement_required(date(2019, 3, 11), on)  # 6, the day before 7
    assert rule.pupil_agreement_required(date(2019, 3, 10), on)  # 7 today
    assert rule.pupil_agreement_required(date(2010, 1, 1), on)  # 16: the pupil agrees too
    assert rule.pupil_agreement_required(None, on)  # unknown: taken as 7 or more
    assert not rule.gives_own_consent(date(2008, 3, 11), on)  # 17
    assert rule.gives_own_consent(date(2008, 3, 10), on)  # 18 today
    assert not rule.gives_own_consent(None, on)


def test_status_in_order_revoked_expired_not_started_awaiting_active() -> None:
    assert rule.status(Row(revoked_at=NOW - DAY), birth_date=SIX, at=NOW) is ConsentStatus.REVOKED
    # A withdrawal counts from when it was recorded.
    assert rule.status(Row(revoked_at=NOW + DAY), birth_date=SIX, at=NOW) is ConsentStatus.ACTIVE
    assert rule.status(Row(valid_until=NOW), birth_date=SIX, at=NOW) is ConsentStatus.EXPIRED
    assert rule.status(Row(valid_from=NOW + DAY), birth_date=SIX, at=NOW) is (
        ConsentStatus.NOT_STARTED
    )
    assert rule.status(Row(), birth_date=TWELVE, at=NOW) is ConsentStatus.AWAITING_PUPIL
    agreed = Row(pupil_agreed_at=NOW - DAY)
    assert rule.status(agreed, birth_date=TWELVE, at=NOW) is ConsentStatus.ACTIVE
    assert rule.status(Row(pupil_agreed_at=NOW + DAY), birth_date=TWELVE, at=NOW) is (
        ConsentStatus.AWAITING_PUPIL
    )
    assert rule.status(Row(), birth_date=SIX, at=NOW) is ConsentStatus.ACTIVE
    # Naive instants (SQLite) are UTC.
    naive = Row(valid_until=(NOW + DAY).replace(tzinfo=None))
    assert rule.status(naive, birth_date=SIX, at=NOW) is ConsentStatus.ACTIVE


def test_a_six_year_olds_consent_stops_counting_on_the_seventh_birthday() -> None:
    birthday = date(2019, 3, 11)  # seven on 11/03/2026 in Vietnam
    before = datetime(2026, 3, 10, 16, 59, tzinfo=UTC)  # 23:59 on the 10th in Vietnam
    after = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # midnight: the 11th
    row = Row(valid_until=NOW + 60 * DAY)
    assert rule.status(row, birth_date=birthday, at=before) is ConsentStatus.ACTIVE
    assert rule.status(row, birth_date=birthday, at=after) is ConsentStatus.AWAITING_PUPIL


def test_valid_only_for_its_recipient_and_school_years() -> None:
    row = Row(documents={"schoolYears": ["2024-2025", "2025-2026"]})

    def valid(recipient: str = "hub_admission", year: str = "2025-2026") -> bool:
        return rule.is_valid(row, recipient=recipient, school_year=year, at=NOW, birth_date=SIX)

    assert valid()
    assert valid(year="2024-2025")
    assert not valid(year="2023-2024")
    assert not valid(recipient="hub_other")
    assert not rule.is_valid(
        Row(documents={}),
        recipient="hub_admission",
        school_year="2025-2026",
        at=NOW,
        birth_date=SIX,
    )


def _reason(**kwargs: Any) -> str:
    arguments = {"purpose": "Tuyển sinh lớp 10", "school_years": ["2025-2026"]}
    arguments |= {"until": date(2026, 6, 30), "now": NOW} | kwargs
    with pytest.raises(HubError) as refused:
        rule.terms(**arguments)
    assert refused.value.problem.code is Code.CONSENT_INVALID
    assert refused.value.problem.message_en
    return refused.value.problem.message


def test_new_terms_are_checked() -> None:
    assert "mục đích" in _reason(purpose="   ")
    assert "mục đích" in _reason(purpose=None)
    assert "mục đích" in _reason(purpose="Tuyển sinh\x1b[31m")
    assert "mục đích" in _reason(purpose="x" * 201)
    assert "ít nhất một năm học" in _reason(school_years=[])
    assert "2025-2026" in _reason(school_years=["2025/2026"])
    assert "2025-2026" in _reason(school_years=["2025-2027"])
    assert "ngày bắt đầu đã qua" in _reason(starts_on=date(2026, 3, 9))
    assert "trước ngày bắt đầu" in _reason(until=date(2026, 3, 9))
    assert "tối đa 1 năm" in _reason(until=date(2027, 3, 10))
    assert "tối đa" in _reason(school_years=[f"{2000 + n}-{2001 + n}" for n in range(13)])


def test_terms_start_now_and_end_at_midnight_in_vietnam() -> None:
    terms = rule.terms(
        purpose="  Tuyển sinh   lớp 10  ",
        school_years=["2025-2026", "2024-2025", "2025-2026"],
        until=date(2027, 3, 9),  # one year to the day: the longest allowed
        now=NOW,
    )
    assert terms.purpose == "Tuyển sinh lớp 10"
    assert terms.school_years == ("2024-2025", "2025-2026")
    assert terms.documents == {"schoolYears": ["2024-2025", "2025-2026"]}
    assert terms.valid_from == NOW
    assert terms.valid_until == datetime(2027, 3, 9, 17, 0, tzinfo=UTC)
    assert rule.last_day(terms.valid_until) == date(2027, 3, 9)
    later = rule.terms(
        purpose="Tuyển sinh",
        school_years=["2025-2026"],
        until=date(2026, 4, 30),
        now=NOW,
        starts_on=date(2026, 4, 1),
    )
    assert later.valid_from == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)


def _person(pid: str = "001080000001", **kwargs: Any) -> Person:
    return Person(personal_id=pid, full_name="Nguyễn Văn Cha", **kwargs)


def test_who_gives_and_who_may_see_a_consent() -> None:
    child = Child(7, "Nguyễn Thị Con", TWELVE, 1, GuardianRelation.FATHER)
    guardian = _person(children=(child,))
    stranger = _person("001080000009")
    pupil = _person("001213000007", student_id=7)
    on = date(2026, 3, 10)
    assert rule.may_give(guardian, student_id=7, birth_date=TWELVE, on=on)
    assert not rule.may_give(stranger, student_id=7, birth_date=TWELVE, on=on)
    assert not rule.may_give(pupil, student_id=7, birth_date=TWELVE, on=on)  # agrees instead
    adult = date(2007, 1, 1)
    assert rule.may_give(pupil, student_id=7, birth_date=adult, on=on)
    assert not rule.may_give(guardian, student_id=7, birth_date=adult, on=on)
    other_parent = _person("001080000002", children=(child,))
    for person in (guardian, pupil, other_parent):
        assert rule.concerns(person, student_id=7, given_by=guardian.personal_id)
    assert not rule.concerns(stranger, student_id=7, given_by=guardian.personal_id)
    # Who gave it keeps seeing it, even once no longer the child's verified guardian.
    assert rule.concerns(stranger, student_id=7, given_by=stranger.personal_id)


def test_the_text_names_everything_the_law_asks() -> None:
    text = rule.consent_text(
        controller="Sở Giáo dục và Đào tạo Thử nghiệm",
        recipient="Cổng tuyển sinh lớp 10",
        recipient_id="hub_0123",
        purpose="Tuyển sinh vào lớp 10 năm học 2026-2027",
        school_years=["2024-2025", "2025-2026"],
        first_day=date(2026, 3, 10),
        last=date(2026, 8, 31),
    )
    for expected in (
        "Sở Giáo dục và Đào tạo Thử nghiệm",  # the controller
        "Cổng tuyển sinh lớp 10 (mã ứng dụng hub_0123)",  # the recipient
        "Tuyển sinh vào lớp 10 năm học 2026-2027",  # the purpose
        "học bạ số các năm học 2024-2025, 2025-2026",  # the data
        "mã định danh cá nhân",
        "từ ngày 10/03/2026 đến hết ngày 31/08/2026",  # the period
        "rút lại sự đồng ý",  # withdrawal
        "được biết ai đã đọc dữ liệu",  # the right to know
        "Im lặng hoặc không trả lời không phải là đồng ý",
        "91/2025/QH15",
        "356/2025/NĐ-CP",
    ):
        assert expected in text, expected
    assert rule.TEXT_VERSION in rule.TEXTS
    assert "{" not in text


def test_receipt_json_is_machine_readable() -> None:
    receipt = rule.Receipt(
        consent_id=5,
        student_id=7,
        student_name="Nguyễn Thị Con",
        recipient_id="hub_0123",
        recipient_name="Cổng tuyển sinh",
        purpose="Tuyển sinh",
        school_years=("2025-2026",),
        valid_from=NOW,
        valid_until=datetime(2026, 8, 31, 17, 0, tzinfo=UTC),
        text_version=rule.TEXT_VERSION,
        text="…",
        given_by="••••••••0001",
        given_at=NOW,
        pupil_agreement_required=True,
        pupil_agreed_at=None,
        revoked_at=None,
        revoked_by=None,
        status=ConsentStatus.AWAITING_PUPIL,
        controller="Sở GDĐT",
        issued_at=NOW,
    )
    shown = receipt.as_json()
    assert shown["recipient"] == {"clientId": "hub_0123", "name": "Cổng tuyển sinh"}
    assert shown["documents"] == {"schoolYears": ["2025-2026"]}
    assert shown["period"]["lastDay"] == "2026-08-31"
    assert shown["text"]["version"] == rule.TEXT_VERSION
    assert shown["pupilAgreement"] == {"required": True, "agreedAt": None}
    assert shown["revoked"] is None
    assert shown["status"] == "AWAITING_PUPIL"
