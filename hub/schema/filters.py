"""Filter inputs of the list queries."""

from datetime import datetime

import strawberry
from strawberry import relay

from hub.schema.enums import (
    CertificateStatusType,
    IdentityStatusType,
    OwnershipType,
    SchoolLevelType,
    SigningProviderType,
    StaffRoleType,
)


@strawberry.input(description="Lọc trường")
class SchoolFilter:
    district_id: relay.GlobalID | None = None
    level: SchoolLevelType | None = None
    ownership: OwnershipType | None = None
    directly_managed: bool | None = None
    name: str | None = strawberry.field(default=None, description="Tìm không dấu")


@strawberry.input(description="Lọc lớp (mặc định năm học hiện tại)")
class ClassFilter:
    school_id: relay.GlobalID | None = None
    grade: int | None = None
    school_year: str | None = strawberry.field(default=None, description="Ví dụ 2025-2026")


@strawberry.input(description="Lọc học sinh")
class StudentFilter:
    school_id: relay.GlobalID | None = None
    class_id: relay.GlobalID | None = None
    grade: int | None = strawberry.field(default=None, description="Khối của năm học hiện tại")
    identity_status: IdentityStatusType | None = None
    name: str | None = strawberry.field(
        default=None, description="Tìm theo họ tên, không phân biệt dấu: 'nguyen van an'"
    )
    has_personal_id: bool | None = None


@strawberry.input(description="Lọc cán bộ, giáo viên")
class StaffFilter:
    school_id: relay.GlobalID | None = None
    role: StaffRoleType | None = None
    has_valid_certificate: bool | None = None
    name: str | None = None


@strawberry.input(description="Lọc chứng thư số")
class CertificateFilter:
    provider: SigningProviderType | None = None
    status: CertificateStatusType | None = None
    expiring_before: datetime | None = strawberry.field(
        default=None, description="Hết hạn trước thời điểm này (và chưa hết hạn)"
    )
    school_id: relay.GlobalID | None = None
    is_seal: bool | None = strawberry.field(default=None, description="Chỉ con dấu của trường")
