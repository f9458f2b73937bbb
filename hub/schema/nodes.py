"""The province's records as Relay nodes.

Each type is built from its database row by ``from_row``; related records are
fetched through the request's data loaders, so a page of any size costs the same
few SQL statements.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.auth.access import may_see_personal_id
from hub.db import models
from hub.domain.certificates import as_utc, expires_soon, is_valid_at
from hub.domain.enums import (
    CertificateStatus,
    GuardianRelation,
    IdentityStatus,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import mask
from hub.resolvers.context import Context

SchoolLevelType = strawberry.enum(SchoolLevel, description="Cấp học")
OwnershipType = strawberry.enum(Ownership, description="Loại hình: công lập / tư thục")
StaffRoleType = strawberry.enum(StaffRole, description="Vai trò tại trường")
SexType = strawberry.enum(Sex, description="Giới tính")
IdentityStatusType = strawberry.enum(
    IdentityStatus, description="Kết quả xác thực với CSDL quốc gia về dân cư"
)
GuardianRelationType = strawberry.enum(GuardianRelation, description="Quan hệ với học sinh")
SigningProviderType = strawberry.enum(SigningProvider, description="Nhà cung cấp ký số")
CertificateStatusType = strawberry.enum(CertificateStatus, description="Trạng thái chứng thư số")


def _ctx(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def _personal_id(info: Info, number: str | None) -> str | None:
    if number is None or may_see_personal_id(_ctx(info).caller):
        return number
    return mask(number)


class HubNode(relay.Node):
    """Relay node resolution through the authorised by-id loader of the row model."""

    model: ClassVar[type]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        loader = _ctx(info).loaders.by_id(cls.model)
        keys = [int(i) if str(i).isdigit() else -1 for i in node_ids]
        rows = await loader.load_many(keys)
        return [None if row is None else cls.from_row(row) for row in rows]


@strawberry.type(description="Phòng Giáo dục và Đào tạo (district office)")
class District(HubNode):
    model = models.District
    id: relay.NodeID[int]
    code: str
    name: str

    @classmethod
    def from_row(cls, row: models.District) -> Self:
        return cls(id=row.id, code=row.code, name=row.name)


@strawberry.type(description="Trường / cơ sở giáo dục (school)")
class School(HubNode):
    model = models.School
    id: relay.NodeID[int]
    moet_code: str = strawberry.field(description="Mã trường của Bộ GDĐT")
    name: str
    level: SchoolLevelType
    ownership: OwnershipType
    directly_managed: bool = strawberry.field(description="Trực thuộc Sở")
    district_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.School) -> Self:
        return cls(
            id=row.id,
            moet_code=row.moet_code,
            name=row.name,
            level=row.level,
            ownership=row.ownership,
            directly_managed=row.directly_managed,
            district_id=row.district_id,
        )

    @strawberry.field
    async def district(self, info: Info) -> District | None:
        row = await _ctx(info).loaders.by_id(models.District).load(self.district_id)
        return None if row is None else District.from_row(row)

    @strawberry.field(description="Chứng thư số tổ chức (con dấu) của trường")
    async def seal_certificates(self, info: Info) -> list["Certificate"]:
        _ctx(info).caller.require("certificates:read")
        rows = await _ctx(info).loaders.seals_of_school.load(self.id)
        return [Certificate.from_row(row) for row in rows]


@strawberry.type(description="Năm học")
class SchoolYear:
    code: str
    starts_on: date
    ends_on: date
    is_current: bool

    @classmethod
    def from_row(cls, row: models.SchoolYear) -> Self:
        return cls(
            code=row.code, starts_on=row.starts_on, ends_on=row.ends_on, is_current=row.is_current
        )


@strawberry.type(description="Lớp học trong một năm học")
class SchoolClass(HubNode):
    model = models.SchoolClass
    id: relay.NodeID[int]
    name: str
    grade: int
    school_id: strawberry.Private[int]
    homeroom_teacher_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.SchoolClass) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            grade=row.grade,
            school_id=row.school_id,
            homeroom_teacher_id=row.homeroom_teacher_id,
        )

    @strawberry.field
    async def school(self, info: Info) -> School | None:
        row = await _ctx(info).loaders.by_id(models.School).load(self.school_id)
        return None if row is None else School.from_row(row)

    @strawberry.field(description="Giáo viên chủ nhiệm (GVCN)")
    async def homeroom_teacher(self, info: Info) -> "Staff | None":
        if self.homeroom_teacher_id is None:
            return None
        row = await _ctx(info).loaders.by_id(models.Staff).load(self.homeroom_teacher_id)
        return None if row is None else Staff.from_row(row)


@strawberry.type(description="Cha mẹ học sinh / người giám hộ")
class Guardian:
    full_name: str
    phone: str | None
    personal_id_number: strawberry.Private[str | None]

    @strawberry.field(description="Mã định danh cá nhân (che trừ 4 số cuối nếu không cần)")
    def personal_id(self, info: Info) -> str | None:
        return _personal_id(info, self.personal_id_number)


@strawberry.type(description="Quan hệ cha mẹ/người giám hộ ↔ học sinh")
class GuardianLink:
    relation: GuardianRelationType
    verified: bool = strawberry.field(description="Đã xác thực với CSDL dân cư / hồ sơ trường")
    guardian: Guardian

    @classmethod
    def from_row(cls, row: models.GuardianLink) -> Self:
        return cls(
            relation=row.relation,
            verified=row.verified,
            guardian=Guardian(
                full_name=row.guardian.full_name,
                phone=row.guardian.phone,
                personal_id_number=row.guardian.personal_id,
            ),
        )


@strawberry.type(description="Học sinh, định danh bằng mã định danh cá nhân")
class Student(HubNode):
    model = models.Student
    id: relay.NodeID[int]
    ministry_code: str | None = strawberry.field(description="Mã học sinh (Bộ GDĐT)")
    full_name: str
    birth_date: date | None
    sex: SexType | None
    ethnicity: str | None
    identity_status: IdentityStatusType
    identity_verified_at: datetime | None
    needs_review: bool = strawberry.field(
        description="Dữ liệu khác với mã định danh (ví dụ giới tính): cần rà soát"
    )
    personal_id_number: strawberry.Private[str | None]
    school_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Student) -> Self:
        verified_at = row.identity_verified_at
        return cls(
            id=row.id,
            ministry_code=row.moet_code,
            full_name=row.full_name,
            birth_date=row.birth_date,
            sex=row.sex,
            ethnicity=row.ethnicity,
            identity_status=row.identity_status,
            identity_verified_at=None if verified_at is None else as_utc(verified_at),
            needs_review=row.needs_review,
            personal_id_number=row.personal_id,
            school_id=row.school_id,
        )

    @strawberry.field(description="Mã định danh cá nhân (12 số)")
    def personal_id(self, info: Info) -> str | None:
        return _personal_id(info, self.personal_id_number)

    @strawberry.field
    async def school(self, info: Info) -> School | None:
        row = await _ctx(info).loaders.by_id(models.School).load(self.school_id)
        return None if row is None else School.from_row(row)

    @strawberry.field(description="Lớp của năm học hiện tại")
    async def current_class(self, info: Info) -> SchoolClass | None:
        row = await _ctx(info).loaders.current_class_of_student.load(self.id)
        return None if row is None else SchoolClass.from_row(row)

    @strawberry.field
    async def guardians(self, info: Info) -> list[GuardianLink]:
        rows = await _ctx(info).loaders.guardian_links_of_student.load(self.id)
        return [GuardianLink.from_row(row) for row in rows]


@strawberry.type(description="Phân công: vai trò của cán bộ tại một trường")
class StaffAssignment:
    role: StaffRoleType
    school_id: strawberry.Private[int]

    @strawberry.field
    async def school(self, info: Info) -> School | None:
        row = await _ctx(info).loaders.by_id(models.School).load(self.school_id)
        return None if row is None else School.from_row(row)


@strawberry.type(description="Cán bộ, giáo viên, nhân viên")
class Staff(HubNode):
    model = models.Staff
    id: relay.NodeID[int]
    full_name: str
    birth_date: date | None
    sex: SexType | None
    email: str | None
    phone: str | None
    personal_id_number: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: models.Staff) -> Self:
        return cls(
            id=row.id,
            full_name=row.full_name,
            birth_date=row.birth_date,
            sex=row.sex,
            email=row.email,
            phone=row.phone,
            personal_id_number=row.personal_id,
        )

    @strawberry.field(description="Mã định danh cá nhân (12 số)")
    def personal_id(self, info: Info) -> str | None:
        return _personal_id(info, self.personal_id_number)

    @strawberry.field
    async def assignments(self, info: Info) -> list[StaffAssignment]:
        rows = await _ctx(info).loaders.assignments_of_staff.load(self.id)
        return [StaffAssignment(role=row.role, school_id=row.school_id) for row in rows]

    @strawberry.field(description="Chứng thư số cá nhân, mới nhất trước")
    async def certificates(self, info: Info) -> list["Certificate"]:
        rows = await _ctx(info).loaders.certificates_of_staff.load(self.id)
        return [Certificate.from_row(row) for row in rows]

    @strawberry.field(description="Có ít nhất một chứng thư số đang hiệu lực")
    async def has_valid_certificate(self, info: Info) -> bool:
        rows = await _ctx(info).loaders.certificates_of_staff.load(self.id)
        now = datetime.now().astimezone()
        return any(is_valid_at(r.status, r.valid_from, r.valid_to, now) for r in rows)


@strawberry.type(description="Chứng thư số: của một cán bộ hoặc con dấu của trường")
class Certificate(HubNode):
    model = models.SigningCertificate
    id: relay.NodeID[int]
    provider: SigningProviderType
    credential_id: str
    serial_number: str
    subject: str
    issuer: str
    valid_from: datetime
    valid_to: datetime
    status: CertificateStatusType
    staff_id: strawberry.Private[int | None]
    school_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.SigningCertificate) -> Self:
        return cls(
            id=row.id,
            provider=row.provider,
            credential_id=row.credential_id,
            serial_number=row.serial_number,
            subject=row.subject_dn,
            issuer=row.issuer_dn,
            valid_from=as_utc(row.valid_from),
            valid_to=as_utc(row.valid_to),
            status=row.status,
            staff_id=row.staff_id,
            school_id=row.school_id,
        )

    @strawberry.field(description="Đang hiệu lực vào lúc truy vấn")
    def is_valid(self) -> bool:
        now = datetime.now().astimezone()
        return is_valid_at(self.status, self.valid_from, self.valid_to, now)

    @strawberry.field(description="Hết hạn trong vòng 30 ngày tới")
    def expires_soon(self) -> bool:
        return expires_soon(self.valid_to, datetime.now().astimezone())

    @strawberry.field(description="Chủ sở hữu khi là cán bộ")
    async def staff(self, info: Info) -> Staff | None:
        if self.staff_id is None:
            return None
        row = await _ctx(info).loaders.by_id(models.Staff).load(self.staff_id)
        return None if row is None else Staff.from_row(row)

    @strawberry.field(description="Trường sở hữu khi là con dấu")
    async def school(self, info: Info) -> School | None:
        if self.school_id is None:
            return None
        row = await _ctx(info).loaders.by_id(models.School).load(self.school_id)
        return None if row is None else School.from_row(row)


@strawberry.type(description="Môn học / hoạt động giáo dục")
class Subject:
    code: str
    name: str
    comment_only: bool = strawberry.field(description="Đánh giá bằng nhận xét (Đạt/Chưa đạt)")


NODE_TYPES: dict[type, type[HubNode]] = {
    models.District: District,
    models.School: School,
    models.SchoolClass: SchoolClass,
    models.Student: Student,
    models.Staff: Staff,
    models.SigningCertificate: Certificate,
}
