"""The gradebook writes: their inputs (scores, ratings, conduct, primary levels) and
mutations, answered per row like every vendor write (:mod:`hub.schema.writes`)."""

from decimal import Decimal

import strawberry
from strawberry.types import Info

from hub.domain.grading import primary, secondary
from hub.domain.grading.inputs import PrimaryPeriod
from hub.resolvers import assessments
from hub.schema.writes import UpsertResult, upsert_rows

# GraphQL enums registered on the domain classes; aliases as in hub/schema/enums.py.
RatingType = secondary.Rating
strawberry.enum(secondary.Rating, name="Rating", description="Đạt / Chưa đạt")
LevelType = secondary.Level
strawberry.enum(
    secondary.Level,
    name="Level",
    description="Mức kết quả học tập / rèn luyện: Tốt, Khá, Đạt, Chưa đạt",
)
CompletionType = primary.Completion
strawberry.enum(
    primary.Completion,
    name="Completion",
    description="Hoàn thành tốt / Hoàn thành / Chưa hoàn thành",
)
QualityType = primary.Quality
strawberry.enum(
    primary.Quality, name="TraitLevel", description="Phẩm chất, năng lực: Tốt / Đạt / Cần cố gắng"
)
PrimaryPeriodType = PrimaryPeriod
strawberry.enum(
    PrimaryPeriod, name="PrimaryPeriod", description="Giữa/cuối học kì I, giữa học kì II, cuối năm"
)
YEAR = strawberry.field(default=None, description="Năm học, ví dụ 2025-2026 (mặc định: hiện tại)")


@strawberry.input(description="Đánh giá một môn, một học kì (Thông tư 22, THCS/THPT)")
class SecondaryAssessmentInput:
    student_personal_id: str
    subject_code: str
    semester: int = strawberry.field(description="1 hoặc 2")
    school_year: str | None = YEAR
    regular: list[Decimal] | None = strawberry.field(
        default=None, description="Điểm đánh giá thường xuyên (ĐĐGtx), đủ số lần theo số tiết"
    )
    midterm: Decimal | None = strawberry.field(default=None, description="Điểm giữa kì (ĐĐGgk)")
    final: Decimal | None = strawberry.field(default=None, description="Điểm cuối kì (ĐĐGck)")
    regular_ratings: list[RatingType] | None = strawberry.field(
        default=None, description="Môn đánh giá bằng nhận xét: các lần thường xuyên"
    )
    midterm_rating: RatingType | None = None
    final_rating: RatingType | None = None


@strawberry.input(description="Rèn luyện, chuyên cần và nhận xét cả năm của một học sinh")
class YearRecordInput:
    student_personal_id: str
    school_year: str | None = YEAR
    conduct_first: LevelType | None = strawberry.field(default=None, description="Rèn luyện HK I")
    conduct_second: LevelType | None = strawberry.field(default=None, description="Rèn luyện HK II")
    summer_training: LevelType | None = strawberry.field(
        default=None, description="Kết quả rèn luyện trong hè"
    )
    half_days_absent: int | None = strawberry.field(default=None, description="Số buổi nghỉ")
    homeroom_comment: str | None = strawberry.field(
        default=None, description="Nhận xét của giáo viên chủ nhiệm"
    )
    principal_approval: str | None = strawberry.field(
        default=None, description="Phê duyệt của hiệu trưởng in trong học bạ"
    )


@strawberry.input(description="Kết quả kiểm tra lại một môn (THCS/THPT)")
class RetestInput:
    student_personal_id: str
    subject_code: str
    school_year: str | None = YEAR
    score: Decimal | None = None
    rating: RatingType | None = None


@strawberry.input(description="Đánh giá một môn học/hoạt động ở tiểu học (Thông tư 27)")
class PrimaryAssessmentInput:
    student_personal_id: str
    subject_code: str
    period: PrimaryPeriodType
    school_year: str | None = YEAR
    completion: CompletionType | None = None
    test_score: int | None = strawberry.field(
        default=None, description="Điểm bài kiểm tra định kì (số nguyên 0–10)"
    )
    comment: str | None = None


@strawberry.input(description="Đánh giá một phẩm chất hoặc năng lực ở tiểu học")
class PrimaryTraitInput:
    student_personal_id: str
    trait: str = strawberry.field(
        description="Mã phẩm chất/năng lực, ví dụ CHAM_CHI, TU_CHU_TU_HOC"
    )
    period: PrimaryPeriodType
    level: QualityType
    school_year: str | None = YEAR


@strawberry.type
class GradebookMutations:
    @strawberry.mutation(
        description="Ghi điểm/đánh giá môn học theo học kì (THCS, THPT), tối đa 1.000 dòng"
    )
    async def upsert_secondary_assessments(
        self, info: Info, rows: list[SecondaryAssessmentInput]
    ) -> UpsertResult:
        return await upsert_rows(info, assessments.upsert_secondary_assessments, rows)

    @strawberry.mutation(description="Ghi rèn luyện, số buổi nghỉ, nhận xét cả năm")
    async def upsert_year_records(self, info: Info, rows: list[YearRecordInput]) -> UpsertResult:
        return await upsert_rows(info, assessments.upsert_year_records, rows)

    @strawberry.mutation(description="Ghi kết quả kiểm tra lại (THCS, THPT)")
    async def upsert_retests(self, info: Info, rows: list[RetestInput]) -> UpsertResult:
        return await upsert_rows(info, assessments.upsert_retests, rows)

    @strawberry.mutation(description="Ghi mức đạt được và điểm kiểm tra định kì (tiểu học)")
    async def upsert_primary_assessments(
        self, info: Info, rows: list[PrimaryAssessmentInput]
    ) -> UpsertResult:
        return await upsert_rows(info, assessments.upsert_primary_assessments, rows)

    @strawberry.mutation(description="Ghi đánh giá phẩm chất, năng lực (tiểu học)")
    async def upsert_primary_traits(
        self, info: Info, rows: list[PrimaryTraitInput]
    ) -> UpsertResult:
        return await upsert_rows(info, assessments.upsert_primary_traits, rows)
