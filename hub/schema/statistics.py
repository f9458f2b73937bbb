"""The department's statistics in the GraphQL schema (issue 14, part 2): the year's
learning results, the signing season's progress and the pupils without a verified
personal ID, each grouped as asked. The figures come from :mod:`hub.resolvers.results`,
:mod:`hub.resolvers.progress` and :mod:`hub.resolvers.pupil_ids`; the same functions
fill the dashboard's pages and their downloads."""

from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.db import models
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, HubError
from hub.resolvers import progress, pupil_ids, results
from hub.resolvers.context import Context, context_of
from hub.resolvers.lookahead import NOT_LOADED, merge_fields
from hub.resolvers.progress import ProgressGrouping
from hub.resolvers.pupil_ids import Reason
from hub.resolvers.queries import node_key
from hub.resolvers.results import Measure, ResultDimension, ResultFigures
from hub.schema.enums import SchoolLevelType
from hub.schema.nodes import RELATIONS, District, School, SchoolClass, shape, to_one
from hub.schema.pagination import First, cursor_of, decode_cursor, page_size
from hub.schema.transcripts import TranscriptStateType

# The GraphQL enums are registered on the domain classes; aliases as in hub/schema/enums.py.
ResultDimensionType = ResultDimension
strawberry.enum(ResultDimension, description="Chiều tổng hợp kết quả học tập")
ProgressGroupingType = ProgressGrouping
strawberry.enum(ProgressGrouping, description="Mỗi dòng tiến độ ký là một phòng, trường hay lớp")
IdentityReasonType = Reason
strawberry.enum(Reason, name="IdentityReason", description="Vì sao mã định danh chưa xác thực")
MeasureType = Measure
strawberry.enum(Measure, name="ResultMeasure", description="Kết quả được đếm")


#: A report's rows come a page at a time, as every list of the API (a province has
#: three thousand schools); its total is always the whole report's.
ROWS = "Các dòng của trang (first/after như các danh sách khác)"
TOTAL = "Tổng của cả báo cáo, không chỉ của trang"


@strawberry.enum(description="Mỗi dòng báo cáo định danh là một phòng hay một trường")
class PlaceGrouping(StrEnum):
    DISTRICT = "DISTRICT"
    SCHOOL = "SCHOOL"


@strawberry.type(description="Số học sinh có một kết quả")
class ResultCount:
    code: str = strawberry.field(description="Mã kết quả (GOOD, EXCELLENT, PROMOTED…)")
    label: str = strawberry.field(description="Tên kết quả theo thông tư")
    count: int
    ratio: float = strawberry.field(description="Tỷ lệ trên số học sinh của dòng (0–1)")


def _counts(figures: ResultFigures, measure: Measure) -> list[ResultCount]:
    return [
        ResultCount(
            code=code,
            label=results.label_of(measure, code),
            count=figures.count(measure, code),
            ratio=round(figures.share(measure, code), 4),
        )
        for code in figures.codes(measure)
    ]


@strawberry.type(description="Kết quả học tập, rèn luyện và lên lớp của một nhóm học sinh")
class LearningResultRow:
    level: SchoolLevelType | None = strawberry.field(description="Cấp học")
    grade: int | None = strawberry.field(description="Khối lớp")
    district_id: strawberry.Private[int | None]
    school_id: strawberry.Private[int | None]
    pupils: int = strawberry.field(description="Số học sinh có học bạ của năm học")
    learning: list[ResultCount] = strawberry.field(
        description="Kết quả học tập (TT22) / kết quả giáo dục (TT27)"
    )
    conduct: list[ResultCount] = strawberry.field(description="Kết quả rèn luyện (TT22)")
    outcomes: list[ResultCount] = strawberry.field(
        description="Lên lớp, kiểm tra lại, rèn luyện trong hè, ở lại lớp"
    )
    promotion_rate: float = strawberry.field(description="Tỷ lệ lên lớp (0–1)")
    retest_rate: float = strawberry.field(description="Tỷ lệ kiểm tra lại (0–1)")
    district: District | None = strawberry.field(default=NOT_LOADED)
    school: School | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def of(cls, figures: ResultFigures) -> "LearningResultRow":
        return cls(
            level=figures.level,
            grade=figures.grade,
            district_id=figures.district_id,
            school_id=figures.school_id,
            pupils=figures.pupils,
            learning=_counts(figures, Measure.LEARNING),
            conduct=_counts(figures, Measure.CONDUCT),
            outcomes=_counts(figures, Measure.OUTCOME),
            promotion_rate=round(figures.promotion_rate, 4),
            retest_rate=round(figures.retest_rate, 4),
        )


@strawberry.type(description="Báo cáo kết quả học tập của một năm học")
class LearningResultReport:
    school_year: str = strawberry.field(description="Năm học, ví dụ 2025-2026")
    rows: list[LearningResultRow] = strawberry.field(description=ROWS)
    total: LearningResultRow = strawberry.field(description=TOTAL)
    page_info: relay.PageInfo


@strawberry.type(description="Số học bạ ở một trạng thái")
class StateCount:
    state: TranscriptStateType
    label: str
    count: int


@strawberry.type(description="Tiến độ ký học bạ của một phòng, trường hay lớp")
class SigningProgressRow:
    district_id: strawberry.Private[int | None]
    school_id: strawberry.Private[int | None]
    class_id: strawberry.Private[int | None]
    states: list[StateCount]
    total: int = strawberry.field(description="Số học bạ (bản hiện hành) của năm học")
    fully_signed: int = strawberry.field(description="Đã đủ chữ ký (đã đóng dấu hoặc đã gửi)")
    ratio: float = strawberry.field(description="Tỷ lệ đã đủ chữ ký (0–1)")
    district: District | None = strawberry.field(default=NOT_LOADED)
    school: School | None = strawberry.field(default=NOT_LOADED)
    school_class: SchoolClass | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def of(
        cls, figures: progress.SigningProgress, by: ProgressGrouping | None
    ) -> "SigningProgressRow":
        key = figures.key
        return cls(
            district_id=key if by is ProgressGrouping.DISTRICT else None,
            school_id=key if by is ProgressGrouping.SCHOOL else None,
            class_id=key if by is ProgressGrouping.CLASS else None,
            states=[
                StateCount(state=state, label=state.label, count=figures.counts[state])
                for state in TranscriptState
            ],
            total=figures.total,
            fully_signed=figures.fully_signed,
            ratio=round(figures.ratio, 4),
        )


@strawberry.type(description="Tiến độ ký học bạ của năm học hiện tại")
class SigningProgressReport:
    rows: list[SigningProgressRow] = strawberry.field(description=ROWS)
    total: SigningProgressRow = strawberry.field(description=TOTAL)
    page_info: relay.PageInfo


@strawberry.type(description="Số học sinh chưa xác thực định danh vì một lý do")
class ReasonCount:
    reason: IdentityReasonType
    count: int


@strawberry.type(description="Học sinh chưa có mã định danh đã xác thực, của một phòng hay trường")
class PupilIdentityRow:
    district_id: strawberry.Private[int | None]
    school_id: strawberry.Private[int | None]
    pupils: int = strawberry.field(description="Số học sinh")
    unverified: int = strawberry.field(description="Số học sinh chưa có mã định danh đã xác thực")
    ratio: float = strawberry.field(description="Tỷ lệ chưa xác thực (0–1)")
    reasons: list[ReasonCount]
    district: District | None = strawberry.field(default=NOT_LOADED)
    school: School | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def of(
        cls, tally: pupil_ids.Tally, *, district_id: int | None = None, school_id: int | None = None
    ) -> "PupilIdentityRow":
        return cls(
            district_id=district_id,
            school_id=school_id,
            pupils=tally.pupils,
            unverified=tally.unverified,
            ratio=round(tally.ratio, 4),
            reasons=[ReasonCount(reason=r, count=tally.reasons[r]) for r in Reason],
        )


@strawberry.type(description="Học sinh chưa có mã định danh đã xác thực")
class PupilIdentityReport:
    rows: list[PupilIdentityRow] = strawberry.field(description=ROWS)
    total: PupilIdentityRow = strawberry.field(description=TOTAL)
    page_info: relay.PageInfo


_PLACES = [
    to_one(models.District, "district_id", District.from_row, "district"),
    to_one(models.School, "school_id", School.from_row, "school"),
]
RELATIONS[LearningResultRow] = _PLACES
RELATIONS[PupilIdentityRow] = _PLACES
RELATIONS[SigningProgressRow] = [
    *_PLACES,
    to_one(models.SchoolClass, "class_id", SchoolClass.from_row, "schoolClass", "school_class"),
]


F = TypeVar("F")
R = TypeVar("R")


async def _page(
    info: Info,
    ctx: Context,
    figures: list[F],
    build: Callable[[F], R],
    total: Any,
    first: int | None,
    after: str | None,
) -> tuple[list[R], relay.PageInfo]:
    """The rows of the page of ``figures`` the arguments ask for (only those are built),
    their districts, schools and classes loaded (what the query selects, in one go), and
    where the page sits in the report."""
    start = 0 if after is None else decode_cursor(after) + 1
    page = [build(f) for f in figures[start : start + page_size(ctx, first)]]
    report = merge_fields([s for f in info.selected_fields for s in f.selections], "")
    for name, shaped in (("rows", page), ("total", [total])):
        await shape(ctx, shaped, report.get(name, []))
    end = start + len(page)
    return page, relay.PageInfo(
        has_next_page=end < len(figures),
        has_previous_page=start > 0,
        start_cursor=cursor_of(start) if page else None,
        end_cursor=cursor_of(end - 1) if page else None,
    )


def _key(global_id: relay.GlobalID | None, type_name: str) -> int | None:
    return None if global_id is None else node_key(global_id, type_name)


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        description="Kết quả học tập, rèn luyện, lên lớp và kiểm tra lại theo phòng, trường, "
        "cấp học, khối lớp (TT22/2021, TT27/2020), từ học bạ của năm học"
    )
    async def learning_results(
        self,
        info: Info,
        group_by: list[ResultDimensionType],
        school_year: str | None = None,
        district_id: relay.GlobalID | None = None,
        school_id: relay.GlobalID | None = None,
        first: First = None,
        after: str | None = None,
    ) -> LearningResultReport:
        ctx = context_of(info)
        ctx.caller.require("reports:read")
        year = await results.school_year_of(ctx, school_year)
        if year is None:
            raise HubError(Code.SCHOOL_YEAR_NOT_FOUND, value=school_year or "hiện tại")
        figures = await results.learning_results(
            ctx,
            [ResultDimension(d) for d in group_by],
            year_id=year.id,
            district_id=_key(district_id, "District"),
            school_id=_key(school_id, "School"),
        )
        total = LearningResultRow.of(results.total_of(figures))
        page, page_info = await _page(info, ctx, figures, LearningResultRow.of, total, first, after)
        return LearningResultReport(
            school_year=year.code, rows=page, total=total, page_info=page_info
        )

    @strawberry.field(description="Tiến độ ký học bạ năm học hiện tại theo phòng, trường hay lớp")
    async def signing_progress(
        self,
        info: Info,
        group_by: ProgressGroupingType,
        district_id: relay.GlobalID | None = None,
        school_id: relay.GlobalID | None = None,
        first: First = None,
        after: str | None = None,
    ) -> SigningProgressReport:
        ctx = context_of(info)
        by = ProgressGrouping(group_by)
        figures = await progress.signing_progress(
            ctx,
            by,
            district_id=_key(district_id, "District"),
            school_id=_key(school_id, "School"),
        )
        total = SigningProgressRow.of(progress.total_of(figures), None)
        page, page_info = await _page(
            info, ctx, figures, partial(SigningProgressRow.of, by=by), total, first, after
        )
        return SigningProgressReport(rows=page, total=total, page_info=page_info)

    @strawberry.field(
        description="Số học sinh chưa có mã định danh đã xác thực theo phòng hay theo trường"
    )
    async def pupils_without_verified_id(
        self,
        info: Info,
        group_by: PlaceGrouping,
        district_id: relay.GlobalID | None = None,
        first: First = None,
        after: str | None = None,
    ) -> PupilIdentityReport:
        ctx = context_of(info)
        district = _key(district_id, "District")
        if group_by == PlaceGrouping.DISTRICT:
            counted = await pupil_ids.tallies_by_district(ctx)
            if district is not None:
                counted = {k: t for k, t in counted.items() if k == district}
            place = "district_id"
        else:
            counted = await pupil_ids.tallies_by_school(ctx, district_id=district)
            place = "school_id"
        total = PupilIdentityRow.of(pupil_ids.total_of(counted.values()))
        page, page_info = await _page(
            info,
            ctx,
            sorted(counted.items()),
            lambda item: PupilIdentityRow.of(item[1], **{place: item[0]}),
            total,
            first,
            after,
        )
        return PupilIdentityReport(rows=page, total=total, page_info=page_info)
