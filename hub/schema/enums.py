"""The domain's enums as GraphQL enums, registered once, for every schema module.

``strawberry.enum`` attaches the GraphQL definition to the domain enum and returns that
same class; the ``…Type`` names are plain aliases so that mypy accepts them as types.
"""

import strawberry

from hub.domain.enums import (
    CertificateStatus,
    GuardianCheck,
    GuardianRelation,
    IdentityStatus,
    Ownership,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)

SchoolLevelType = SchoolLevel
strawberry.enum(SchoolLevel, description="Cấp học")
OwnershipType = Ownership
strawberry.enum(Ownership, description="Loại hình: công lập / tư thục")
StaffRoleType = StaffRole
strawberry.enum(StaffRole, description="Vai trò tại trường")
SexType = Sex
strawberry.enum(Sex, description="Giới tính")
IdentityStatusType = IdentityStatus
strawberry.enum(IdentityStatus, description="Kết quả xác thực với CSDL quốc gia về dân cư")
GuardianRelationType = GuardianRelation
strawberry.enum(GuardianRelation, description="Quan hệ với học sinh")
GuardianCheckType = GuardianCheck
strawberry.enum(
    GuardianCheck,
    description="Cách quan hệ cha mẹ/người giám hộ được xác thực: CSDL dân cư hoặc kiểm tra trực "
    "tiếp tại trường (không bao giờ theo ứng dụng của nhà cung cấp)",
)
SigningProviderType = SigningProvider
strawberry.enum(SigningProvider, description="Nhà cung cấp ký số")
CertificateStatusType = CertificateStatus
strawberry.enum(CertificateStatus, description="Trạng thái chứng thư số")
