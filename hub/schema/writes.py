"""The vendor write API: its inputs, per-row results and mutations.

Every write answers per row (:class:`UpsertResult`); the gradebook writes
(:mod:`hub.schema.assessments`) and corrections answer the same way.
"""

from collections.abc import Sequence
from datetime import date

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.domain import problems
from hub.domain.problems import Code
from hub.resolvers import upserts
from hub.resolvers.context import context_of
from hub.resolvers.upserts import RowOutcome
from hub.schema.enums import GuardianRelationType, SexType, StaffRoleType

# GraphQL enums registered on the domain classes; aliases as in hub/schema/enums.py.
ProblemCode = Code
strawberry.enum(Code, name="ProblemCode", description="Mã lỗi ổn định")
RowStatusType = upserts.RowStatus
strawberry.enum(upserts.RowStatus, name="RowStatus", description="Kết quả ghi một dòng")


@strawberry.type(description="Một vấn đề của dữ liệu vào: mã ổn định + thông báo tiếng Việt")
class Problem:
    code: ProblemCode
    message: str
    field: str | None


@strawberry.type(description="Kết quả của một dòng trong lần ghi")
class RowResult:
    index: int = strawberry.field(description="Vị trí dòng trong danh sách gửi lên (từ 0)")
    key: str | None = strawberry.field(description="Khóa tự nhiên của dòng")
    status: RowStatusType
    id: relay.GlobalID | None
    errors: list[Problem]
    warnings: list[Problem]


@strawberry.type(description="Kết quả của một lần ghi hàng loạt")
class UpsertResult:
    created: int
    updated: int
    unchanged: int
    deleted: int
    rejected: int
    rows: list[RowResult]


@strawberry.input(description="Một học sinh; khóa tự nhiên: mã định danh cá nhân")
class StudentInput:
    personal_id: str | None = strawberry.field(
        default=None, description="Mã định danh cá nhân (12 số)"
    )
    ministry_code: str | None = strawberry.field(default=None, description="Mã học sinh Bộ GDĐT")
    full_name: str
    birth_date: date
    sex: SexType
    ethnicity: str | None = None
    school_code: str = strawberry.field(description="Mã trường (Bộ GDĐT)")
    class_name: str | None = strawberry.field(
        default=None, description="Tên lớp năm học hiện tại, ví dụ 6A1"
    )


@strawberry.input(description="Vai trò của cán bộ tại một trường")
class AssignmentInput:
    school_code: str
    roles: list[StaffRoleType]


@strawberry.input(description="Một cán bộ, giáo viên; khóa tự nhiên: mã định danh cá nhân")
class StaffInput:
    personal_id: str
    full_name: str
    birth_date: date | None = None
    sex: SexType | None = None
    email: str | None = None
    phone: str | None = None
    assignments: list[AssignmentInput] = strawberry.field(
        description="Phân công tại các trường của ứng dụng; thay thế phân công cũ tại các trường đó"
    )


@strawberry.input(description="Kết thúc phân công của một cán bộ tại một trường của ứng dụng")
class AssignmentEndInput:
    personal_id: str = strawberry.field(description="Mã định danh cá nhân của cán bộ")
    school_code: str
    roles: list[StaffRoleType] | None = strawberry.field(
        default=None, description="Các vai trò kết thúc; bỏ trống: mọi vai trò tại trường này"
    )


@strawberry.input(description="Một học sinh rời trường (chuyển đi, thôi học)")
class StudentWithdrawalInput:
    personal_id: str = strawberry.field(description="Mã định danh cá nhân của học sinh")


@strawberry.input(description="Cha mẹ / người giám hộ")
class GuardianInput:
    personal_id: str | None = None
    full_name: str
    phone: str | None = None


@strawberry.input(description="Liên kết cha mẹ/người giám hộ với học sinh")
class GuardianLinkInput:
    student_personal_id: str
    guardian: GuardianInput
    relation: GuardianRelationType
    verified: bool = strawberry.field(
        default=False,
        deprecation_reason="bỏ qua: chỉ CSDL quốc gia về dân cư hoặc kiểm tra trực tiếp tại "
        "trường xác thực quan hệ (verifyGuardianLinks, recordGuardianCheck)",
    )
    remove: bool = strawberry.field(default=False, description="Xóa liên kết này")


def _problems(items: Sequence[problems.Problem]) -> list[Problem]:
    return [Problem(code=p.code, message=p.message, field=p.field) for p in items]


def upsert_result(outcomes: Sequence[RowOutcome]) -> UpsertResult:
    """The answer of a write: counts by status, and each row's verdict."""
    rows = [
        RowResult(
            index=o.index,
            key=o.key,
            status=o.status,
            id=None if o.entity_id is None else relay.GlobalID(o.type_name, str(o.entity_id)),
            errors=_problems(o.errors),
            warnings=_problems(o.warnings),
        )
        for o in outcomes
    ]
    counts = {status: 0 for status in upserts.RowStatus}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return UpsertResult(
        created=counts[upserts.RowStatus.CREATED],
        updated=counts[upserts.RowStatus.UPDATED],
        unchanged=counts[upserts.RowStatus.UNCHANGED],
        deleted=counts[upserts.RowStatus.DELETED],
        rejected=counts[upserts.RowStatus.REJECTED],
        rows=rows,
    )


async def upsert_rows(info: Info, upsert: upserts.Upsert, rows: Sequence[object]) -> UpsertResult:
    """Run one of the per-row writes for this request and answer per row."""
    return upsert_result(await upserts.run_upsert(context_of(info), upsert, rows))


@strawberry.type
class VendorWriteMutations:
    @strawberry.mutation(description="Ghi tối đa 1.000 học sinh; khóa: mã định danh cá nhân")
    async def upsert_students(self, info: Info, rows: list[StudentInput]) -> UpsertResult:
        return await upsert_rows(info, upserts.upsert_students, rows)

    @strawberry.mutation(description="Ghi tối đa 1.000 cán bộ; khóa: mã định danh cá nhân")
    async def upsert_staff(self, info: Info, rows: list[StaffInput]) -> UpsertResult:
        return await upsert_rows(info, upserts.upsert_staff, rows)

    @strawberry.mutation(description="Ghi tối đa 1.000 liên kết cha mẹ/người giám hộ ↔ học sinh")
    async def upsert_guardian_links(
        self, info: Info, rows: list[GuardianLinkInput]
    ) -> UpsertResult:
        return await upsert_rows(info, upserts.upsert_guardian_links, rows)

    @strawberry.mutation(
        description="Kết thúc phân công của cán bộ tại trường của ứng dụng (nghỉ, chuyển công tác)"
    )
    async def end_staff_assignments(
        self, info: Info, rows: list[AssignmentEndInput]
    ) -> UpsertResult:
        return await upsert_rows(info, upserts.end_staff_assignments, rows)

    @strawberry.mutation(description="Học sinh rời trường của ứng dụng (chuyển đi, thôi học)")
    async def withdraw_students(
        self, info: Info, rows: list[StudentWithdrawalInput]
    ) -> UpsertResult:
        return await upsert_rows(info, upserts.withdraw_students, rows)
