"""The province's records as queries: any node by ID, the caller, and the paged lists."""

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.types import Info

from hub.db import models
from hub.domain import personal_id as personal_ids
from hub.domain.problems import Code, HubError
from hub.resolvers import queries
from hub.resolvers.context import context_of
from hub.resolvers.loaders import columns_of
from hub.schema.filters import (
    CertificateFilter,
    ClassFilter,
    SchoolFilter,
    StaffFilter,
    StudentFilter,
)
from hub.schema.me import Person, person_field
from hub.schema.nodes import (
    Certificate,
    District,
    School,
    SchoolClass,
    SchoolYear,
    Staff,
    Student,
    Subject,
)
from hub.schema.pagination import Before, Connection, First, Last, lookup, paginate
from hub.schema.transcripts import Transcript, TranscriptFilter


@strawberry.type(description="Ứng dụng đang gọi API")
class Me:
    client_id: str
    scopes: list[str]
    org_level: str
    school_count: int | None = strawberry.field(description="null: toàn Sở")

    @strawberry.field(
        description="Người mà ứng dụng đang thay mặt (mã truy cập gắn với người dùng, hoặc "
        "phiên đăng nhập); ứng dụng tự hoạt động nhận lỗi SESSION_REQUIRED"
    )
    def person(self, info: Info) -> Person:
        return person_field(info)


@strawberry.type
class RecordQueries:
    node: relay.Node | None = relay.node(description="Bản ghi bất kỳ theo ID toàn cục")

    @strawberry.field(description="Ứng dụng đang gọi: phạm vi và quyền")
    def me(self, info: Info) -> Me:
        caller = context_of(info).caller
        return Me(
            client_id=caller.client_id,
            scopes=sorted(caller.scopes),
            org_level=caller.org_level.value,
            school_count=None if caller.school_ids is None else len(caller.school_ids),
        )

    @strawberry.field(description="Phòng GDĐT")
    async def districts(
        self,
        info: Info,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[District]:
        return await paginate(
            info,
            model=models.District,
            statement=select(models.District),
            build=District.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Trường học")
    async def schools(
        self,
        info: Info,
        filter: SchoolFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[School]:
        return await paginate(
            info,
            model=models.School,
            statement=queries.schools(filter),
            build=School.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Lớp học")
    async def classes(
        self,
        info: Info,
        filter: ClassFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[SchoolClass]:
        return await paginate(
            info,
            model=models.SchoolClass,
            statement=queries.classes(filter),
            build=SchoolClass.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Học sinh")
    async def students(
        self,
        info: Info,
        filter: StudentFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Student]:
        return await paginate(
            info,
            model=models.Student,
            statement=queries.students(filter, context_of(info).reader.dialect),
            build=Student.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Cán bộ, giáo viên, nhân viên")
    async def staff(
        self,
        info: Info,
        filter: StaffFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Staff]:
        return await paginate(
            info,
            model=models.Staff,
            statement=queries.staff(filter, context_of(info).reader.dialect),
            build=Staff.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Chứng thư số")
    async def certificates(
        self,
        info: Info,
        filter: CertificateFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Certificate]:
        return await paginate(
            info,
            model=models.SigningCertificate,
            statement=queries.certificates(filter),
            build=Certificate.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Học bạ số")
    async def transcripts(
        self,
        info: Info,
        filter: TranscriptFilter | None = None,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Transcript]:
        page = await paginate(
            info,
            model=models.Transcript,
            statement=queries.transcripts(filter),
            build=Transcript.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        first_page = after is None and before is None
        if not page.edges and first_page and context_of(info).caller.reads_under_consent:
            # An admission service sees a transcript only under a consent: told so, the
            # same whether the pupil exists or not.
            raise HubError(Code.CONSENT_REQUIRED)
        return page

    @strawberry.field(
        description="Học sinh theo mã định danh cá nhân (12 số); null nếu không có trong phạm vi "
        "của ứng dụng. Mã định danh trong kết quả vẫn che như mọi lần đọc"
    )
    async def student_by_personal_id(self, info: Info, personal_id: str) -> Student | None:
        if not personal_ids.is_well_formed(personal_id):
            raise HubError(
                Code.INVALID_ARGUMENT,
                detail="personalId phải là mã định danh cá nhân 12 chữ số",
                details_en={"detail": "personalId must be a 12-digit personal ID"},
            )
        return await lookup(
            info,
            model=models.Student,
            statement=select(models.Student).where(models.Student.personal_id == personal_id),
            build=Student.from_row,
        )

    @strawberry.field(
        description="Học bạ theo mã tài liệu in trong mã QR (documentId); null nếu không có "
        "trong phạm vi của ứng dụng"
    )
    async def transcript_by_document_id(self, info: Info, document_id: str) -> Transcript | None:
        found = await lookup(
            info,
            model=models.Transcript,
            statement=select(models.Transcript).where(models.Transcript.document_id == document_id),
            build=Transcript.from_row,
        )
        if found is None and context_of(info).caller.reads_under_consent:
            raise HubError(Code.CONSENT_REQUIRED)  # as the transcripts list tells it
        return found

    @strawberry.field(
        description="Trường theo mã trường của Bộ GDĐT; null nếu không có trong phạm vi của "
        "ứng dụng"
    )
    async def school_by_code(self, info: Info, moet_code: str) -> School | None:
        return await lookup(
            info,
            model=models.School,
            statement=select(models.School).where(models.School.moet_code == moet_code),
            build=School.from_row,
        )

    @strawberry.field(description="Năm học")
    async def school_years(self, info: Info) -> list[SchoolYear]:
        ctx = context_of(info)
        ctx.caller  # noqa: B018  (any authenticated client)
        rows = await ctx.reader.rows(
            select(*columns_of(models.SchoolYear)).order_by(models.SchoolYear.starts_on)
        )
        return [SchoolYear.from_row(row) for row in rows]

    @strawberry.field(description="Danh mục môn học")
    async def subjects(self, info: Info) -> list[Subject]:
        ctx = context_of(info)
        ctx.caller  # noqa: B018  (any authenticated client)
        rows = await ctx.reader.rows(
            select(*columns_of(models.Subject)).order_by(models.Subject.code)
        )
        return [Subject(code=r.code, name=r.name, comment_only=r.comment_only) for r in rows]
