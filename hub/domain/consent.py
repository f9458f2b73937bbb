"""Consent for an admission service to read a pupil's transcripts (issue 11): the rule.

Law 91/2025/QH15 on personal data protection and Decree 356/2025/NĐ-CP (both in force
1 January 2026; IDENTITY.md, "Personal data law"): consent counts only when it is
voluntary, informed (the data, the purpose, the controller, the person's rights),
clear and specific; silence is not consent; it can be withdrawn and processing stops
then. One consent is one pupil × one recipient (an admission service's client id) ×
one purpose × the transcripts of named school years × one period of at most a year,
with the text version the person was shown (:data:`TEXTS`).

Who consents, decided here once (:func:`pupil_agreement_required`,
:func:`gives_own_consent`):

* under 7: the legal representative (a guardian whose link the hub verified) alone;
* 7 to under 16: the representative gives it and the pupil agrees too — the law's rule
  for a child's private information ("a child aged 7 or older consents too");
* 16 to under 18: the same, the representative and the pupil both. The law lets a
  child's representative act up to 16, but a pupil of 16–17 is still a minor under the
  Civil Code (art. 21), whose transactions need the representative's consent; asking
  both is the reading that satisfies either interpretation [decision, IDENTITY.md
  marks the age bands as the law's and this one as ours];
* 18 or more: the pupil alone, signed in as themself.

The pupil's agreement is theirs to give: they confirm it signed in with their own
account (many pupils have none — IDENTITY.md — and then a consent that needs their
agreement never counts). Age is reckoned on the day of the read, in Vietnam: a
consent given for a six-year-old stops counting on their seventh birthday until they
agree. A pupil whose birth date is unknown is taken to be 7 or more.

Every rule here is pure; :func:`hub.db.queries.consent_in_force` is the SQL twin of
:func:`is_valid` that the authorisation layer adds to an admission service's reads.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol

from hub.domain.certificates import as_utc
from hub.domain.people import Person
from hub.domain.problems import Code, HubError
from hub.domain.text import clean_text

#: Dates of consent are Vietnam's (UTC+7): "until 31/05/2026" ends at midnight there.
VIETNAM = timezone(timedelta(hours=7))

#: From this age a pupil agrees to the disclosure too (Law 91/2025, Decree 356/2025).
AGREEMENT_AGE = 7
#: From this age a pupil gives consent alone (of age, Civil Code art. 20).
OWN_CONSENT_AGE = 18
#: A consent lasts at most this many years (the hub's rule: specific, time-bound).
MAX_YEARS = 1
#: The purpose column's length.
PURPOSE_LIMIT = 200
#: School years one consent may name (a pupil's whole schooling: grades 1–12).
MAX_SCHOOL_YEARS = 12

_SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{4})")

#: The version of the text shown today; a person gives consent to this text only.
TEXT_VERSION = "2026-01"

#: Every text ever shown, by version: a receipt prints the text of its version.
TEXTS: dict[str, str] = {
    "2026-01": (
        "GIẤY ĐỒNG Ý CUNG CẤP DỮ LIỆU CÁ NHÂN CỦA HỌC SINH\n"
        "\n"
        "1. Bên kiểm soát dữ liệu: {controller}, đơn vị quản lý hệ thống cơ sở dữ liệu "
        "giáo dục của tỉnh, nơi lưu học bạ số của học sinh.\n"
        "2. Bên nhận dữ liệu: {recipient} (mã ứng dụng {recipient_id}).\n"
        "3. Mục đích: {purpose}. Bên nhận chỉ được dùng dữ liệu cho mục đích này.\n"
        "4. Dữ liệu được cung cấp: học bạ số các năm học {school_years} (kết quả học tập, "
        "rèn luyện, nhận xét, khen thưởng) cùng thông tin in trên học bạ: họ và tên, ngày "
        "sinh, giới tính và mã định danh cá nhân của học sinh.\n"
        "5. Thời hạn: từ ngày {valid_from} đến hết ngày {valid_until}. Hết thời hạn, bên "
        "nhận không đọc được thêm dữ liệu.\n"
        "6. Người đồng ý: cha mẹ hoặc người giám hộ (người đại diện theo pháp luật) của "
        "học sinh; học sinh từ đủ 7 tuổi đến dưới 18 tuổi cũng tự xác nhận đồng ý bằng "
        "tài khoản của mình; học sinh từ đủ 18 tuổi tự mình đồng ý.\n"
        "7. Quyền của học sinh và cha mẹ, người giám hộ (Luật Bảo vệ dữ liệu cá nhân số "
        "91/2025/QH15, Nghị định số 356/2025/NĐ-CP): được biết ai đã đọc dữ liệu, vào lúc "
        "nào, cho mục đích gì; được rút lại sự đồng ý bất cứ lúc nào — bên nhận dừng đọc "
        "ngay khi rút lại, việc đã đọc trước đó không bị ảnh hưởng; được yêu cầu xem, "
        "chỉnh sửa dữ liệu; được khiếu nại, tố cáo, khởi kiện theo quy định của pháp "
        "luật.\n"
        "8. Việc đồng ý là tự nguyện. Im lặng hoặc không trả lời không phải là đồng ý. "
        "Nếu không đồng ý, bên nhận không đọc được học bạ của học sinh qua hệ thống; gia "
        "đình nộp hồ sơ theo cách khác mà bên nhận hướng dẫn."
    ),
}


class ConsentStatus(StrEnum):
    """Where a consent stands at a moment."""

    ACTIVE = "ACTIVE"  # đang có hiệu lực
    AWAITING_PUPIL = "AWAITING_PUPIL"  # chờ học sinh xác nhận đồng ý
    NOT_STARTED = "NOT_STARTED"  # chưa đến ngày bắt đầu
    EXPIRED = "EXPIRED"  # đã hết thời hạn
    REVOKED = "REVOKED"  # đã rút lại

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ConsentStatus.ACTIVE: "Đang có hiệu lực",
    ConsentStatus.AWAITING_PUPIL: "Chờ học sinh xác nhận đồng ý",
    ConsentStatus.NOT_STARTED: "Chưa đến ngày bắt đầu",
    ConsentStatus.EXPIRED: "Đã hết thời hạn",
    ConsentStatus.REVOKED: "Đã rút lại",
}


class ConsentRecord(Protocol):
    """What the rule reads of a consent (a row of ``consents``)."""

    @property
    def recipient(self) -> str: ...
    @property
    def documents(self) -> Mapping[str, Any]: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...
    @property
    def pupil_agreed_at(self) -> datetime | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...


# --- Dates ------------------------------------------------------------------------


def day_in_vietnam(at: datetime) -> date:
    """The calendar day in Vietnam at the instant ``at``."""
    return as_utc(at).astimezone(VIETNAM).date()


def period_end(last_day: date) -> datetime:
    """The instant (UTC) a consent "until the end of ``last_day``" stops: the next
    midnight in Vietnam."""
    return datetime.combine(last_day + timedelta(days=1), time(), VIETNAM).astimezone(UTC)


def period_start(first_day: date) -> datetime:
    """The instant (UTC) ``first_day`` begins in Vietnam."""
    return datetime.combine(first_day, time(), VIETNAM).astimezone(UTC)


def last_day(valid_until: datetime) -> date:
    """The last day (Vietnam) a consent counts, from its exclusive end instant."""
    return day_in_vietnam(as_utc(valid_until) - timedelta(microseconds=1))


def years_before(day: date, years: int) -> date:
    """``day`` ``years`` years earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    """``day`` ``years`` years later; 29 February becomes the 28th in a common year."""
    return years_before(day, -years)


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on ``on`` (a 29 February birthday comes on 1 March)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


# --- Who consents -------------------------------------------------------------------


def agreement_cutoff(on: date) -> date:
    """The latest birth date of a pupil who is :data:`AGREEMENT_AGE` or more on ``on``:
    born on or before it, the pupil agrees too (the SQL twin compares with it)."""
    return years_before(on, AGREEMENT_AGE)


def pupil_agreement_required(birth_date: date | None, on: date) -> bool:
    """Whether the pupil must agree as well for a disclosure on ``on``.

    Law 91/2025 and Decree 356/2025: a child aged 7 or more consents too; the hub asks
    it up to 18 (the module's docstring says why), and from 18 the pupil's own consent
    is their agreement. An unknown birth date counts as 7 or more.
    """
    return birth_date is None or birth_date <= agreement_cutoff(on)


def gives_own_consent(birth_date: date | None, on: date) -> bool:
    """Whether the pupil, of age on ``on``, gives consent alone (the representative no
    longer does)."""
    return birth_date is not None and age_on(birth_date, on) >= OWN_CONSENT_AGE


def may_give(person: Person, *, student_id: int, birth_date: date | None, on: date) -> bool:
    """Whether ``person`` gives consent for the pupil ``student_id`` on ``on``: the pupil
    of age themself, else a legal representative whose link the hub verified."""
    if gives_own_consent(birth_date, on):
        return person.student_id == student_id
    return person.represents(student_id)


def concerns(person: Person, *, student_id: int, given_by: str) -> bool:
    """Whether a consent about the pupil ``student_id`` is ``person``'s to see, keep a
    receipt of and revoke: who gave it, the pupil, or any verified guardian of theirs
    (each may withdraw it: Law 91/2025, the representative exercises a child's rights)."""
    return person.personal_id == given_by or person.speaks_for(student_id)


# --- Validity -----------------------------------------------------------------------


def school_years_of(consent: ConsentRecord) -> tuple[str, ...]:
    """The school years whose transcripts the consent covers."""
    years = (consent.documents or {}).get("schoolYears") or []
    return tuple(str(year) for year in years)


def status(consent: ConsentRecord, *, birth_date: date | None, at: datetime) -> ConsentStatus:
    """Where ``consent`` of a pupil born on ``birth_date`` stands at ``at``.

    Revocation counts from the instant it is recorded; the period is [valid_from,
    valid_until); a consent that needs the pupil's agreement is not in force before it.
    """
    at = as_utc(at)
    if consent.revoked_at is not None and as_utc(consent.revoked_at) <= at:
        return ConsentStatus.REVOKED
    if at >= as_utc(consent.valid_until):
        return ConsentStatus.EXPIRED
    if at < as_utc(consent.valid_from):
        return ConsentStatus.NOT_STARTED
    agreed = consent.pupil_agreed_at is not None and as_utc(consent.pupil_agreed_at) <= at
    if not agreed and pupil_agreement_required(birth_date, day_in_vietnam(at)):
        return ConsentStatus.AWAITING_PUPIL
    return ConsentStatus.ACTIVE


def is_valid(
    consent: ConsentRecord,
    *,
    recipient: str,
    school_year: str,
    at: datetime,
    birth_date: date | None,
) -> bool:
    """Whether ``consent`` lets ``recipient`` read the pupil's transcript of
    ``school_year`` at ``at``: its recipient, a year it names, in force
    (:func:`status`)."""
    return (
        consent.recipient == recipient
        and school_year in school_years_of(consent)
        and status(consent, birth_date=birth_date, at=at) is ConsentStatus.ACTIVE
    )


# --- A new consent ------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentTerms:
    """A new consent's terms, checked: what the text shows and the row keeps."""

    purpose: str
    school_years: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime

    @property
    def documents(self) -> dict[str, Any]:
        return {"schoolYears": list(self.school_years)}


def _invalid(reason: str, reason_en: str) -> HubError:
    return HubError(Code.CONSENT_INVALID, reason=reason, details_en={"reason": reason_en})


def terms(
    *,
    purpose: str | None,
    school_years: Sequence[str],
    until: date,
    now: datetime,
    starts_on: date | None = None,
) -> ConsentTerms:
    """The terms of a consent asked for at ``now``, or CONSENT_INVALID with the reason.

    The purpose is human text (:func:`hub.domain.text.clean_text`) and required; at
    least one school year, each written ``2025-2026``; the period starts today (or on
    ``starts_on``, never before today) and ends at the end of ``until``, at most
    :data:`MAX_YEARS` later.
    """
    cleaned = clean_text(purpose, field="purpose", limit=PURPOSE_LIMIT, required=True)
    if not cleaned.ok or cleaned.value is None:
        found = cleaned.problems[0] if cleaned.problems else None
        if found is None or found.code is Code.NAME_REQUIRED:
            raise _invalid("cần ghi rõ mục đích", "the purpose must be stated")
        raise _invalid(
            f"mục đích: {found.message.rstrip('.')}",
            f"the purpose: {found.message_en.rstrip('.')}",
        )
    years = tuple(sorted(dict.fromkeys(year.strip() for year in school_years)))
    if not years:
        raise _invalid("cần ít nhất một năm học", "at least one school year is needed")
    if len(years) > MAX_SCHOOL_YEARS:
        raise _invalid(
            f"tối đa {MAX_SCHOOL_YEARS} năm học", f"at most {MAX_SCHOOL_YEARS} school years"
        )
    for year in years:
        match = _SCHOOL_YEAR.fullmatch(year)
        if match is None or int(match[2]) != int(match[1]) + 1:
            raise _invalid(
                f"năm học “{year[:20]}” phải viết dạng 2025-2026",
                f"school year “{year[:20]}” must be written as 2025-2026",
            )
    today = day_in_vietnam(now)
    first = starts_on or today
    if first < today:
        raise _invalid("ngày bắt đầu đã qua", "the start date is in the past")
    if until < first:
        raise _invalid("ngày kết thúc trước ngày bắt đầu", "the end date is before the start date")
    if until >= years_after(first, MAX_YEARS):
        raise _invalid(
            f"thời hạn đồng ý tối đa {MAX_YEARS} năm", f"a consent lasts at most {MAX_YEARS} year"
        )
    return ConsentTerms(
        purpose=cleaned.value,
        school_years=years,
        valid_from=as_utc(now) if first == today else period_start(first),
        valid_until=period_end(until),
    )


# --- The text -----------------------------------------------------------------------


def vietnamese_day(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def consent_text(
    *,
    controller: str,
    recipient: str,
    recipient_id: str,
    purpose: str,
    school_years: Sequence[str],
    first_day: date,
    last: date,
    version: str = TEXT_VERSION,
) -> str:
    """The consent text of ``version`` for these terms, exactly as shown and printed."""
    return TEXTS[version].format(
        controller=controller,
        recipient=recipient,
        recipient_id=recipient_id,
        purpose=purpose,
        school_years=", ".join(school_years),
        valid_from=vietnamese_day(first_day),
        valid_until=vietnamese_day(last),
    )


# --- A receipt ----------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What a person keeps of a consent: every term, the text shown, who did what.

    Personal IDs arrive masked (the last four digits): a receipt is printed and sent
    around, and the person knows their own number.
    """

    consent_id: int
    student_id: int
    student_name: str
    recipient_id: str
    recipient_name: str
    purpose: str
    school_years: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    text_version: str
    text: str
    given_by: str
    given_at: datetime
    pupil_agreement_required: bool
    pupil_agreed_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    status: ConsentStatus
    controller: str
    issued_at: datetime
    urls: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The machine-readable receipt (camelCase keys, ISO 8601 UTC instants)."""

        def instant(value: datetime | None) -> str | None:
            return None if value is None else as_utc(value).isoformat()

        return {
            "consentId": self.consent_id,
            "studentId": self.student_id,
            "studentName": self.student_name,
            "recipient": {"clientId": self.recipient_id, "name": self.recipient_name},
            "controller": self.controller,
            "purpose": self.purpose,
            "documents": {"schoolYears": list(self.school_years)},
            "period": {
                "validFrom": instant(self.valid_from),
                "validUntil": instant(self.valid_until),
                "lastDay": last_day(self.valid_until).isoformat(),
            },
            "text": {"version": self.text_version, "content": self.text},
            "givenBy": self.given_by,
            "givenAt": instant(self.given_at),
            "pupilAgreement": {
                "required": self.pupil_agreement_required,
                "agreedAt": instant(self.pupil_agreed_at),
            },
            "revoked": None
            if self.revoked_at is None
            else {"at": instant(self.revoked_at), "by": self.revoked_by},
            "status": self.status.value,
            "issuedAt": instant(self.issued_at),
            "links": dict(self.urls),
        }
