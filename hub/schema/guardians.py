"""Verifying guardian ↔ pupil links in the GraphQL schema (issue 11): at the population
database (``verifyGuardianLinks``) or by a school officer in person (``recordGuardianCheck``).
A vendor's ``verified`` flag on ``upsertGuardianLinks`` is ignored."""

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from hub.domain.guardians import LinkCheck
from hub.resolvers import guardians
from hub.resolvers.context import context_of
from hub.schema.nodes import GuardianLink
from hub.schema.writes import ProblemCode

# GraphQL enum registered on the domain class; alias as in hub/schema/enums.py.
GuardianLinkCheckResultType = LinkCheck
strawberry.enum(
    LinkCheck,
    name="GuardianLinkCheckResult",
    description="Kết quả xác thực một liên kết cha mẹ/người giám hộ ↔ học sinh",
)

Papers = Annotated[
    str,
    strawberry.argument(
        description="Giấy tờ đã xem (ví dụ: giấy khai sinh số …, quyết định cử người giám hộ số …)"
    ),
]


@strawberry.type(description="Kết quả xác thực một liên kết cha mẹ/người giám hộ ↔ học sinh")
class GuardianLinkCheck:
    student_id: relay.GlobalID
    link: GuardianLink
    result: GuardianLinkCheckResultType
    code: ProblemCode | None = strawberry.field(
        description="Khi chưa xác thực: mã lý do ổn định (GUARDIAN_NOT_VERIFIED, "
        "POPULATION_UNAVAILABLE: sẽ hỏi lại sau)"
    )
    message: str | None = strawberry.field(description="Lý do, tiếng Việt")


@strawberry.type
class GuardianMutations:
    @strawberry.mutation(
        description="Xác thực quan hệ cha mẹ/người giám hộ của các học sinh (tối đa 1.000) với "
        "CSDL quốc gia về dân cư; liên kết đã xác thực giữ nguyên, liên kết CSDL dân cư không "
        "trả lời được (thiếu mã định danh, quan hệ khác) cần kiểm tra trực tiếp tại trường"
    )
    async def verify_guardian_links(
        self, info: Info, student_ids: list[relay.GlobalID]
    ) -> list[GuardianLinkCheck]:
        ctx = context_of(info)
        checked = await guardians.verify_links(ctx, student_ids=student_ids)
        rows = await guardians.link_rows(ctx, [c.student_id for c in checked])
        answers = []
        for check in checked:
            found = check.problem
            answers.append(
                GuardianLinkCheck(
                    student_id=relay.GlobalID("Student", str(check.student_id)),
                    link=GuardianLink.from_row(rows[check.link_id], ctx),
                    result=check.outcome,
                    code=None if found is None else found.code,
                    message=None if found is None else found.message,
                )
            )
        return answers

    @strawberry.mutation(
        description="Ghi nhận đã kiểm tra trực tiếp giấy tờ chứng minh quan hệ (giấy khai sinh, "
        "quyết định cử người giám hộ…): chỉ hiệu trưởng, phó hiệu trưởng hoặc GVCN của học "
        "sinh, đăng nhập qua ứng dụng; không lưu ảnh giấy tờ"
    )
    async def record_guardian_check(
        self,
        info: Info,
        link_id: relay.GlobalID,
        papers: Papers,
        note: str | None = None,
    ) -> GuardianLink:
        ctx = context_of(info)
        link_key, student_key = await guardians.record_check(
            ctx, link_id=link_id, papers=papers, note=note
        )
        rows = await guardians.link_rows(ctx, [student_key])
        return GuardianLink.from_row(rows[link_key], ctx)
