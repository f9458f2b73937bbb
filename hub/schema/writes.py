"""Inputs and per-row results of the vendor write API."""

from datetime import date
from enum import StrEnum

import strawberry
from strawberry import relay

from hub.domain.problems import Code
from hub.schema.nodes import GuardianRelationType, SexType, StaffRoleType

ProblemCode = strawberry.enum(Code, name="ProblemCode", description="Mã lỗi ổn định")


@strawberry.enum(description="Kết quả ghi một dòng")
class RowStatus(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    DELETED = "DELETED"
    REJECTED = "REJECTED"


@strawberry.type(description="Một vấn đề của dữ liệu vào: mã ổn định + thông báo tiếng Việt")
class Problem:
    code: ProblemCode
    message: str
    field: str | None


@strawberry.type(description="Kết quả của một dòng trong lần ghi")
class RowResult:
    index: int = strawberry.field(description="Vị trí dòng trong danh sách gửi lên (từ 0)")
    key: str | None = strawberry.field(description="Khóa tự nhiên của dòng")
    status: RowStatus
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
    verified: bool = False
    remove: bool = strawberry.field(default=False, description="Xóa liên kết này")
