"""The subject catalogue of the 2018 general-education programme (CT GDPT 2018).

Periods per year are those of Circular 32/2018/TT-BGDĐT (35 weeks a year); they
matter because Circular 22/2021 sets how many regular assessments (ĐĐGtx) a
scored secondary subject has from its yearly periods (RULES.md §2): ≤ 35 → 2,
36–70 → 3, > 70 → 4.

``comment_only`` follows RULES.md §2 for grades 6–12: physical education, the
arts (Nghệ thuật; Âm nhạc and Mĩ thuật in upper secondary), the local-curriculum
content and experiential & career activities are rated Đạt/Chưa đạt, everything
else is scored. A subject row is shared by every grade it is taught in, so the
flag has to hold for all of them; in primary (Circular 27/2020) the subjects
without an end-of-term test — Đạo đức, Tự nhiên và Xã hội, Hoạt động trải
nghiệm, and the same arts and PE — are assessed by comments only, so they are
comment-only too, and the tested ones (RULES.md §3) are "scored".
"""

from dataclasses import dataclass

PRIMARY = range(1, 6)
LOWER_SECONDARY = range(6, 10)
UPPER_SECONDARY = range(10, 13)


@dataclass(frozen=True, slots=True)
class SubjectEntry:
    """One subject or educational activity and its yearly periods by grade."""

    code: str
    name: str
    comment_only: bool
    periods: dict[int, int]

    def grades(self) -> list[int]:
        return sorted(self.periods)


def _each(grades: range, periods: int) -> dict[int, int]:
    return dict.fromkeys(grades, periods)


CATALOGUE: tuple[SubjectEntry, ...] = (
    # Scored in secondary; tested in primary.
    SubjectEntry("TIENG_VIET", "Tiếng Việt", False, {1: 420, 2: 350, 3: 245, 4: 245, 5: 245}),
    SubjectEntry(
        "TOAN",
        "Toán",
        False,
        {1: 105, 2: 175, 3: 175, 4: 175, 5: 175}
        | _each(LOWER_SECONDARY, 140)
        | _each(UPPER_SECONDARY, 105),
    ),
    SubjectEntry(
        "NGU_VAN", "Ngữ văn", False, _each(LOWER_SECONDARY, 140) | _each(UPPER_SECONDARY, 105)
    ),
    SubjectEntry(
        "NGOAI_NGU_1",
        "Ngoại ngữ 1",
        False,
        _each(range(3, 6), 140) | _each(LOWER_SECONDARY, 105) | _each(UPPER_SECONDARY, 105),
    ),
    SubjectEntry(
        "LS_DL", "Lịch sử và Địa lí", False, _each(range(4, 6), 70) | _each(LOWER_SECONDARY, 105)
    ),
    SubjectEntry("KHOA_HOC", "Khoa học", False, _each(range(4, 6), 70)),
    SubjectEntry("TIN_HOC_CN", "Tin học và Công nghệ", False, _each(range(3, 6), 70)),
    SubjectEntry("KHTN", "Khoa học tự nhiên", False, _each(LOWER_SECONDARY, 140)),
    SubjectEntry("GDCD", "Giáo dục công dân", False, _each(LOWER_SECONDARY, 35)),
    SubjectEntry(
        "CONG_NGHE", "Công nghệ", False, {6: 35, 7: 35, 8: 35, 9: 52} | _each(UPPER_SECONDARY, 70)
    ),
    SubjectEntry(
        "TIN_HOC", "Tin học", False, _each(LOWER_SECONDARY, 35) | _each(UPPER_SECONDARY, 70)
    ),
    SubjectEntry("LICH_SU", "Lịch sử", False, _each(UPPER_SECONDARY, 52)),
    SubjectEntry("DIA_LI", "Địa lí", False, _each(UPPER_SECONDARY, 70)),
    SubjectEntry("GDKT_PL", "Giáo dục kinh tế và pháp luật", False, _each(UPPER_SECONDARY, 70)),
    SubjectEntry("VAT_LI", "Vật lí", False, _each(UPPER_SECONDARY, 70)),
    SubjectEntry("HOA_HOC", "Hoá học", False, _each(UPPER_SECONDARY, 70)),
    SubjectEntry("SINH_HOC", "Sinh học", False, _each(UPPER_SECONDARY, 70)),
    SubjectEntry("GDQP_AN", "Giáo dục quốc phòng và an ninh", False, _each(UPPER_SECONDARY, 35)),
    # Comment-only (Đạt / Chưa đạt in secondary; comments only in primary).
    SubjectEntry("DAO_DUC", "Đạo đức", True, _each(PRIMARY, 35)),
    SubjectEntry("TN_XH", "Tự nhiên và Xã hội", True, _each(range(1, 4), 70)),
    SubjectEntry("GDTC", "Giáo dục thể chất", True, _each(range(1, 13), 70)),
    SubjectEntry("NGHE_THUAT", "Nghệ thuật", True, _each(LOWER_SECONDARY, 70)),
    SubjectEntry("AM_NHAC", "Âm nhạc", True, _each(PRIMARY, 35) | _each(UPPER_SECONDARY, 70)),
    SubjectEntry("MI_THUAT", "Mĩ thuật", True, _each(PRIMARY, 35) | _each(UPPER_SECONDARY, 70)),
    SubjectEntry("HDTN", "Hoạt động trải nghiệm", True, _each(PRIMARY, 105)),
    SubjectEntry(
        "HDTN_HN",
        "Hoạt động trải nghiệm, hướng nghiệp",
        True,
        _each(LOWER_SECONDARY, 105) | _each(UPPER_SECONDARY, 105),
    ),
    SubjectEntry(
        "GDDP",
        "Nội dung giáo dục địa phương",
        True,
        _each(LOWER_SECONDARY, 35) | _each(UPPER_SECONDARY, 35),
    ),
)


def subject_ids() -> dict[str, int]:
    """The id each subject gets in the seed: its place in :data:`CATALOGUE`, from 1."""
    return {entry.code: subject_id for subject_id, entry in enumerate(CATALOGUE, start=1)}


def by_code() -> dict[str, SubjectEntry]:
    return {entry.code: entry for entry in CATALOGUE}


def subjects_for_grade(grade: int) -> list[SubjectEntry]:
    """The subjects and activities a class of ``grade`` follows."""
    return [entry for entry in CATALOGUE if grade in entry.periods]
