"""The signed-in person in the GraphQL schema (issue 11): ``me { person { … } }``, the
consent text, and the consent mutations.

``Me.person`` is the person a program acts for (a person-bound token, or the hub's own
pages): their roles as the records give them, their verified children, the consents
that concern them, and who read a child's record. A program acting on its own is told
SESSION_REQUIRED.
"""

from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.types import Info

from hub.consents.service import ConsentView
from hub.db import models
from hub.domain.certificates import as_utc
from hub.domain.consent import ConsentStatus, last_day, school_years_of
from hub.domain.people import Person as PersonRecord
from hub.domain.personal_data import Kind, mask_personal_id, present
from hub.resolvers import me
from hub.resolvers.context import Context, context_of
from hub.schema.enums import GuardianRelationType, StaffRoleType
from hub.schema.pagination import Before, Connection, First, Last, window_of

# GraphQL enum registered on the domain class; alias as in hub/schema/enums.py.
ConsentStatusType = ConsentStatus
strawberry.enum(ConsentStatus, name="ConsentStatus", description="Tình trạng của sự đồng ý")


def _student_id(student_id: int) -> relay.GlobalID:
    return relay.GlobalID("Student", str(student_id))


def _consent_id(consent_id: int) -> relay.GlobalID:
    return relay.GlobalID("Consent", str(consent_id))


@strawberry.type(description="Vai trò tại một trường")
class PersonSchoolRole:
    school_id: relay.GlobalID
    school_name: str
    role: StaffRoleType


@strawberry.type(description="Lớp chủ nhiệm (năm học hiện tại)")
class PersonHomeroomClass:
    class_id: relay.GlobalID
    class_name: str
    school_name: str


@strawberry.type(description="Vai trò của người đăng nhập, theo hồ sơ của ngành")
class PersonRoles:
    schools: list[PersonSchoolRole]
    homeroom_classes: list[PersonHomeroomClass]
    principal_of: list[relay.GlobalID] = strawberry.field(description="Trường làm hiệu trưởng")
    department_officer: bool = strawberry.field(description="Cán bộ Sở GDĐT")
    pupil: bool = strawberry.field(description="Là học sinh")


@strawberry.type(description="Học sinh mà người đăng nhập là cha mẹ/người giám hộ đã xác thực")
class PersonChild:
    student_id: relay.GlobalID
    full_name: str
    birth_date: date | None
    relation: GuardianRelationType


@strawberry.type(description="Sự đồng ý cho một đơn vị tuyển sinh đọc học bạ của học sinh")
class Consent:
    id: relay.GlobalID
    student_id: relay.GlobalID
    student_full_name: str
    recipient_client_id: str = strawberry.field(description="Mã ứng dụng của đơn vị nhận")
    recipient_name: str
    purpose: str
    school_years: list[str] = strawberry.field(description="Học bạ các năm học được đọc")
    valid_from: datetime
    valid_until: datetime = strawberry.field(description="Hết hiệu lực lúc (không kể)")
    last_day: date = strawberry.field(description="Ngày cuối cùng còn hiệu lực (giờ Việt Nam)")
    text_version: str = strawberry.field(description="Phiên bản nội dung đã hiển thị")
    given_by_personal_id: str = strawberry.field(description="Người đồng ý (4 số cuối)")
    given_by_me: bool
    given_at: datetime
    pupil_agreement_required: bool = strawberry.field(
        description="Học sinh (từ đủ 7 tuổi) cần tự xác nhận đồng ý"
    )
    pupil_agreed_at: datetime | None
    revoked_at: datetime | None
    revoked_by_personal_id: str | None = strawberry.field(description="Người rút lại (4 số cuối)")
    status: ConsentStatusType
    status_label: str
    receipt_json_url: str = strawberry.field(description="Biên nhận (JSON)")
    receipt_pdf_url: str = strawberry.field(description="Biên nhận (PDF, in được)")

    @classmethod
    def of(cls, shown: ConsentView, ctx: Context, person: PersonRecord) -> Self:
        found = shown.consent
        state = shown.status(ctx.now)
        receipt = f"{ctx.settings.issuer}/me/consents/{found.id}"
        return cls(
            id=_consent_id(found.id),
            student_id=_student_id(found.student_id),
            student_full_name=shown.student_name,
            recipient_client_id=found.recipient,
            recipient_name=shown.recipient_name,
            purpose=found.purpose,
            school_years=list(school_years_of(found)),
            valid_from=as_utc(found.valid_from),
            valid_until=as_utc(found.valid_until),
            last_day=last_day(found.valid_until),
            text_version=found.text_version,
            given_by_personal_id=mask_personal_id(found.given_by),
            given_by_me=found.given_by == person.personal_id,
            given_at=as_utc(found.created_at),
            pupil_agreement_required=shown.pupil_agreement_required(ctx.now),
            pupil_agreed_at=found.pupil_agreed_at and as_utc(found.pupil_agreed_at),
            revoked_at=found.revoked_at and as_utc(found.revoked_at),
            revoked_by_personal_id=found.revoked_by and mask_personal_id(found.revoked_by),
            status=state,
            status_label=state.label,
            receipt_json_url=f"{receipt}.json",
            receipt_pdf_url=f"{receipt}.pdf",
        )


@strawberry.type(description="Một lần hồ sơ của học sinh được đọc/ghi (nhật ký truy cập)")
class ChildRead:
    at: datetime
    action: str
    client_id: str = strawberry.field(description="Ứng dụng đã truy cập")
    program: str | None = strawberry.field(description="Tên ứng dụng")
    person_full_name: str | None = strawberry.field(
        description="Người dùng ứng dụng, nếu là cán bộ, giáo viên hoặc cán bộ Sở"
    )
    personal_id: str | None = strawberry.field(
        description="Mã định danh của người dùng ứng dụng (4 số cuối)"
    )
    purpose: str | None = strawberry.field(description="Mục đích khai báo")
    item: str | None = strawberry.field(
        description="Phần hồ sơ: record (hồ sơ), transcript (học bạ), document-pdf (tệp học bạ)…"
    )
    consent_id: relay.GlobalID | None = strawberry.field(
        description="Sự đồng ý mà đơn vị tuyển sinh đã dựa vào"
    )
    consent_purpose: str | None

    @classmethod
    def of(cls, read: me.ChildRead) -> Self:
        return cls(
            at=as_utc(read.at),
            action=read.action,
            client_id=read.client_id,
            program=read.program,
            person_full_name=read.person_name,
            personal_id=read.person and mask_personal_id(read.person),
            purpose=read.purpose,
            item=read.item,
            consent_id=None if read.consent_id is None else _consent_id(read.consent_id),
            consent_purpose=read.consent_purpose,
        )


@strawberry.type(description="Người đăng nhập (ứng dụng đang thay mặt người này)")
class Person:
    full_name: str
    personal_id: str = strawberry.field(description="Mã định danh cá nhân (4 số cuối)")
    roles: PersonRoles
    children: list[PersonChild]
    record: strawberry.Private[PersonRecord]

    @classmethod
    def of(cls, person: PersonRecord, ctx: Context) -> Self:
        return cls(
            full_name=person.full_name,
            personal_id=present(ctx.caller.scopes, Kind.PERSONAL_ID, person.personal_id),
            roles=PersonRoles(
                schools=[
                    PersonSchoolRole(
                        school_id=relay.GlobalID("School", str(r.school_id)),
                        school_name=r.school_name,
                        role=r.role,
                    )
                    for r in person.schools
                ],
                homeroom_classes=[
                    PersonHomeroomClass(
                        class_id=relay.GlobalID("SchoolClass", str(c.class_id)),
                        class_name=c.class_name,
                        school_name=c.school_name,
                    )
                    for c in person.homeroom_classes
                ],
                principal_of=[
                    relay.GlobalID("School", str(i)) for i in sorted(person.principal_of)
                ],
                department_officer=person.department_officer,
                pupil=person.student_id is not None,
            ),
            children=[
                PersonChild(
                    student_id=_student_id(child.student_id),
                    full_name=child.full_name,
                    birth_date=child.birth_date,
                    relation=child.relation,
                )
                for child in person.children
            ],
            record=person,
        )

    @strawberry.field(
        description="Các sự đồng ý do mình cho, về mình (học sinh) hoặc về con đã xác thực"
    )
    async def consents(self, info: Info) -> list[Consent]:
        ctx = context_of(info)
        return [Consent.of(shown, ctx, self.record) for shown in await me.consents_of(ctx)]

    # strawberry types its Connection for relay Nodes only; it pages an entry (no id) as well.
    @strawberry.field(
        description="Ai đã đọc hồ sơ của con (hoặc của chính mình, nếu là học sinh), mới nhất "
        "trước: ứng dụng, người dùng, mục đích, sự đồng ý. Chỉ cha mẹ/người giám hộ đã xác "
        "thực và chính học sinh xem được; người khác nhận danh sách rỗng"
    )
    async def child_reads(
        self,
        info: Info,
        student_id: relay.GlobalID,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ChildRead]:  # type: ignore[type-var]
        ctx = context_of(info)
        window = window_of(
            ctx, models.AccessLog, first=first, after=after, last=last, before=before
        )
        # Newest first: after a cursor come older reads (smaller ids), before it newer ones.
        found = await me.child_reads(
            ctx,
            student_id=student_id,
            first=window.size,
            before=window.after,
            newer_than=window.before,
            oldest_first=window.backward,
        )
        more, beyond = found.has_next, found.beyond
        has_next, has_previous = (beyond, more) if window.backward else (more, beyond)
        edges = [
            relay.Edge(cursor=to_base64("after", read.id), node=ChildRead.of(read))  # type: ignore[type-var]
            for read in found.reads
        ]

        async def count() -> int:
            return found.total

        return Connection(  # type: ignore[type-var]
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )


def person_field(info: Info) -> Person:
    """``Me.person``: the person the request acts for, or SESSION_REQUIRED."""
    ctx = context_of(info)
    return Person.of(me.person_of(ctx), ctx)


@strawberry.type(description="Nội dung đồng ý phải hiển thị trước khi đồng ý")
class ConsentText:
    version: str = strawberry.field(description="Gửi lại trong giveConsent(textVersion)")
    text: str


SchoolYears = Annotated[
    list[str], strawberry.argument(description="Các năm học, dạng 2025-2026 (ít nhất một)")
]
ValidUntil = Annotated[
    date, strawberry.argument(description="Ngày cuối còn hiệu lực (tối đa 1 năm kể từ hôm nay)")
]


@strawberry.type
class MeQueries:
    @strawberry.field(
        description="Nội dung đồng ý (tiếng Việt) cho các điều khoản này, đúng như phải hiển "
        "thị cho người đồng ý, và phiên bản của nó"
    )
    async def consent_text(
        self,
        info: Info,
        recipient_client_id: str,
        purpose: str,
        school_years: SchoolYears,
        valid_until: ValidUntil,
    ) -> ConsentText:
        shown = await me.consent_text(
            context_of(info),
            recipient_client_id=recipient_client_id,
            purpose=purpose,
            school_years=school_years,
            valid_until=valid_until,
        )
        return ConsentText(version=shown.version, text=shown.text)


def _consent(info: Info, shown: Any) -> Consent:
    ctx = context_of(info)
    return Consent.of(shown, ctx, me.person_of(ctx))


@strawberry.type
class MeMutations:
    @strawberry.mutation(
        description="Cha mẹ/người giám hộ đã xác thực (hoặc học sinh từ đủ 18 tuổi) đồng ý cho "
        "một đơn vị tuyển sinh đọc học bạ các năm học đã chọn; textVersion là phiên bản nội "
        "dung đã hiển thị (consentText). Học sinh từ đủ 7 tuổi cần tự xác nhận (agreeToConsent)"
    )
    async def give_consent(
        self,
        info: Info,
        student_id: relay.GlobalID,
        recipient_client_id: str,
        purpose: str,
        school_years: SchoolYears,
        valid_until: ValidUntil,
        text_version: str,
    ) -> Consent:
        shown = await me.give_consent(
            context_of(info),
            student_id=student_id,
            recipient_client_id=recipient_client_id,
            purpose=purpose,
            school_years=school_years,
            valid_until=valid_until,
            text_version=text_version,
        )
        return _consent(info, shown)

    @strawberry.mutation(
        description="Học sinh tự xác nhận đồng ý (đăng nhập bằng tài khoản của mình)"
    )
    async def agree_to_consent(self, info: Info, consent_id: relay.GlobalID) -> Consent:
        return _consent(info, await me.agree_to_consent(context_of(info), consent_id=consent_id))

    @strawberry.mutation(
        description="Rút lại sự đồng ý: có hiệu lực ngay. Người đã đồng ý, học sinh hoặc cha "
        "mẹ/người giám hộ đã xác thực của học sinh đều rút lại được"
    )
    async def revoke_consent(self, info: Info, consent_id: relay.GlobalID) -> Consent:
        return _consent(info, await me.revoke_consent(context_of(info), consent_id=consent_id))
