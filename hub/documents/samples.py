"""Realistic transcript contents for tests, benchmarks and previews (not real people)."""

from datetime import date
from decimal import Decimal

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
from hub.domain.grading.primary import Completion, Quality, YearResult
from hub.domain.grading.secondary import Award, Level, PromotionOutcome, Rating
from hub.domain.traits import COMPETENCIES, QUALITIES

SCHOOL = School(
    moet_code="01004001",
    name="Trường THCS Gia Thụy",
    district="Quận Long Biên",
    province="Thành phố Hà Nội",
    department="Sở Giáo dục và Đào tạo Hà Nội",
)

_SCORED = [
    ("TOAN", "Toán", "8.3", "8.9", "8.7"),
    ("NGU_VAN", "Ngữ văn", "7.6", "8.1", "7.9"),
    ("NGOAI_NGU_1", "Ngoại ngữ 1", "9.1", "9.4", "9.3"),
    ("GDCD", "Giáo dục công dân", "8.8", "9.0", "8.9"),
    ("LS_DL", "Lịch sử và Địa lí", "7.9", "8.4", "8.2"),
    ("KHTN", "Khoa học tự nhiên", "8.0", "8.6", "8.4"),
    ("CONG_NGHE", "Công nghệ", "9.0", "9.2", "9.1"),
    ("TIN_HOC", "Tin học", "9.5", "9.6", "9.6"),
]
_COMMENTED = [
    ("GDTC", "Giáo dục thể chất"),
    ("NGHE_THUAT", "Nghệ thuật"),
    ("HDTN_HN", "Hoạt động trải nghiệm, hướng nghiệp"),
    ("GDDP", "Nội dung giáo dục địa phương"),
]


def secondary(index: int = 0, *, generated_on: date = date(2026, 5, 31)) -> TranscriptContent:
    """A lower-secondary transcript; ``index`` varies the student."""
    subjects = tuple(
        SecondarySubject(code, name, False, Decimal(a), Decimal(b), Decimal(y), None, Decimal(y))
        for code, name, a, b, y in _SCORED
    ) + tuple(
        SecondarySubject(code, name, True, Rating.PASS, Rating.PASS, Rating.PASS, None, Rating.PASS)
        for code, name in _COMMENTED
    )
    return TranscriptContent(
        document_id=f"0c8a4d52-6f0e-4b1e-9a57-{index:012d}",
        version=1,
        replaces=None,
        correction_reason=None,
        school_year="2025-2026",
        grade=8,
        class_name="8A3",
        stage=SchoolStage.SECONDARY,
        school=SCHOOL,
        student=Student(
            personal_id=f"00121200{index % 10000:04d}",
            ministry_code=f"0100400{index:06d}",
            full_name="Nguyễn Thị Thuỳ Dương" if index % 2 else "Trần Đức Việt Hoàng",
            birth_date=date(2012, 3, 14),
            sex=Sex.FEMALE if index % 2 else Sex.MALE,
            ethnicity="Kinh",
        ),
        secondary=SecondaryResults(
            subjects=subjects,
            learning_first=Level.GOOD,
            learning_second=Level.GOOD,
            learning_year=Level.GOOD,
            learning_after_retest=None,
            conduct_first=Level.GOOD,
            conduct_second=Level.GOOD,
            conduct_year=Level.GOOD,
            conduct_after_training=None,
            half_days_absent=2,
            outcome=PromotionOutcome.PROMOTED,
            award=Award.EXCELLENT,
        ),
        primary=None,
        homeroom_teacher="Phạm Thị Ngọc Ánh",
        homeroom_comment="Em chăm chỉ, tự giác; tích cực phát biểu xây dựng bài. Cần rèn chữ viết.",
        principal="Đỗ Quang Hưng",
        principal_approval="Đồng ý với nhận xét của giáo viên chủ nhiệm.",
        verification_url=f"https://hub.sgddt.example/verify/0c8a4d52-6f0e-4b1e-9a57-{index:012d}",
        generated_on=generated_on,
    )


def primary(index: int = 0, *, generated_on: date = date(2026, 5, 31)) -> TranscriptContent:
    """A grade-4 primary transcript; ``index`` varies the pupil."""
    subjects = (
        PrimarySubject("TIENG_VIET", "Tiếng Việt", Completion.WELL, 9, "Đọc diễn cảm, viết đẹp."),
        PrimarySubject("TOAN", "Toán", Completion.WELL, 10, "Tính nhanh, chính xác."),
        PrimarySubject("NGOAI_NGU_1", "Ngoại ngữ 1", Completion.DONE, 8, None),
        PrimarySubject("LS_DL", "Lịch sử và Địa lí", Completion.WELL, 9, None),
        PrimarySubject("KHOA_HOC", "Khoa học", Completion.WELL, 9, None),
        PrimarySubject("TIN_HOC_CN", "Tin học và Công nghệ", Completion.WELL, 10, None),
        PrimarySubject("DAO_DUC", "Đạo đức", Completion.WELL, None, "Lễ phép với thầy cô."),
        PrimarySubject("GDTC", "Giáo dục thể chất", Completion.DONE, None, None),
        PrimarySubject("AM_NHAC", "Âm nhạc", Completion.WELL, None, None),
        PrimarySubject("MI_THUAT", "Mĩ thuật", Completion.WELL, None, None),
        PrimarySubject("HDTN", "Hoạt động trải nghiệm", Completion.WELL, None, None),
    )
    traits = tuple(
        PrimaryTrait(code, name, True, Quality.GOOD) for code, name in QUALITIES.items()
    ) + tuple(PrimaryTrait(code, name, False, Quality.GOOD) for code, name in COMPETENCIES.items())
    return TranscriptContent(
        document_id=f"7d1f0b3e-2a44-4c9d-8e61-{index:012d}",
        version=1,
        replaces=None,
        correction_reason=None,
        school_year="2025-2026",
        grade=4,
        class_name="4A1",
        stage=SchoolStage.PRIMARY,
        school=School(
            moet_code="01004101",
            name="Trường Tiểu học Ngọc Thụy",
            district="Quận Long Biên",
            province="Thành phố Hà Nội",
            department="Sở Giáo dục và Đào tạo Hà Nội",
        ),
        student=Student(
            personal_id=f"00121600{index % 10000:04d}",
            ministry_code=None,
            full_name="Lê Hoàng Bảo Ngọc",
            birth_date=date(2016, 11, 2),
            sex=Sex.FEMALE,
            ethnicity="Tày",
        ),
        secondary=None,
        primary=PrimaryResults(
            subjects=subjects,
            traits=traits,
            year_result=YearResult.WELL,
            half_days_absent=0,
            promoted=True,
        ),
        homeroom_teacher="Vũ Thị Hương Giang",
        homeroom_comment="Con ngoan, học tốt, hoà đồng với bạn bè.",
        principal="Bùi Văn Khải",
        principal_approval="Hoàn thành chương trình lớp 4.",
        verification_url=f"https://hub.sgddt.example/verify/7d1f0b3e-2a44-4c9d-8e61-{index:012d}",
        generated_on=generated_on,
    )
