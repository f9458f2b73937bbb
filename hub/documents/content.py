"""What a transcript says, independent of how it is rendered (RULES.md §4).

One :class:`TranscriptContent` is built from the database by the transcripts
service and rendered, unchanged, both as the XML document and as the PDF in the
paper layout; renderers read only this, so both always say the same thing.
Results are already computed by :mod:`hub.domain.grading`; renderers never
grade. Everything a renderer prints is here, including the generation date, so
the same content renders to the same bytes.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from hub.domain.enums import Sex
from hub.domain.grading.primary import Completion, Quality, YearResult
from hub.domain.grading.secondary import Award, Level, PromotionOutcome, Rating


class SchoolStage(StrEnum):
    """Which circular the transcript follows."""

    PRIMARY = "PRIMARY"  # Tiểu học, Circular 27/2020
    SECONDARY = "SECONDARY"  # THCS/THPT, Circular 22/2021


@dataclass(frozen=True)
class School:
    moet_code: str
    name: str
    district: str
    province: str
    department: str  # the Sở GDĐT


@dataclass(frozen=True)
class Student:
    personal_id: str
    ministry_code: str | None
    full_name: str
    birth_date: date | None
    sex: Sex | None
    ethnicity: str | None


@dataclass(frozen=True)
class SecondarySubject:
    """One subject's line in a secondary transcript.

    Scored subjects carry ``Decimal`` averages (ĐTBmhk I, II, ĐTBmcn), comment-only
    ones ``Rating``; ``None`` where nothing was assessed. ``retest`` is the summer
    re-test result and ``final`` the year result after it (equal to ``year``
    without a re-test).
    """

    code: str
    name: str
    comment_only: bool
    first_semester: Decimal | Rating | None
    second_semester: Decimal | Rating | None
    year: Decimal | Rating | None
    retest: Decimal | Rating | None
    final: Decimal | Rating | None


@dataclass(frozen=True)
class SecondaryResults:
    subjects: tuple[SecondarySubject, ...]
    learning_first: Level | None  # kết quả học tập HK I
    learning_second: Level | None
    learning_year: Level | None
    learning_after_retest: Level | None
    conduct_first: Level | None  # kết quả rèn luyện HK I
    conduct_second: Level | None
    conduct_year: Level | None
    conduct_after_training: Level | None  # after summer re-training
    half_days_absent: int | None
    outcome: PromotionOutcome | None  # lên lớp / kiểm tra lại / rèn luyện hè / ở lại lớp
    award: Award | None

    @property
    def has_results(self) -> bool:
        """Any subject result (a semester, the year, a re-test) or any learning or
        conduct level; absences alone are not a result."""
        subjects = (
            (s.first_semester, s.second_semester, s.year, s.retest, s.final) for s in self.subjects
        )
        levels = (
            self.learning_first,
            self.learning_second,
            self.learning_year,
            self.learning_after_retest,
            self.conduct_first,
            self.conduct_second,
            self.conduct_year,
            self.conduct_after_training,
        )
        return any(v is not None for values in subjects for v in values) or any(
            level is not None for level in levels
        )


@dataclass(frozen=True)
class PrimarySubject:
    code: str
    name: str
    completion: Completion | None  # end-of-year level T / H / C
    test_score: int | None  # end-of-year test, where the subject has one
    comment: str | None


@dataclass(frozen=True)
class PrimaryTrait:
    code: str
    name: str
    is_quality: bool  # phẩm chất (True) or năng lực (False)
    level: Quality | None


@dataclass(frozen=True)
class PrimaryResults:
    subjects: tuple[PrimarySubject, ...]
    traits: tuple[PrimaryTrait, ...]
    year_result: YearResult | None
    half_days_absent: int | None
    promoted: bool | None  # hoàn thành chương trình lớp học → lên lớp

    @property
    def has_results(self) -> bool:
        """Any subject's completion level or test score, any quality or competency level,
        or the year result; teachers' comments and absences alone are not a result."""
        return (
            self.year_result is not None
            or any(s.completion is not None or s.test_score is not None for s in self.subjects)
            or any(t.level is not None for t in self.traits)
        )


@dataclass(frozen=True)
class TranscriptContent:
    """Everything one transcript (one student, one school year, one version) says."""

    document_id: str  # stable id of this version; the QR code's verification URL names it
    version: int  # 1, then 2, 3… for corrections
    replaces: str | None  # document_id of the version this one corrects
    correction_reason: str | None
    school_year: str  # "2025-2026"
    grade: int
    class_name: str
    stage: SchoolStage
    school: School
    student: Student
    secondary: SecondaryResults | None
    primary: PrimaryResults | None
    homeroom_teacher: str | None  # name, printed above the signature field
    homeroom_comment: str | None
    principal: str | None
    principal_approval: str | None  # "Xác nhận của Hiệu trưởng"
    verification_url: str
    generated_on: date

    @property
    def has_results(self) -> bool:
        """Whether it records any result of the year at all (what readiness needs:
        :func:`hub.domain.lifecycle.mark_ready`)."""
        results = self.secondary or self.primary
        return results is not None and results.has_results
