"""The department's reports in the GraphQL schema: signing-certificate coverage and the
lists behind it, and students still without a personal ID."""

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.db import models
from hub.resolvers import queries
from hub.resolvers.context import context_of
from hub.resolvers.lookahead import NOT_LOADED, merge_fields
from hub.resolvers.reports import (
    DIRECTLY_MANAGED,
    CoverageDimension,
    CoverageFigures,
    certificate_coverage,
)
from hub.schema.enums import OwnershipType
from hub.schema.filters import StaffFilter, StudentFilter
from hub.schema.nodes import RELATIONS, District, Staff, Student, shape, to_one
from hub.schema.pagination import Before, Connection, First, Last, paginate

# The GraphQL enum is registered on the domain class; alias as in hub/schema/enums.py.
CoverageDimensionType = CoverageDimension
strawberry.enum(CoverageDimension, name="CoverageDimension", description="Chiều tổng hợp báo cáo")


@strawberry.type(description="Độ phủ chữ ký số của một nhóm trường")
class CoverageRow:
    level: str | None = strawberry.field(
        description=f"Cấp học, hoặc {DIRECTLY_MANAGED} cho các đơn vị trực thuộc Sở"
    )
    ownership: OwnershipType | None
    district_id: strawberry.Private[int | None]
    staff_total: int = strawberry.field(description="Tổng số CBGVNV")
    with_valid_certificate: int = strawberry.field(description="Số người có chữ ký số hiệu lực")
    without_valid_certificate: int = strawberry.field(
        description="Số người chưa có chữ ký số hiệu lực"
    )
    ratio: float = strawberry.field(description="Tỷ lệ (0–1)")
    district: District | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def of(cls, figures: CoverageFigures) -> "CoverageRow":
        return cls(
            level=figures.level,
            ownership=figures.ownership,
            district_id=figures.district_id,
            staff_total=figures.staff_total,
            with_valid_certificate=figures.with_valid_certificate,
            without_valid_certificate=figures.staff_total - figures.with_valid_certificate,
            ratio=round(figures.ratio, 4),
        )


RELATIONS[CoverageRow] = [to_one(models.District, "district_id", District.from_row, "district")]


@strawberry.type(description="Báo cáo độ phủ chữ ký số")
class CoverageReport:
    rows: list[CoverageRow]
    total: CoverageRow


@strawberry.type
class CoverageQueries:
    @strawberry.field(description="Độ phủ chữ ký số theo cấp học / loại hình / phòng GDĐT")
    async def certificate_coverage(
        self, info: Info, group_by: list[CoverageDimensionType]
    ) -> CoverageReport:
        ctx = context_of(info)
        figures = await certificate_coverage(ctx, [CoverageDimension(d) for d in group_by])
        staff_total = sum(f.staff_total for f in figures)
        valid = sum(f.with_valid_certificate for f in figures)
        total = CoverageRow(
            level=None,
            ownership=None,
            district_id=None,
            staff_total=staff_total,
            with_valid_certificate=valid,
            without_valid_certificate=staff_total - valid,
            ratio=round(valid / staff_total, 4) if staff_total else 0.0,
        )
        rows = [CoverageRow.of(f) for f in figures]
        report = merge_fields([s for f in info.selected_fields for s in f.selections], "")
        for name, shaped in (("rows", rows), ("total", [total])):
            await shape(ctx, shaped, report.get(name, []))
        return CoverageReport(rows=rows, total=total)

    @strawberry.field(description="Cán bộ của một trường chưa có chữ ký số hiệu lực")
    async def staff_without_valid_certificate(
        self,
        info: Info,
        school_id: relay.GlobalID,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Staff]:
        ctx = context_of(info)
        ctx.caller.require("reports:read")
        statement = queries.staff(
            StaffFilter(school_id=school_id, has_valid_certificate=False), ctx.reader.dialect
        )
        return await paginate(
            info,
            model=models.Staff,
            statement=statement,
            build=Staff.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type
class StudentReportQueries:
    @strawberry.field(description="Học sinh của một trường chưa có mã định danh cá nhân")
    async def students_without_personal_id(
        self,
        info: Info,
        school_id: relay.GlobalID,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Student]:
        ctx = context_of(info)
        ctx.caller.require("reports:read")
        statement = queries.students(
            StudentFilter(school_id=school_id, has_personal_id=False), ctx.reader.dialect
        )
        return await paginate(
            info,
            model=models.Student,
            statement=statement,
            build=Student.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
