"""The province's records as Relay nodes.

Nodes are built from Core rows by ``from_row(row, ctx)``; their relation fields
are plain attributes that :func:`hub.resolvers.lookahead.prefetch` fills for a
whole page at once (see :data:`RELATIONS`), so GraphQL only reads attributes and
a page of any size costs the same few SQL statements. The lists below a node
(``School.classes``, ``SchoolClass.students`` …) take arguments, so they are resolvers;
each is the root list's query restricted to the parent, and the parents of a page
read their pages together (:func:`hub.schema.pagination.paginate_children`).
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.db import models
from hub.domain.certificates import as_utc, expires_soon, is_valid_at
from hub.domain.personal_data import Kind, present
from hub.resolvers import paging, queries
from hub.resolvers.context import Context, context_of
from hub.resolvers.ids import database_key, key_max
from hub.resolvers.lookahead import NOT_LOADED, RELATIONS, Relation
from hub.resolvers.lookahead import shape as shape  # where the schema's modules import it
from hub.schema.enums import (
    CertificateStatusType,
    GuardianCheckType,
    GuardianRelationType,
    IdentityStatusType,
    OwnershipType,
    SchoolLevelType,
    SexType,
    SigningProviderType,
    StaffRoleType,
)
from hub.schema.pagination import Before, Connection, First, Last, paginate_children

if TYPE_CHECKING:  # the filters and transcripts modules build on these types
    from hub.schema.filters import (
        CertificateFilter,
        ClassFilter,
        SchoolFilter,
        StaffFilter,
        StudentFilter,
    )
    from hub.schema.transcripts import Transcript, TranscriptFilter

_FILTERS = "hub.schema.filters"
_TRANSCRIPTS = "hub.schema.transcripts"


def _shown(ctx: Context, kind: Kind, value: Any) -> Any:
    """A personal value as this caller may see it (:mod:`hub.domain.personal_data`)."""
    return present(ctx.caller.scopes, kind, value)


class HubNode(relay.Node):
    """Relay node resolution through the authorised by-id loader of the row model."""

    model: ClassVar[type]

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ctx = context_of(info)
        limit = key_max(cls.model)
        keys = [database_key(str(i), limit, shown=f"{cls.__name__}:{i}") for i in node_ids]
        rows = await ctx.loaders.by_id(cls.model).load_many(keys)
        nodes = [None if row is None else cls.from_row(row, ctx) for row in rows]
        selections = [s for field in info.selected_fields for s in field.selections]
        await shape(ctx, nodes, selections)
        return nodes


@strawberry.type(description="Phòng Giáo dục và Đào tạo (district office)")
class District(HubNode):
    model = models.District
    id: relay.NodeID[int]
    code: str
    name: str

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        return cls(id=row.id, code=row.code, name=row.name)

    @strawberry.field(description="Trường thuộc Phòng (lọc như danh sách schools)")
    async def schools(
        self,
        info: Info,
        filter: Annotated["SchoolFilter", strawberry.lazy(_FILTERS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["School", strawberry.lazy("hub.schema.nodes")]]:
        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.SCHOOLS_OF_DISTRICT,
            statement=lambda: queries.schools(filter),
            node_type=School,
            first=first,
            after=after,
            last=last,
            before=before,
        )


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
    district: District | None = strawberry.field(default=NOT_LOADED)
    seal_certificates: list["Certificate"] = strawberry.field(
        default=NOT_LOADED, description="Chứng thư số tổ chức (con dấu) của trường"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        return cls(
            id=row.id,
            moet_code=row.moet_code,
            name=row.name,
            level=row.level,
            ownership=row.ownership,
            directly_managed=row.directly_managed,
            district_id=row.district_id,
        )

    @strawberry.field(description="Lớp học của trường (mặc định năm học hiện tại)")
    async def classes(
        self,
        info: Info,
        filter: Annotated["ClassFilter", strawberry.lazy(_FILTERS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["SchoolClass", strawberry.lazy("hub.schema.nodes")]]:
        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.CLASSES_OF_SCHOOL,
            statement=lambda: queries.classes(filter),
            node_type=SchoolClass,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Cán bộ, giáo viên, nhân viên được phân công tại trường")
    async def staff(
        self,
        info: Info,
        filter: Annotated["StaffFilter", strawberry.lazy(_FILTERS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["Staff", strawberry.lazy("hub.schema.nodes")]]:
        dialect = context_of(info).reader.dialect
        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.STAFF_OF_SCHOOL,
            statement=lambda: queries.staff(filter, dialect),
            node_type=Staff,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Học bạ số của trường (mặc định năm học hiện tại)")
    async def transcripts(
        self,
        info: Info,
        filter: Annotated["TranscriptFilter", strawberry.lazy(_TRANSCRIPTS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["Transcript", strawberry.lazy(_TRANSCRIPTS)]]:
        from hub.schema.transcripts import Transcript  # it builds on this module's types

        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.TRANSCRIPTS_OF_SCHOOL,
            statement=lambda: queries.transcripts(filter),
            node_type=Transcript,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Chứng thư số của trường: con dấu và chứng thư cá nhân của cán bộ được "
        "phân công tại trường"
    )
    async def certificates(
        self,
        info: Info,
        filter: Annotated["CertificateFilter", strawberry.lazy(_FILTERS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["Certificate", strawberry.lazy("hub.schema.nodes")]]:
        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.CERTIFICATES_OF_SCHOOL,
            statement=lambda: queries.certificates(filter),
            node_type=Certificate,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type(description="Năm học")
class SchoolYear:
    code: str
    starts_on: date
    ends_on: date
    is_current: bool

    @classmethod
    def from_row(cls, row: Any) -> Self:
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
    school: School | None = strawberry.field(default=NOT_LOADED)
    homeroom_teacher: "Staff | None" = strawberry.field(
        default=NOT_LOADED, description="Giáo viên chủ nhiệm (GVCN)"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            grade=row.grade,
            school_id=row.school_id,
            homeroom_teacher_id=row.homeroom_teacher_id,
        )

    @strawberry.field(description="Học sinh của lớp (lọc như danh sách students)")
    async def students(
        self,
        info: Info,
        filter: Annotated["StudentFilter", strawberry.lazy(_FILTERS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["Student", strawberry.lazy("hub.schema.nodes")]]:
        dialect = context_of(info).reader.dialect
        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.STUDENTS_OF_CLASS,
            statement=lambda: queries.students(filter, dialect),
            node_type=Student,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type(description="Cha mẹ học sinh / người giám hộ")
class Guardian(HubNode):
    model = models.Guardian
    id: relay.NodeID[int]
    full_name: str
    phone: str | None
    personal_id: str | None = strawberry.field(
        description="Mã định danh cá nhân (che trừ 4 số cuối nếu không cần)"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        ctx.audit.read("guardian", row.id)
        return cls.of(row.id, row.full_name, row.phone, row.personal_id, ctx)

    @classmethod
    def of(
        cls, key: int, full_name: str, phone: str | None, personal_id: str | None, ctx: Context
    ) -> Self:
        """The guardian as this caller may see them (the read is logged by the caller)."""
        return cls(
            id=key,
            full_name=full_name,
            phone=_shown(ctx, Kind.PHONE, phone),
            personal_id=_shown(ctx, Kind.PERSONAL_ID, personal_id),
        )


@strawberry.type(description="Quan hệ cha mẹ/người giám hộ ↔ học sinh")
class GuardianLink:
    id: relay.GlobalID = strawberry.field(description="Mã liên kết (ghi nhận kiểm tra trực tiếp)")
    relation: GuardianRelationType
    verified: bool = strawberry.field(
        description="Đã xác thực (CSDL dân cư hoặc kiểm tra trực tiếp tại trường): chỉ khi đó "
        "cha mẹ/người giám hộ mới được thay mặt học sinh"
    )
    verified_by: GuardianCheckType | None = strawberry.field(description="Xác thực bằng cách nào")
    verified_at: datetime | None = strawberry.field(description="Xác thực lúc nào")
    guardian: Guardian

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        """From a row of the guardian-links loader (link columns + ``guardian_*``)."""
        ctx.audit.read("guardian", row.guardian_id)
        verified_at = row.verified_at
        return cls(
            id=relay.GlobalID("GuardianLink", str(row.id)),
            relation=row.relation,
            verified=row.verified,
            verified_by=row.verified_by,
            verified_at=None if verified_at is None else as_utc(verified_at),
            guardian=Guardian.of(
                row.guardian_id,
                row.guardian_full_name,
                row.guardian_phone,
                row.guardian_personal_id,
                ctx,
            ),
        )


@strawberry.type(description="Một năm học của học sinh: lớp đã học (lịch sử học tập)")
class Enrolment:
    school_year: SchoolYear
    class_id: strawberry.Private[int]
    school_class: SchoolClass | None = strawberry.field(default=NOT_LOADED, description="Lớp")

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        """From a row of the enrolments loader (enrolment columns + ``year_*``)."""
        return cls(
            school_year=SchoolYear(
                code=row.year_code,
                starts_on=row.year_starts_on,
                ends_on=row.year_ends_on,
                is_current=row.year_is_current,
            ),
            class_id=row.class_id,
        )


@strawberry.type(description="Học sinh, định danh bằng mã định danh cá nhân")
class Student(HubNode):
    model = models.Student
    id: relay.NodeID[int]
    personal_id: str | None = strawberry.field(description="Mã định danh cá nhân (12 số)")
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
    school_id: strawberry.Private[int]
    school: School | None = strawberry.field(default=NOT_LOADED)
    current_class: SchoolClass | None = strawberry.field(
        default=NOT_LOADED, description="Lớp của năm học hiện tại"
    )
    guardians: list[GuardianLink] = strawberry.field(default=NOT_LOADED)
    enrolments: list[Enrolment] = strawberry.field(
        default=NOT_LOADED,
        description="Lịch sử học tập: lớp của từng năm học, cũ trước (ở các trường trong phạm "
        "vi của ứng dụng)",
    )

    @strawberry.field(
        description="Học bạ số của học sinh (mặc định năm học hiện tại; schoolYear để xem năm khác)"
    )
    async def transcripts(
        self,
        info: Info,
        filter: Annotated["TranscriptFilter", strawberry.lazy(_TRANSCRIPTS)] | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Annotated["Transcript", strawberry.lazy(_TRANSCRIPTS)]]:
        from hub.schema.transcripts import Transcript  # it builds on this module's types

        return await paginate_children(
            info,
            parent=self.id,
            edge=paging.TRANSCRIPTS_OF_STUDENT,
            statement=lambda: queries.transcripts(filter),
            node_type=Transcript,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        ctx.audit.read("student", row.id)
        verified_at = row.identity_verified_at
        return cls(
            id=row.id,
            personal_id=_shown(ctx, Kind.PERSONAL_ID, row.personal_id),
            ministry_code=row.moet_code,
            full_name=row.full_name,
            birth_date=row.birth_date,
            sex=row.sex,
            ethnicity=row.ethnicity,
            identity_status=row.identity_status,
            identity_verified_at=None if verified_at is None else as_utc(verified_at),
            needs_review=row.needs_review,
            school_id=row.school_id,
        )


@strawberry.type(description="Phân công: vai trò của cán bộ tại một trường")
class StaffAssignment:
    role: StaffRoleType
    school_id: strawberry.Private[int]
    school: School | None = strawberry.field(default=NOT_LOADED)

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        return cls(role=row.role, school_id=row.school_id)


def _has_valid(rows: Sequence[Any], ctx: Context) -> bool:
    return any(is_valid_at(r, ctx.now) for r in rows)


@strawberry.type(description="Cán bộ, giáo viên, nhân viên")
class Staff(HubNode):
    model = models.Staff
    id: relay.NodeID[int]
    personal_id: str | None = strawberry.field(description="Mã định danh cá nhân (12 số)")
    full_name: str
    birth_date: date | None
    sex: SexType | None
    email: str | None
    phone: str | None
    assignments: list[StaffAssignment] = strawberry.field(default=NOT_LOADED)
    certificates: list["Certificate"] = strawberry.field(
        default=NOT_LOADED, description="Chứng thư số cá nhân, mới nhất trước"
    )
    has_valid_certificate: bool = strawberry.field(
        default=NOT_LOADED, description="Có ít nhất một chứng thư số đang hiệu lực"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        ctx.audit.read("staff", row.id)
        return cls(
            id=row.id,
            personal_id=_shown(ctx, Kind.PERSONAL_ID, row.personal_id),
            full_name=row.full_name,
            birth_date=row.birth_date,
            sex=row.sex,
            email=_shown(ctx, Kind.EMAIL, row.email),
            phone=_shown(ctx, Kind.PHONE, row.phone),
        )


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
    is_valid: bool = strawberry.field(description="Đang hiệu lực vào lúc truy vấn")
    expires_soon: bool = strawberry.field(description="Hết hạn trong vòng 30 ngày tới")
    staff_id: strawberry.Private[int | None]
    school_id: strawberry.Private[int | None]
    staff: Staff | None = strawberry.field(default=NOT_LOADED, description="Chủ sở hữu: cán bộ")
    school: School | None = strawberry.field(
        default=NOT_LOADED, description="Trường sở hữu khi là con dấu"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> Self:
        if row.staff_id is not None:
            ctx.audit.read("staff", row.staff_id, "certificate")
        now = ctx.now
        return cls(
            id=row.id,
            provider=row.provider,
            credential_id=row.credential_id,
            serial_number=row.serial_number,
            subject=_shown(ctx, Kind.CERTIFICATE_SUBJECT, row.subject_dn),
            issuer=row.issuer_dn,
            valid_from=as_utc(row.valid_from),
            valid_to=as_utc(row.valid_to),
            status=row.status,
            is_valid=is_valid_at(row, now),
            expires_soon=expires_soon(row.valid_to, now),
            staff_id=row.staff_id,
            school_id=row.school_id,
        )


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
    models.Guardian: Guardian,
}


def to_one(model: type, key: str, build: Any, field: str, attribute: str | None = None) -> Relation:
    return Relation(
        field=field,
        attribute=attribute or key.removesuffix("_id"),
        loader=lambda loaders: loaders.by_id(model),
        key=lambda node: getattr(node, key),
        build=build,
    )


RELATIONS.update({
    School: [
        to_one(models.District, "district_id", District.from_row, "district"),
        Relation(
            field="sealCertificates", attribute="seal_certificates",
            loader=lambda loaders: loaders.seals_of_school, key=lambda node: node.id,
            build=Certificate.from_row, many=True, scope="certificates:read",
        ),
    ],
    SchoolClass: [
        to_one(models.School, "school_id", School.from_row, "school"),
        to_one(models.Staff, "homeroom_teacher_id", Staff.from_row, "homeroomTeacher",
             "homeroom_teacher"),
    ],
    Student: [
        to_one(models.School, "school_id", School.from_row, "school"),
        Relation(
            field="currentClass", attribute="current_class",
            loader=lambda loaders: loaders.current_class_of_student, key=lambda node: node.id,
            build=SchoolClass.from_row,
        ),
        Relation(
            field="guardians", attribute="guardians",
            loader=lambda loaders: loaders.guardian_links_of_student, key=lambda node: node.id,
            build=GuardianLink.from_row, many=True,
        ),
        Relation(
            field="enrolments", attribute="enrolments",
            loader=lambda loaders: loaders.enrolments_of_student, key=lambda node: node.id,
            build=Enrolment.from_row, many=True,
        ),
    ],
    Enrolment: [
        to_one(models.SchoolClass, "class_id", SchoolClass.from_row, "schoolClass",
               "school_class"),
    ],
    StaffAssignment: [to_one(models.School, "school_id", School.from_row, "school")],
    Staff: [
        Relation(
            field="assignments", attribute="assignments",
            loader=lambda loaders: loaders.assignments_of_staff, key=lambda node: node.id,
            build=StaffAssignment.from_row, many=True,
        ),
        Relation(
            field="certificates", attribute="certificates",
            loader=lambda loaders: loaders.certificates_of_staff, key=lambda node: node.id,
            build=Certificate.from_row, many=True, scope="certificates:read",
        ),
        Relation(
            field="hasValidCertificate", attribute="has_valid_certificate",
            loader=lambda loaders: loaders.certificates_of_staff, key=lambda node: node.id,
            summary=_has_valid, scope="certificates:read",
        ),
    ],
    Certificate: [
        to_one(models.Staff, "staff_id", Staff.from_row, "staff"),
        to_one(models.School, "school_id", School.from_row, "school"),
    ],
})  # fmt: skip
