"""A deterministic, streaming generator of a Hà Nội-like province.

Nothing here touches a database: :func:`plan` decides the province's shape
(districts, schools, classes and their sizes, staff counts) and
:func:`generate` then yields one :data:`Chunk` of rows per school, so a
2.3-million-pupil province never has to be held in memory at once.

Design decisions, and why:

- **Primary keys are assigned here** (1..n per table, in generation order), so
  foreign keys are known without a round-trip and rows can be streamed with
  ``COPY``. The loader resets the id sequences afterwards.
- **Change versions are assigned here** too: every tracked row (staff, students,
  guardian links, signing certificates) takes the next value of one counter, in
  the order the rows are produced (per school: staff, students with their
  guardian links, certificates). The loader writes whole schools in foreign-key
  order, so versions rise with the load within every table.
- **Determinism.** The plan comes from ``Random(seed)``; each school's rows from
  a ``Random`` seeded with ``(seed, school id)``. Same seed (and same ``as_of``)
  → identical rows, whatever the size of the chunks the loader asks for.
- **Personal IDs are unique by construction**, not by luck: within each
  (province, birth year, sex) bucket the six-digit serial is a fixed
  permutation of a running counter, so 2.3 million pupils and 4 million
  parents never collide and never need a lookup.
- **Certificates are dated relative to** ``as_of`` (default: today) so the
  "expired" and "expiring within 30 days" cases stay true whenever the demo is
  seeded; everything else is fixed in the 2025-2026 school year.

Figures come from the source documents: Long Biên's 33 primary and 27
lower-secondary schools with ~38 pupils a class (002), the 2,913 schools,
~2.3 million pupils and 130,000 staff of Hà Nội and the signature coverage per
level and ownership (003).
"""

import random as _random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from hub.adapters.signing.providers import registered
from hub.domain.enums import (
    CertificateStatus,
    GuardianCheck,
    GuardianRelation,
    IdentityStatus,
    Ownership,
    RelationshipAnswer,
    SchoolLevel,
    Sex,
    SigningProvider,
    StaffRole,
)
from hub.domain.personal_id import PROVINCES, compose
from hub.domain.text import fold
from hub.domain.traits import TRAITS
from hub.seed import catalogue, gradebook, names

DEFAULT_SEED = 2025
PROVINCE_CODE = "001"  # Hà Nội in Circular 07/2016/TT-BCA; also the department's code
DEPARTMENT_NAME = "Sở Giáo dục và Đào tạo Hà Nội"
MAIL_DOMAIN = "hanoiedu.vn"  # the department's official-duty mailboxes (hòm thư công vụ)

#: (code, first day, last day, is_current); ids 1, 2 in this order.
SCHOOL_YEARS: tuple[tuple[str, date, date, bool], ...] = (
    ("2024-2025", date(2024, 9, 5), date(2025, 5, 31), False),
    ("2025-2026", date(2025, 9, 5), date(2026, 5, 31), True),
)
CURRENT_YEAR_ID = 2
CURRENT_YEAR_START = 2025  # a grade-g pupil of 2025-2026 was born in 2025 - 5 - g

#: The issuer seeded certificates name, by provider (its registry entry's ``seed_issuer``).
ISSUERS: dict[SigningProvider, str] = {
    entry.provider: entry.seed_issuer for entry in registered() if entry.seed_issuer
}

#: Share of a school's staff holding a valid personal certificate, from the
#: department's table of 31/12/2024 (003) and Long Biên's primary figure (002).
COVERAGE: dict[tuple[SchoolLevel, Ownership], float] = {
    (SchoolLevel.PRIMARY, Ownership.PUBLIC): 0.698,
    (SchoolLevel.LOWER_SECONDARY, Ownership.PUBLIC): 0.753,
    (SchoolLevel.UPPER_SECONDARY, Ownership.PUBLIC): 0.613,
    (SchoolLevel.CONTINUING, Ownership.PUBLIC): 0.256,
    (SchoolLevel.PRIMARY, Ownership.PRIVATE): 0.25,
    (SchoolLevel.LOWER_SECONDARY, Ownership.PRIVATE): 0.254,
    (SchoolLevel.UPPER_SECONDARY, Ownership.PRIVATE): 0.239,
}
DIRECTLY_MANAGED_COVERAGE = 0.418

GRADES: dict[SchoolLevel, range] = {
    SchoolLevel.PRIMARY: range(1, 6),
    SchoolLevel.LOWER_SECONDARY: range(6, 10),
    SchoolLevel.UPPER_SECONDARY: range(10, 13),
    SchoolLevel.CONTINUING: range(10, 13),  # GDTX centres teach the upper-secondary programme
}

Row = tuple[Any, ...]
#: One step's rows: table name → rows as tuples in :data:`TABLES` column order.
Chunk = dict[str, list[Row]]

#: Every table the seed fills, in foreign-key (load) order, with its columns.
TABLES: dict[str, tuple[str, ...]] = {
    "departments": ("id", "code", "name"),
    "districts": ("id", "department_id", "code", "name"),
    "schools": (
        "id",
        "department_id",
        "district_id",
        "moet_code",
        "name",
        "level",
        "ownership",
        "directly_managed",
    ),
    "school_years": ("id", "code", "starts_on", "ends_on", "is_current"),
    "subjects": ("id", "code", "name", "comment_only"),
    "subject_periods": ("subject_id", "grade", "periods_per_year"),
    "staff": (
        "id",
        "personal_id",
        "full_name",
        "search_name",
        "birth_date",
        "sex",
        "email",
        "phone",
        "needs_review",
        "change_version",
    ),
    "staff_assignments": ("id", "staff_id", "school_id", "role"),
    "classes": ("id", "school_id", "school_year_id", "name", "grade", "homeroom_teacher_id"),
    "students": (
        "id",
        "personal_id",
        "moet_code",
        "full_name",
        "search_name",
        "birth_date",
        "sex",
        "ethnicity",
        "school_id",
        "identity_status",
        "identity_verified_at",
        "needs_review",
        "change_version",
    ),
    "enrolments": ("id", "student_id", "class_id", "school_year_id"),
    "guardians": ("id", "personal_id", "full_name", "phone"),
    "guardian_links": (
        "id",
        "student_id",
        "guardian_id",
        "relation",
        "verified",
        "verified_by",
        "verified_at",
        "verification",
        "change_version",
    ),
    "signing_certificates": (
        "id",
        "staff_id",
        "school_id",
        "provider",
        "credential_id",
        "serial_number",
        "subject_dn",
        "issuer_dn",
        "valid_from",
        "valid_to",
        "status",
        "change_version",
    ),
} | gradebook.TABLES
#: Columns held as JSON (the PostgreSQL loader sends them as JSON text).
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "guardian_links": ("verification",)
} | gradebook.JSON_COLUMNS
TRACKED: tuple[str, ...] = ("staff", "students", "guardian_links", "signing_certificates")


class Size(StrEnum):
    """How big a province to generate."""

    SCHOOL = "school"  # one district, one school per level: a few hundred pupils
    DISTRICT = "district"  # Long Biên's 33 primary + 27 lower-secondary schools: ~60,000 pupils
    DEMO = "demo"  # `make demo`: 3 districts, 12 schools, ~3,000 pupils
    PROVINCE = "province"  # Hà Nội: 2,913 schools, ~2.3 million pupils, ~130,000 staff


#: Sizes seeded with a year's gradebook (hub/seed/gradebook.py). A district's would be
#: ~2 million assessment rows and the province's ~80 million (~30 a pupil): far more
#: than the people themselves, for nothing a benchmark of those sizes measures.
GRADEBOOK_SIZES = frozenset({Size.SCHOOL, Size.DEMO})


# ---------------------------------------------------------------------------------------------
# Places


@dataclass(frozen=True, slots=True)
class DistrictInfo:
    """A Hà Nội district-level unit: GSO code, kind, name, rough size, wards, high schools."""

    code: str
    kind: str  # quận / huyện / thị xã
    name: str
    weight: float  # population in 100,000s, to share schools out
    wards: tuple[str, ...]
    upper_schools: tuple[str, ...]  # real public THPT names, used first

    @property
    def office_name(self) -> str:
        """The district office (Phòng GDĐT) the row stands for."""
        return f"Phòng Giáo dục và Đào tạo {self.kind} {self.name}"


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (kept as prose: 600 wards read better that way)."""
    return tuple(text.split(", "))


def _district(
    code: str, kind: str, name: str, weight: float, wards: str, upper: str
) -> DistrictInfo:
    return DistrictInfo(code, kind, name, weight, _names(wards), _names(upper))


DISTRICTS: tuple[DistrictInfo, ...] = (
    _district(
        "001", "quận", "Ba Đình", 2.3,
        "Phúc Xá, Trúc Bạch, Vĩnh Phúc, Cống Vị, Liễu Giai, Nguyễn Trung Trực, Quán Thánh, "
        "Ngọc Hà, Điện Biên, Đội Cấn, Ngọc Khánh, Kim Mã, Giảng Võ, Thành Công",
        "Phan Đình Phùng, Phạm Hồng Thái, Nguyễn Trãi - Ba Đình",
    ),
    _district(
        "002", "quận", "Hoàn Kiếm", 1.4,
        "Phúc Tân, Đồng Xuân, Hàng Mã, Hàng Buồm, Hàng Đào, Hàng Bồ, Cửa Đông, Lý Thái Tổ, "
        "Hàng Bạc, Hàng Gai, Chương Dương, Hàng Trống, Cửa Nam, Hàng Bông, Tràng Tiền, Trần "
        "Hưng Đạo, Phan Chu Trinh, Hàng Bài",
        "Trần Phú - Hoàn Kiếm, Việt Đức",
    ),
    _district(
        "003", "quận", "Tây Hồ", 1.7,
        "Phú Thượng, Nhật Tân, Tứ Liên, Quảng An, Xuân La, Yên Phụ, Bưởi, Thụy Khuê",
        "Chu Văn An, Tây Hồ",
    ),
    _district(
        "004", "quận", "Long Biên", 3.3,
        "Ngọc Thụy, Gia Thụy, Ngọc Lâm, Thượng Thanh, Giang Biên, Đức Giang, Việt Hưng, Phúc "
        "Lợi, Bồ Đề, Long Biên, Thạch Bàn, Phúc Đồng, Cự Khối, Sài Đồng",
        "Nguyễn Gia Thiều, Lý Thường Kiệt, Thạch Bàn, Phúc Lợi",
    ),
    _district(
        "005", "quận", "Cầu Giấy", 3.0,
        "Nghĩa Đô, Nghĩa Tân, Mai Dịch, Dịch Vọng, Dịch Vọng Hậu, Quan Hoa, Yên Hòa, Trung "
        "Hòa",
        "Cầu Giấy, Yên Hòa",
    ),
    _district(
        "006", "quận", "Đống Đa", 3.7,
        "Cát Linh, Văn Miếu, Quốc Tử Giám, Láng Thượng, Ô Chợ Dừa, Văn Chương, Hàng Bột, Láng "
        "Hạ, Khâm Thiên, Thổ Quan, Nam Đồng, Trung Phụng, Quang Trung, Trung Liệt, Phương "
        "Liên, Thịnh Quang, Trung Tự, Kim Liên, Phương Mai, Ngã Tư Sở, Khương Thượng",
        "Kim Liên, Lê Quý Đôn - Đống Đa, Quang Trung - Đống Đa, Đống Đa",
    ),
    _district(
        "007", "quận", "Hai Bà Trưng", 3.0,
        "Nguyễn Du, Bạch Đằng, Phạm Đình Hổ, Lê Đại Hành, Đồng Nhân, Phố Huế, Đống Mác, Thanh "
        "Lương, Thanh Nhàn, Cầu Dền, Bách Khoa, Đồng Tâm, Vĩnh Tuy, Bạch Mai, Quỳnh Mai, "
        "Quỳnh Lôi, Minh Khai, Trương Định",
        "Thăng Long, Trần Nhân Tông, Đoàn Kết - Hai Bà Trưng",
    ),
    _district(
        "008", "quận", "Hoàng Mai", 5.1,
        "Thanh Trì, Vĩnh Hưng, Định Công, Mai Động, Tương Mai, Đại Kim, Tân Mai, Hoàng Văn "
        "Thụ, Giáp Bát, Lĩnh Nam, Thịnh Liệt, Trần Phú, Hoàng Liệt, Yên Sở",
        "Hoàng Văn Thụ, Trương Định, Việt Nam - Ba Lan",
    ),
    _district(
        "009", "quận", "Thanh Xuân", 2.9,
        "Nhân Chính, Thượng Đình, Khương Trung, Khương Mai, Thanh Xuân Trung, Phương Liệt, Hạ "
        "Đình, Khương Đình, Thanh Xuân Bắc, Thanh Xuân Nam, Kim Giang",
        "Nhân Chính, Trần Hưng Đạo - Thanh Xuân, Khương Đình, Khương Hạ",
    ),
    _district(
        "016", "huyện", "Sóc Sơn", 3.5,
        "Bắc Sơn, Minh Trí, Hồng Kỳ, Nam Sơn, Trung Giã, Tân Hưng, Minh Phú, Phù Linh, Bắc "
        "Phú, Tân Minh, Quang Tiến, Hiền Ninh, Tân Dân, Tiên Dược, Việt Long, Xuân Giang, Mai "
        "Đình, Đức Hòa, Thanh Xuân, Đông Xuân, Kim Lũ, Phú Cường, Phú Minh, Phù Lỗ, Xuân Thu",
        "Sóc Sơn, Đa Phúc, Trung Giã, Kim Anh, Minh Phú, Xuân Giang",
    ),
    _district(
        "017", "huyện", "Đông Anh", 4.1,
        "Xuân Nộn, Thụy Lâm, Bắc Hồng, Nguyên Khê, Nam Hồng, Tiên Dương, Vân Hà, Uy Nỗ, Vân "
        "Nội, Liên Hà, Việt Hùng, Kim Nỗ, Kim Chung, Dục Tú, Đại Mạch, Vĩnh Ngọc, Cổ Loa, Hải "
        "Bối, Xuân Canh, Võng La, Tầm Xá, Mai Lâm, Đông Hội",
        "Cổ Loa, Đông Anh, Liên Hà, Vân Nội, Bắc Thăng Long",
    ),
    _district(
        "018", "huyện", "Gia Lâm", 2.9,
        "Yên Viên, Trâu Quỳ, Yên Thường, Ninh Hiệp, Đình Xuyên, Dương Hà, Phù Đổng, Trung "
        "Mầu, Lệ Chi, Cổ Bi, Đặng Xá, Phú Thị, Kim Sơn, Dương Quang, Dương Xá, Đông Dư, Đa "
        "Tốn, Kiêu Kỵ, Bát Tràng, Kim Lan, Văn Đức",
        "Cao Bá Quát - Gia Lâm, Dương Xá, Nguyễn Văn Cừ, Yên Viên",
    ),
    _district(
        "019", "quận", "Nam Từ Liêm", 2.7,
        "Cầu Diễn, Xuân Phương, Phương Canh, Mỹ Đình 1, Mỹ Đình 2, Tây Mỗ, Mễ Trì, Phú Đô, "
        "Đại Mỗ, Trung Văn",
        "Xuân Phương, Mỹ Đình, Đại Mỗ, Trung Văn",
    ),
    _district(
        "020", "huyện", "Thanh Trì", 2.7,
        "Văn Điển, Tân Triều, Thanh Liệt, Tả Thanh Oai, Hữu Hòa, Tam Hiệp, Yên Mỹ, Vĩnh "
        "Quỳnh, Ngũ Hiệp, Duyên Hà, Ngọc Hồi, Vạn Phúc, Đại Áng, Liên Ninh, Đông Mỹ",
        "Ngọc Hồi, Ngô Thì Nhậm, Đông Mỹ, Nguyễn Quốc Trinh",
    ),
    _district(
        "021", "quận", "Bắc Từ Liêm", 3.4,
        "Thượng Cát, Liên Mạc, Đông Ngạc, Đức Thắng, Thụy Phương, Tây Tựu, Xuân Đỉnh, Xuân "
        "Tảo, Minh Khai, Cổ Nhuế 1, Cổ Nhuế 2, Phú Diễn, Phúc Diễn",
        "Nguyễn Thị Minh Khai, Xuân Đỉnh, Thượng Cát, Minh Khai",
    ),
    _district(
        "250", "huyện", "Mê Linh", 2.4,
        "Chi Đông, Đại Thịnh, Kim Hoa, Thạch Đà, Tiến Thắng, Tự Lập, Quang Minh, Thanh Lâm, "
        "Tam Đồng, Liên Mạc, Vạn Yên, Chu Phan, Tiến Thịnh, Mê Linh, Văn Khê, Hoàng Kim, Tiền "
        "Phong, Tráng Việt",
        "Mê Linh, Quang Minh, Tiền Phong, Tiến Thịnh, Tự Lập, Yên Lãng",
    ),
    _district(
        "268", "quận", "Hà Đông", 3.6,
        "Nguyễn Trãi, Mộ Lao, Văn Quán, Vạn Phúc, Yết Kiêu, Quang Trung, La Khê, Phú La, Phúc "
        "La, Hà Cầu, Yên Nghĩa, Kiến Hưng, Phú Lãm, Phú Lương, Dương Nội, Đồng Mai, Biên "
        "Giang",
        "Quang Trung - Hà Đông, Lê Quý Đôn - Hà Đông, Trần Hưng Đạo - Hà Đông, Lê Lợi - Hà "
        "Đông",
    ),
    _district(
        "269", "thị xã", "Sơn Tây", 1.5,
        "Lê Lợi, Phú Thịnh, Ngô Quyền, Quang Trung, Sơn Lộc, Xuân Khanh, Đường Lâm, Viên Sơn, "
        "Xuân Sơn, Trung Hưng, Thanh Mỹ, Trung Sơn Trầm, Kim Sơn, Sơn Đông, Cổ Đông",
        "Sơn Tây, Tùng Thiện, Xuân Khanh",
    ),
    _district(
        "271", "huyện", "Ba Vì", 2.8,
        "Tây Đằng, Phú Cường, Cổ Đô, Tản Hồng, Vạn Thắng, Châu Sơn, Phong Vân, Phú Đông, Phú "
        "Phương, Phú Châu, Thái Hòa, Đồng Thái, Phú Sơn, Minh Châu, Vật Lại, Chu Minh, Tòng "
        "Bạt, Cẩm Lĩnh, Sơn Đà, Đông Quang, Tiên Phong, Thụy An, Cam Thượng, Thuần Mỹ, Tản "
        "Lĩnh, Ba Trại, Minh Quang, Ba Vì, Vân Hòa, Yên Bài, Khánh Thượng",
        "Ba Vì, Ngô Quyền - Ba Vì, Quảng Oai, Bất Bạt, Minh Quang",
    ),
    _district(
        "272", "huyện", "Phúc Thọ", 1.9,
        "Vân Hà, Vân Phúc, Vân Nam, Xuân Đình, Sen Phương, Võng Xuyên, Thọ Lộc, Long Xuyên, "
        "Thượng Cốc, Hát Môn, Tích Giang, Thanh Đa, Trạch Mỹ Lộc, Phúc Hòa, Ngọc Tảo, Phụng "
        "Thượng, Tam Thuấn, Tam Hiệp, Hiệp Thuận, Liên Hiệp",
        "Phúc Thọ, Ngọc Tảo, Vân Cốc",
    ),
    _district(
        "273", "huyện", "Đan Phượng", 1.7,
        "Phùng, Trung Châu, Thọ An, Thọ Xuân, Hồng Hà, Liên Hồng, Liên Hà, Hạ Mỗ, Liên Trung, "
        "Phương Đình, Thượng Mỗ, Tân Hội, Tân Lập, Đan Phượng, Đồng Tháp, Song Phượng",
        "Đan Phượng, Hồng Thái, Tân Lập",
    ),
    _district(
        "274", "huyện", "Hoài Đức", 2.6,
        "Trạm Trôi, Đức Thượng, Minh Khai, Dương Liễu, Di Trạch, Đức Giang, Cát Quế, Kim "
        "Chung, Yên Sở, Sơn Đồng, Vân Canh, Đắc Sở, Lại Yên, Tiền Yên, Song Phương, An Khánh, "
        "An Thượng, Vân Côn, La Phù, Đông La",
        "Hoài Đức A, Hoài Đức B, Vạn Xuân - Hoài Đức, Hoài Đức C",
    ),
    _district(
        "275", "huyện", "Quốc Oai", 1.9,
        "Sài Sơn, Phượng Cách, Yên Sơn, Ngọc Liệp, Ngọc Mỹ, Liệp Tuyết, Thạch Thán, Đồng "
        "Quang, Phú Cát, Tuyết Nghĩa, Nghĩa Hương, Cộng Hòa, Tân Phú, Đại Thành, Phú Mãn, Cấn "
        "Hữu, Tân Hòa, Hòa Thạch, Đông Yên, Đông Xuân",
        "Quốc Oai, Minh Khai, Cao Bá Quát - Quốc Oai",
    ),
    _district(
        "276", "huyện", "Thạch Thất", 2.1,
        "Liên Quan, Đại Đồng, Cẩm Yên, Lại Thượng, Phú Kim, Hương Ngải, Canh Nậu, Kim Quan, "
        "Dị Nậu, Bình Yên, Chàng Sơn, Thạch Hòa, Cần Kiệm, Hữu Bằng, Phùng Xá, Tân Xã, Thạch "
        "Xá, Bình Phú, Hạ Bằng, Đồng Trúc, Tiến Xuân, Yên Bình, Yên Trung",
        "Thạch Thất, Phùng Khắc Khoan - Thạch Thất, Bắc Lương Sơn, Hai Bà Trưng - Thạch Thất",
    ),
    _district(
        "277", "huyện", "Chương Mỹ", 3.4,
        "Chúc Sơn, Xuân Mai, Phụng Châu, Tiên Phương, Đông Sơn, Đông Phương Yên, Phú Nghĩa, "
        "Trường Yên, Ngọc Hòa, Thủy Xuân Tiên, Thanh Bình, Trung Hòa, Đại Yên, Thụy Hương, "
        "Tốt Động, Lam Điền, Tân Tiến, Nam Phương Tiến, Hợp Đồng, Hoàng Văn Thụ, Hoàng Diệu, "
        "Hữu Văn, Quảng Bị, Mỹ Lương, Thượng Vực, Hồng Phong, Đồng Phú, Trần Phú, Văn Võ, "
        "Đồng Lạc, Hòa Chính, Phú Nam An",
        "Chương Mỹ A, Chương Mỹ B, Chúc Động, Xuân Mai",
    ),
    _district(
        "278", "huyện", "Thanh Oai", 2.1,
        "Kim Bài, Cự Khê, Bích Hòa, Mỹ Hưng, Cao Viên, Bình Minh, Tam Hưng, Thanh Cao, Thanh "
        "Thùy, Thanh Mai, Thanh Văn, Đỗ Động, Kim An, Kim Thư, Phương Trung, Tân Ước, Dân "
        "Hòa, Liên Châu, Cao Dương, Xuân Dương, Hồng Dương",
        "Thanh Oai A, Thanh Oai B, Nguyễn Du - Thanh Oai",
    ),
    _district(
        "279", "huyện", "Thường Tín", 2.5,
        "Ninh Sở, Nhị Khê, Duyên Thái, Khánh Hà, Hòa Bình, Văn Bình, Hiền Giang, Hồng Vân, "
        "Vân Tảo, Liên Phương, Văn Phú, Tự Nhiên, Tiền Phong, Hà Hồi, Thư Phú, Nguyễn Trãi, "
        "Quất Động, Chương Dương, Tân Minh, Lê Lợi, Thắng Lợi, Dũng Tiến, Thống Nhất, Nghiêm "
        "Xuyên, Tô Hiệu, Văn Tự, Vạn Điểm, Minh Cường",
        "Thường Tín, Tô Hiệu - Thường Tín, Vân Tảo, Lý Tử Tấn, Nguyễn Trãi - Thường Tín",
    ),
    _district(
        "280", "huyện", "Phú Xuyên", 2.0,
        "Phú Minh, Hồng Minh, Phượng Dực, Nam Tiến, Tri Trung, Đại Thắng, Phú Túc, Văn Hoàng, "
        "Hồng Thái, Hoàng Long, Quang Trung, Nam Phong, Nam Triều, Tân Dân, Sơn Hà, Chuyên "
        "Mỹ, Khai Thái, Phúc Tiến, Vân Từ, Tri Thủy, Đại Xuyên, Phú Yên, Bạch Hạ, Quang Lãng, "
        "Châu Can, Minh Tân",
        "Phú Xuyên A, Phú Xuyên B, Đồng Quan, Tân Dân",
    ),
    _district(
        "281", "huyện", "Ứng Hòa", 2.1,
        "Vân Đình, Viên An, Viên Nội, Hoa Sơn, Quảng Phú Cầu, Trường Thịnh, Cao Thành, Liên "
        "Bạt, Sơn Công, Đồng Tiến, Phương Tú, Trung Tú, Đồng Tân, Tảo Dương Văn, Vạn Thái, "
        "Minh Đức, Hòa Lâm, Hòa Xá, Trầm Lộng, Kim Đường, Hòa Nam, Hòa Phú, Đội Bình, Đại "
        "Hùng, Đông Lỗ, Phù Lưu, Đại Cường, Lưu Hoàng, Hồng Quang",
        "Ứng Hòa A, Ứng Hòa B, Trần Đăng Ninh, Lưu Hoàng, Đại Cường",
    ),
    _district(
        "282", "huyện", "Mỹ Đức", 2.0,
        "Đại Nghĩa, Đồng Tâm, Thượng Lâm, Tuy Lai, Phúc Lâm, Mỹ Thành, Bột Xuyên, An Mỹ, Hồng "
        "Sơn, Lê Thanh, Xuy Xá, Phùng Xá, Phù Lưu Tế, Đại Hưng, Vạn Kim, Đốc Tín, Hương Sơn, "
        "Hùng Tiến, An Tiến, Hợp Tiến, Hợp Thanh, An Phú",
        "Mỹ Đức A, Mỹ Đức B, Mỹ Đức C, Hợp Thanh",
    ),
)  # fmt: skip
DISTRICTS_BY_CODE = {district.code: district for district in DISTRICTS}

#: Names public schools take once a district's wards are used up.
NOTABLE_NAMES: tuple[str, ...] = _names(
    "Chu Văn An, Nguyễn Trãi, Lê Quý Đôn, Trần Phú, Lê Lợi, Ngô Quyền, Lý Thường Kiệt, Trần "
    "Hưng Đạo, Quang Trung, Lê Hồng Phong, Phan Huy Chú, Trưng Vương, Nguyễn Du, Lương Thế "
    "Vinh, Nguyễn Bỉnh Khiêm, Lê Văn Tám, Võ Thị Sáu, Nguyễn Văn Cừ, Trần Quốc Toản, Lý Tự "
    "Trọng, Hoàng Hoa Thám, Phan Chu Trinh, Phan Bội Châu, Tô Hiến Thành, Ngô Gia Tự, Nguyễn "
    "Thị Minh Khai, Bế Văn Đàn, Kim Đồng, Nguyễn Khuyến, Cao Bá Quát, Mạc Đĩnh Chi, Tô Vĩnh "
    "Diện, Nguyễn Viết Xuân, Đoàn Thị Điểm, Lê Ngọc Hân, Hai Bà Trưng, Lê Văn Thiêm, Ngô Sĩ "
    "Liên, Phùng Hưng, Lý Công Uẩn, Đinh Tiên Hoàng, Thăng Long, Ánh Sao, Hoa Sen, Sao Mai, "
    "Đoàn Kết, Chu Văn An B, Nguyễn Đình Thi, Tô Ngọc Vân, Nguyễn Siêu"
)
#: Brands private schools go by.
PRIVATE_NAMES: tuple[str, ...] = _names(
    "Đoàn Thị Điểm, Newton, Archimedes Academy, Vinschool, Olympia, Marie Curie, Lômônôxốp, "
    "Alfred Nobel, Ngôi Sao Hà Nội, FPT, Wellspring, Việt Úc Hà Nội, Nguyễn Siêu, Hà Nội "
    "Academy, Edison, Einstein, Pascal, Everest, Hanoi Adelaide, Tuệ Văn, Lý Thái Tổ, Văn "
    "Lang, Hồng Đức, Trí Đức, Ban Mai, Tài Năng Việt, Phenikaa, Greenfield, Sentia, Brendon, "
    "Đông Đô, Hoàng Gia, Đại Việt, Tinh Hoa, Thái Bình Dương, Đức Trí, Hermann Gmeiner, Hòa "
    "Bình La Trobe, Việt Nhật, Kinh Bắc, Hà Thành, Global Academy, Thực Nghiệm Khoa Học, Mầm "
    "Xanh, Nguyễn Bá Ngọc, Chu Văn An Hà Nội"
)
LEVEL_PREFIX: dict[SchoolLevel, str] = {
    SchoolLevel.PRIMARY: "Trường Tiểu học",
    SchoolLevel.LOWER_SECONDARY: "Trường THCS",
    SchoolLevel.UPPER_SECONDARY: "Trường THPT",
    SchoolLevel.CONTINUING: "Trung tâm GDNN-GDTX",
}

#: Schools the department manages directly (trực thuộc Sở): boarding, sports and
#: special-needs schools, ~335 staff in all (003).
DIRECTLY_MANAGED: tuple[tuple[str, SchoolLevel, str], ...] = (
    ("Trường Phổ thông cơ sở Nguyễn Đình Chiểu", SchoolLevel.LOWER_SECONDARY, "006"),
    ("Trường Phổ thông Dân tộc nội trú Hà Nội", SchoolLevel.UPPER_SECONDARY, "271"),
    ("Trường Phổ thông cơ sở Xã Đàn", SchoolLevel.LOWER_SECONDARY, "006"),
    ("Trường Phổ thông Năng khiếu Thể dục Thể thao Hà Nội", SchoolLevel.UPPER_SECONDARY, "019"),
    ("Trường Tiểu học Bình Minh", SchoolLevel.PRIMARY, "002"),
)


# ---------------------------------------------------------------------------------------------
# Presets


@dataclass(frozen=True, slots=True)
class Shape:
    """How big a kind of school is: classes per grade and pupils per class (inclusive)."""

    classes_per_grade: tuple[int, int]
    class_size: tuple[int, int]


@dataclass(frozen=True, slots=True)
class SchoolSpec:
    """One school to plan, before it has an id or a name."""

    district_code: str
    level: SchoolLevel
    ownership: Ownership = Ownership.PUBLIC
    directly_managed: bool = False
    name: str | None = None


#: Kinds of school, for shapes: (level, ownership) or "directly managed".
Kind = tuple[SchoolLevel, Ownership] | str
DM = "directly_managed"

_P, _L, _U, _C = (
    SchoolLevel.PRIMARY,
    SchoolLevel.LOWER_SECONDARY,
    SchoolLevel.UPPER_SECONDARY,
    SchoolLevel.CONTINUING,
)
_PUB, _PRI = Ownership.PUBLIC, Ownership.PRIVATE

#: Real-life shapes: Long Biên's primary classes average 38 pupils, lower-secondary
#: 40; Hà Nội's public high schools take 40–45 a class and 10–16 classes a grade.
PROVINCE_SHAPES: dict[Kind, Shape] = {
    (_P, _PUB): Shape((2, 8), (30, 40)),
    (_P, _PRI): Shape((1, 4), (22, 32)),
    (_L, _PUB): Shape((3, 7), (34, 44)),
    (_L, _PRI): Shape((1, 3), (25, 35)),
    (_U, _PUB): Shape((10, 16), (40, 46)),
    (_U, _PRI): Shape((3, 8), (30, 42)),
    (_C, _PUB): Shape((3, 6), (30, 42)),
    DM: Shape((1, 3), (20, 30)),
}
DISTRICT_SHAPES: dict[Kind, Shape] = PROVINCE_SHAPES | {
    (_P, _PUB): Shape((4, 7), (34, 40)),
    (_L, _PUB): Shape((5, 7), (36, 42)),
}
DEMO_SHAPES: dict[Kind, Shape] = {
    (_P, _PUB): Shape((1, 3), (32, 38)),
    (_P, _PRI): Shape((1, 1), (24, 30)),
    (_L, _PUB): Shape((1, 3), (35, 42)),
    (_L, _PRI): Shape((1, 1), (26, 32)),
    (_U, _PUB): Shape((1, 3), (40, 45)),
    (_U, _PRI): Shape((1, 1), (30, 36)),
    (_C, _PUB): Shape((1, 1), (30, 38)),
    DM: Shape((1, 1), (18, 24)),
}
SCHOOL_SHAPES: dict[Kind, Shape] = {
    kind: Shape((1, 1), shape.class_size) for kind, shape in DEMO_SHAPES.items()
}

#: Hà Nội's general-education schools by level and ownership (3 + 2,910 = 2,913 with the
#: directly managed ones). Preschools are left out: they keep no transcripts, so the
#: plan's 2,913 are all schools that do, sized to the city's ~2.3 million pupils.
PROVINCE_COUNTS: dict[tuple[SchoolLevel, Ownership], int] = {
    (_P, _PUB): 1262,
    (_P, _PRI): 190,
    (_L, _PUB): 1008,
    (_L, _PRI): 140,
    (_U, _PUB): 121,
    (_U, _PRI): 158,
}
CONTINUING_CENTRES = 29  # one per district but Hoàn Kiếm


def _share(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` with the largest-remainder method (deterministic)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _province_specs() -> list[SchoolSpec]:
    specs: list[SchoolSpec] = []
    weights = [d.weight for d in DISTRICTS]
    per_kind = {kind: _share(n, weights) for kind, n in PROVINCE_COUNTS.items()}
    for index, district in enumerate(DISTRICTS):
        for (level, ownership), counts in per_kind.items():
            specs += [SchoolSpec(district.code, level, ownership)] * counts[index]
        if district.code != "002":
            specs.append(SchoolSpec(district.code, _C))
        specs += [
            SchoolSpec(code, level, directly_managed=True, name=name)
            for name, level, code in DIRECTLY_MANAGED
            if code == district.code
        ]
    return specs


def _specs_and_shapes(size: Size) -> tuple[list[SchoolSpec], dict[Kind, Shape]]:
    if size is Size.SCHOOL:
        specs = [SchoolSpec("004", level) for level in (_P, _L, _U)]
        return specs, SCHOOL_SHAPES
    if size is Size.DISTRICT:
        specs = (
            [SchoolSpec("004", _P)] * 30
            + [SchoolSpec("004", _P, _PRI)] * 3
            + [SchoolSpec("004", _L)] * 25
            + [SchoolSpec("004", _L, _PRI)] * 2
        )
        return specs, DISTRICT_SHAPES
    if size is Size.DEMO:
        dm_name, dm_level, dm_district = DIRECTLY_MANAGED[0]
        specs = [
            SchoolSpec("001", _P),
            SchoolSpec("001", _L),
            SchoolSpec("001", _U),
            SchoolSpec("001", _L, _PRI),
            SchoolSpec("004", _P),
            SchoolSpec("004", _P),
            SchoolSpec("004", _L),
            SchoolSpec("004", _U),
            SchoolSpec("004", _P, _PRI),
            SchoolSpec("006", _P),
            SchoolSpec("006", _C),
            SchoolSpec(dm_district, dm_level, directly_managed=True, name=dm_name),
        ]
        return specs, DEMO_SHAPES
    return _province_specs(), PROVINCE_SHAPES


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True, slots=True)
class PlannedClass:
    name: str
    grade: int
    size: int


@dataclass(frozen=True, slots=True)
class PlannedSchool:
    """A school with its id, code, name and the shape of its current year."""

    id: int
    district_id: int
    district: DistrictInfo
    moet_code: str
    name: str
    level: SchoolLevel
    ownership: Ownership
    directly_managed: bool
    classes: tuple[PlannedClass, ...]
    staff_count: int

    @property
    def students(self) -> int:
        return sum(c.size for c in self.classes)

    @property
    def coverage(self) -> float:
        """Share of staff that should hold a valid personal certificate."""
        if self.directly_managed:
            return DIRECTLY_MANAGED_COVERAGE
        return COVERAGE[self.level, self.ownership]


@dataclass(frozen=True, slots=True)
class Plan:
    """The province's shape, decided before any person is generated."""

    size: Size
    seed: int
    as_of: date
    districts: tuple[tuple[int, DistrictInfo], ...]
    schools: tuple[PlannedSchool, ...]

    @property
    def students(self) -> int:
        return sum(s.students for s in self.schools)

    @property
    def staff(self) -> int:
        return sum(s.staff_count for s in self.schools)

    @property
    def gradebook(self) -> bool:
        """Whether the seed writes the current year's assessments (see GRADEBOOK_SIZES)."""
        return self.size in GRADEBOOK_SIZES

    def estimated_rows(self) -> dict[str, int]:
        """Rows per table, exact where the plan decides them, expected otherwise.

        For a progress bar: students, enrolments, classes, staff and
        assignments are exact; guardians and certificates are expectations.
        """
        students = self.students
        classes = sum(len(s.classes) for s in self.schools)
        guardians = round(students * _GUARDIANS_PER_STUDENT)
        certificates = len(self.schools) + round(
            sum(s.staff_count * (s.coverage + 0.07 * (1 - s.coverage)) for s in self.schools)
        )
        return {
            "departments": 1,
            "districts": len(self.districts),
            "schools": len(self.schools),
            "school_years": len(SCHOOL_YEARS),
            "subjects": len(catalogue.CATALOGUE),
            "subject_periods": sum(len(e.periods) for e in catalogue.CATALOGUE),
            "staff": self.staff,
            "staff_assignments": self.staff + classes,
            "classes": classes,
            "students": students,
            "enrolments": students,
            "guardians": guardians,
            "guardian_links": guardians,
            "signing_certificates": certificates,
        } | self._estimated_gradebook_rows()

    def _estimated_gradebook_rows(self) -> dict[str, int]:
        rows = dict.fromkeys(gradebook.TABLES, 0)
        if not self.gradebook:
            return rows
        for school in self.schools:
            for planned in school.classes:
                subjects = catalogue.subjects_for_grade(planned.grade)
                rows["student_year_records"] += planned.size
                if planned.grade in GRADES[SchoolLevel.PRIMARY]:
                    periods = len(gradebook.PRIMARY_PERIODS)
                    rows["primary_subject_assessments"] += planned.size * len(subjects) * periods
                    rows["primary_trait_assessments"] += planned.size * len(TRAITS) * periods
                else:
                    rows["subject_assessments"] += planned.size * len(subjects) * 2
        return rows


def _staff_count(rng: _random.Random, students: int, classes: int) -> int:
    """About one staff member per 17 pupils (130,000 for 2.3 million), never fewer
    than a principal, up to two vice principals, the office staff and a
    homeroom teacher per class."""
    count = max(round(students / 17 * rng.uniform(0.9, 1.12)), classes + 3)
    while count - 3 - _office_staff(count) < classes:
        count += 1
    return count


def _office_staff(staff_count: int) -> int:
    return max(1, round(staff_count * 0.08))


class _Namer:
    """Unique school names per district and level, the way Hà Nội names them:
    after the ward first, then after a notable person; a second school on the
    same name gets a letter ("Thạch Bàn B")."""

    def __init__(self) -> None:
        self._used: set[tuple[str, SchoolLevel, str]] = set()

    def reserve(self, district: DistrictInfo, level: SchoolLevel, name: str) -> None:
        self._used.add((district.code, level, name))

    def name(self, district: DistrictInfo, level: SchoolLevel, ownership: Ownership) -> str:
        prefix = LEVEL_PREFIX[level]
        if level is SchoolLevel.CONTINUING:
            return f"{prefix} {district.kind} {district.name}"
        rotation = DISTRICTS.index(district) * 7
        if ownership is Ownership.PRIVATE:
            pool = (
                PRIVATE_NAMES[rotation % len(PRIVATE_NAMES) :]
                + PRIVATE_NAMES[: rotation % len(PRIVATE_NAMES)]
            )
        else:
            notable = (
                NOTABLE_NAMES[rotation % len(NOTABLE_NAMES) :]
                + NOTABLE_NAMES[: rotation % len(NOTABLE_NAMES)]
            )
            wards = district.wards
            if level is SchoolLevel.LOWER_SECONDARY:  # not every school after the same ward
                wards = wards[1:] + wards[:1]
            local = district.upper_schools if level is SchoolLevel.UPPER_SECONDARY else wards
            pool = local + notable
        for suffix in ("", " B", " C", " D", " E", " F", " G", " H"):
            for base in pool:
                candidate = f"{prefix} {base}{suffix}"
                key = (district.code, level, candidate)
                if key not in self._used:
                    self._used.add(key)
                    return candidate
        raise RuntimeError(f"ran out of school names in {district.name}")  # pragma: no cover


def plan(
    size: Size | str = Size.DEMO, *, seed: int = DEFAULT_SEED, as_of: date | None = None
) -> Plan:
    """Decide districts, schools, classes and staff counts for ``size``."""
    size = Size(size)
    rng = _random.Random(f"hub-seed-plan/{seed}")
    specs, shapes = _specs_and_shapes(size)
    district_codes = sorted({spec.district_code for spec in specs})
    district_ids = {code: index + 1 for index, code in enumerate(district_codes)}
    specs.sort(key=lambda spec: district_codes.index(spec.district_code))  # stable

    namer = _Namer()
    for spec in specs:
        if spec.name:
            namer.reserve(DISTRICTS_BY_CODE[spec.district_code], spec.level, spec.name)
    serials: dict[str, int] = {}
    schools: list[PlannedSchool] = []
    for school_id, spec in enumerate(specs, start=1):
        district = DISTRICTS_BY_CODE[spec.district_code]
        shape = shapes[DM if spec.directly_managed else (spec.level, spec.ownership)]
        classes: list[PlannedClass] = []
        for grade in GRADES[spec.level]:
            for index in range(1, rng.randint(*shape.classes_per_grade) + 1):
                classes.append(
                    PlannedClass(f"{grade}A{index}", grade, rng.randint(*shape.class_size))
                )
        serials[district.code] = serials.get(district.code, 0) + 1
        schools.append(
            PlannedSchool(
                id=school_id,
                district_id=district_ids[district.code],
                district=district,
                moet_code=f"01{district.code}{serials[district.code]:04d}",
                name=spec.name or namer.name(district, spec.level, spec.ownership),
                level=spec.level,
                ownership=spec.ownership,
                directly_managed=spec.directly_managed,
                classes=tuple(classes),
                staff_count=_staff_count(rng, sum(c.size for c in classes), len(classes)),
            )
        )
    return Plan(
        size=size,
        seed=seed,
        as_of=as_of or datetime.now(UTC).date(),
        districts=tuple((district_ids[code], DISTRICTS_BY_CODE[code]) for code in district_codes),
        schools=tuple(schools),
    )


# ---------------------------------------------------------------------------------------------
# People


_GUARDIANS_PER_STUDENT = 0.72 * 2 + 0.28 * 1
_OTHER_PROVINCES = tuple(code for code in PROVINCES if code != PROVINCE_CODE)
_PHONE_PREFIXES = _names(  # Viettel, VinaPhone, MobiFone, Vietnamobile
    "086, 096, 097, 098, 032, 033, 034, 035, 036, 037, 038, 039, 081, 082, 083, 084, 085, "
    "088, 091, 094, 070, 076, 077, 078, 079, 089, 090, 093, 056, 058, 059"
)
_FEMALE_STAFF_SHARE = {_P: 0.86, _L: 0.74, _U: 0.66, _C: 0.6}
_VERIFIED_FROM = datetime(2023, 10, 1, tzinfo=UTC)
_VERIFIED_SPAN = int((datetime(2025, 9, 30, tzinfo=UTC) - _VERIFIED_FROM).total_seconds())
#: A guardian link is verified by the population database alone in the seed (issue 11:
#: never by a vendor's flag), as if the demo's population database had answered on the
#: day the school year's records were checked. One shared record: rows only reference it.
_GUARDIANS_CHECKED_AT = datetime(2025, 9, 15, 8, tzinfo=UTC)
_GUARDIAN_VERIFIED = (
    GuardianCheck.POPULATION.value,
    _GUARDIANS_CHECKED_AT,
    {"answer": RelationshipAnswer.MATCHED.value, "at": _GUARDIANS_CHECKED_AT.isoformat()},
)
_GUARDIAN_UNVERIFIED: tuple[str | None, datetime | None, dict[str, str]] = (None, None, {})
_SERIAL_STRIDE = 738_539  # coprime with 10**6: n ↦ n·stride mod 10**6 is a permutation
_CERT_STRIDE = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd: a permutation of 128-bit numbers


class _Sequences:
    """Running primary keys, change versions and personal-ID serials across schools."""

    def __init__(self, seed: int) -> None:
        self.ids = dict.fromkeys(TABLES, 0)
        self.version = 0
        self._serials: dict[tuple[str, int, Sex], int] = {}
        offsets = _random.Random(f"hub-seed-ids/{seed}")
        self._serial_offset = offsets.randrange(1_000_000)
        self._cert_offset = offsets.getrandbits(128)
        self._certs = 0

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def personal_id(self, province: str, birth_year: int, sex: Sex) -> str:
        """A personal ID no other person of the seed has (see module docstring)."""
        key = (province, birth_year, sex)
        n = self._serials.get(key, 0)
        if n >= 1_000_000:  # pragma: no cover - 1,000,000 people of one year, sex, province
            raise OverflowError(f"personal-ID serials exhausted for {key}")
        self._serials[key] = n + 1
        bucket = int(province) * 104_729 + birth_year * 7_919 + (sex is Sex.FEMALE) * 500_009
        serial = (n * _SERIAL_STRIDE + self._serial_offset + bucket) % 1_000_000
        return compose(province, birth_year, sex, serial)

    def certificate_serial(self) -> str:
        self._certs += 1
        return f"{(self._certs * _CERT_STRIDE + self._cert_offset) % (1 << 128):032X}"


class _DateTable:
    """Every day of a year as ``date`` objects, built once (cheaper than arithmetic per row)."""

    def __init__(self) -> None:
        self._years: dict[int, list[date]] = {}

    def pick(self, year: int, random: Callable[[], float]) -> date:
        days = self._years.get(year)
        if days is None:
            first = date(year, 1, 1)
            days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
            self._years[year] = days
        return days[int(random() * len(days))]


_DATES = _DateTable()


def _phone(random: Callable[[], float]) -> str:
    """A mobile number, 10 digits: a carrier prefix and seven random digits."""
    prefix = _PHONE_PREFIXES[int(random() * len(_PHONE_PREFIXES))]
    return f"{prefix}{int(random() * 10_000_000):07d}"


def _province(random: Callable[[], float], home_share: float) -> str:
    if random() < home_share:
        return PROVINCE_CODE
    return _OTHER_PROVINCES[int(random() * len(_OTHER_PROVINCES))]


def _credential_id(rng: _random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def reference_chunk(p: Plan) -> Chunk:
    """The department, districts, schools, school years and the subject catalogue."""
    subjects: list[Row] = []
    periods: list[Row] = []
    ids = catalogue.subject_ids()
    for entry in catalogue.CATALOGUE:
        subject_id = ids[entry.code]
        subjects.append((subject_id, entry.code, entry.name, entry.comment_only))
        periods += [(subject_id, grade, entry.periods[grade]) for grade in entry.grades()]
    return {
        "departments": [(1, PROVINCE_CODE, DEPARTMENT_NAME)],
        "districts": [(i, 1, d.code, d.office_name) for i, d in p.districts],
        "schools": [
            (
                s.id,
                1,
                s.district_id,
                s.moet_code,
                s.name,
                s.level.value,
                s.ownership.value,
                s.directly_managed,
            )
            for s in p.schools
        ],
        "school_years": [
            (i, code, start, end, current)
            for i, (code, start, end, current) in enumerate(SCHOOL_YEARS, start=1)
        ],
        "subjects": subjects,
        "subject_periods": periods,
    }


@dataclass(frozen=True, slots=True)
class _StaffMember:
    id: int
    personal_id: str
    full_name: str
    role: StaffRole


_PER_SCHOOL = frozenset(
    (
        "staff",
        "staff_assignments",
        "classes",
        "students",
        "enrolments",
        "guardians",
        "guardian_links",
        "signing_certificates",
        *gradebook.TABLES,
    )
)


class _SchoolGenerator:
    """Generates one school's people and certificates, continuing the sequences."""

    def __init__(self, p: Plan, seq: _Sequences) -> None:
        self.plan = p
        self.seq = seq
        self.as_of = datetime(p.as_of.year, p.as_of.month, p.as_of.day, tzinfo=UTC)
        self.demo_name_pending = True
        self.gradebook = (
            gradebook.GradebookWriter(CURRENT_YEAR_ID, seq.next_id) if p.gradebook else None
        )

    def chunk(self, school: PlannedSchool) -> Chunk:
        rng = _random.Random(f"hub-seed/{self.plan.seed}/{school.id}")
        out: Chunk = {table: [] for table in TABLES if table in _PER_SCHOOL}
        staff = self._staff(rng, school, out)
        self._classes_and_students(rng, school, staff, out)
        self._certificates(rng, school, staff, out)
        if self.gradebook is not None:
            self._gradebook(school, out)
        return out

    def _gradebook(self, school: PlannedSchool, out: Chunk) -> None:
        """The year's assessments of the school's pupils, from a Random of their own."""
        rng = _random.Random(f"hub-seed-gradebook/{self.plan.seed}/{school.id}")
        grades = {row[0]: row[4] for row in out["classes"]}
        assert self.gradebook is not None
        for _, student_id, class_id, _ in out["enrolments"]:
            self.gradebook.pupil(rng, student_id, grades[class_id], out)

    # -- staff ----------------------------------------------------------------------------

    def _staff(self, rng: _random.Random, school: PlannedSchool, out: Chunk) -> list[_StaffMember]:
        seq, random = self.seq, rng.random
        n = school.staff_count
        vices = 1 if school.students < 600 else 2
        office = _office_staff(n)
        female_share = _FEMALE_STAFF_SHARE[school.level]
        members: list[_StaffMember] = []
        rows, assignments = out["staff"], out["staff_assignments"]
        for index in range(n):
            if index == 0:
                role, age = StaffRole.PRINCIPAL, rng.randint(40, 58)
            elif index <= vices:
                role, age = StaffRole.VICE_PRINCIPAL, rng.randint(35, 56)
            elif index <= vices + office:
                role, age = StaffRole.STAFF, rng.randint(23, 58)
            else:
                role, age = StaffRole.TEACHER, rng.randint(23, 60)
            sex = Sex.FEMALE if random() < female_share else Sex.MALE
            year = CURRENT_YEAR_START - age
            personal_id = seq.personal_id(_province(random, 0.85), year, sex)
            full, search = names.full_name(random, sex, adult=True)
            staff_id = seq.next_id("staff")
            parts = search.split()
            email = f"{parts[-1]}{''.join(p[0] for p in parts[:-1])}{staff_id}@{MAIL_DOMAIN}"
            rows.append(
                (
                    staff_id,
                    personal_id,
                    full,
                    search,
                    _DATES.pick(year, random),
                    sex.value,
                    email,
                    _phone(random),
                    False,
                    seq.next_version(),
                )
            )
            assignments.append((seq.next_id("staff_assignments"), staff_id, school.id, role.value))
            members.append(_StaffMember(staff_id, personal_id, full, role))
        return members

    # -- classes, students, guardians --------------------------------------------------------

    def _classes_and_students(
        self,
        rng: _random.Random,
        school: PlannedSchool,
        staff: list[_StaffMember],
        out: Chunk,
    ) -> None:
        seq, random = self.seq, rng.random
        next_id, next_version = seq.next_id, seq.next_version
        teachers = [m for m in staff if m.role is StaffRole.TEACHER]
        classes, students = out["classes"], out["students"]
        enrolments, guardians, links = out["enrolments"], out["guardians"], out["guardian_links"]
        assignments = out["staff_assignments"]
        pick_family = names.FAMILY_NAMES.pick
        pick_ethnicity = names.ETHNICITIES.pick
        verified, unverified = IdentityStatus.VERIFIED.value, IdentityStatus.UNVERIFIED.value
        mismatch, unknown = IdentityStatus.MISMATCH.value, IdentityStatus.UNKNOWN.value
        father, mother = GuardianRelation.FATHER.value, GuardianRelation.MOTHER.value
        other = GuardianRelation.GUARDIAN.value
        male, female = Sex.MALE.value, Sex.FEMALE.value
        pupil_number = 0
        for index, planned in enumerate(school.classes):
            homeroom = teachers[index]
            assignments.append(
                (next_id("staff_assignments"), homeroom.id, school.id, StaffRole.HOMEROOM.value)
            )
            class_id = next_id("classes")
            classes.append(
                (class_id, school.id, CURRENT_YEAR_ID, planned.name, planned.grade, homeroom.id)
            )
            base_year = CURRENT_YEAR_START - 5 - planned.grade
            for _ in range(planned.size):
                pupil_number += 1
                sex = Sex.MALE if random() < 0.52 else Sex.FEMALE
                year = base_year - 1 if random() < 0.03 else base_year  # late start or retained
                family = pick_family(random)
                full, search = names.full_name(random, sex, adult=False, family=family)
                if self.demo_name_pending and sex is Sex.MALE:
                    self.demo_name_pending = False
                    family = names.FAMILY_NAMES_BY_TEXT["Nguyễn"]
                    full, search = names.DEMO_STUDENT_NAME, fold(names.DEMO_STUDENT_NAME)
                r = random()
                if r < 0.01:  # no personal ID yet: cannot be signed (studentsWithoutPersonalId)
                    personal_id, status, checked_at, review = None, unverified, None, False
                else:
                    personal_id = seq.personal_id(_province(random, 0.97), year, sex)
                    review = False
                    if r < 0.925:
                        status = verified
                    elif r < 0.975:
                        status = unverified
                    elif r < 0.993:
                        status, review = mismatch, True
                    else:
                        status = unknown
                    checked_at = (
                        None
                        if status == unverified
                        else _VERIFIED_FROM + timedelta(seconds=int(random() * _VERIFIED_SPAN))
                    )
                student_id = next_id("students")
                students.append(
                    (
                        student_id,
                        personal_id,
                        f"{school.moet_code}{pupil_number:05d}",
                        full,
                        search,
                        _DATES.pick(year, random),
                        male if sex is Sex.MALE else female,
                        pick_ethnicity(random),
                        school.id,
                        status,
                        checked_at,
                        review,
                        next_version(),
                    )
                )
                enrolments.append((next_id("enrolments"), student_id, class_id, CURRENT_YEAR_ID))

                r = random()
                kin: tuple[tuple[str, Sex], ...]
                if r < 0.72:
                    kin = ((father, Sex.MALE), (mother, Sex.FEMALE))
                elif r < 0.87:
                    kin = ((mother, Sex.FEMALE),)
                elif r < 0.97:
                    kin = ((father, Sex.MALE),)
                else:
                    kin = ((other, Sex.FEMALE if random() < 0.6 else Sex.MALE),)
                for relation, guardian_sex in kin:
                    if relation == other:
                        guardian_year = 1970 + int(random() * 11)
                    else:
                        guardian_year = min(1995, max(1970, year - 22 - int(random() * 17)))
                    g_full, _ = names.full_name(
                        random,
                        guardian_sex,
                        adult=True,
                        family=family if relation == father else None,
                    )
                    g_id = (
                        seq.personal_id(_province(random, 0.85), guardian_year, guardian_sex)
                        if random() < 0.97
                        else None
                    )
                    phone = _phone(random) if random() < 0.99 else None
                    guardian_id = next_id("guardians")
                    guardians.append((guardian_id, g_id, g_full, phone))
                    checked = g_id is not None and random() < 0.92
                    links.append(
                        (
                            next_id("guardian_links"),
                            student_id,
                            guardian_id,
                            relation,
                            checked,
                            *(_GUARDIAN_VERIFIED if checked else _GUARDIAN_UNVERIFIED),
                            next_version(),
                        )
                    )

    # -- certificates -----------------------------------------------------------------------

    def _certificates(
        self,
        rng: _random.Random,
        school: PlannedSchool,
        staff: list[_StaffMember],
        out: Chunk,
    ) -> None:
        rows = out["signing_certificates"]
        seq, as_of, random = self.seq, self.as_of, rng.random
        if school.ownership is Ownership.PUBLIC:
            provider = SigningProvider.BCY
        elif school.level is SchoolLevel.PRIMARY:  # Viettel serves primary schools (002)
            provider = SigningProvider.MYSIGN
        elif school.level is SchoolLevel.LOWER_SECONDARY:  # VNPT lower-secondary ones
            provider = SigningProvider.SMARTCA
        else:
            provider = rng.choice((SigningProvider.SMARTCA, SigningProvider.MYSIGN))
        issuer = ISSUERS[provider]
        lifetime = timedelta(
            days=365 * (3 if provider is SigningProvider.BCY else rng.choice((1, 2, 3)))
        )
        share = min(1.0, max(0.0, school.coverage + rng.uniform(-0.06, 0.06)))
        holders = max(1, round(share * len(staff)))
        # The principal always holds one: every transcript of the school waits for them.
        chosen = {0} | set(rng.sample(range(1, len(staff)), min(holders, len(staff)) - 1))

        def add(
            member: _StaffMember,
            valid_from: datetime,
            valid_to: datetime,
            status: CertificateStatus,
        ) -> None:
            rows.append(
                (
                    seq.next_id("signing_certificates"),
                    member.id,
                    None,
                    provider.value,
                    _credential_id(rng),
                    seq.certificate_serial(),
                    f"CN={member.full_name}, UID=CCCD:{member.personal_id}, C=VN",
                    issuer,
                    valid_from,
                    valid_to,
                    status.value,
                    seq.next_version(),
                )
            )

        for index, member in enumerate(staff):
            seconds = timedelta(seconds=int(random() * 86_400))
            if index in chosen:
                if random() < 0.04:  # expiring within the next 30 days
                    valid_to = as_of + timedelta(days=1 + int(random() * 29)) + seconds
                else:
                    left = 31 + int(random() * (lifetime.days - 60))
                    valid_to = as_of + timedelta(days=left) + seconds
                add(member, valid_to - lifetime, valid_to, CertificateStatus.ACTIVE)
            else:
                r = random()
                if r < 0.05:  # expired and not renewed
                    valid_to = as_of - timedelta(days=1 + int(random() * 300)) + seconds
                    add(member, valid_to - lifetime, valid_to, CertificateStatus.ACTIVE)
                elif r < 0.07:  # revoked (lost phone, left the school, …)
                    valid_to = as_of + timedelta(days=31 + int(random() * 300)) + seconds
                    add(member, valid_to - lifetime, valid_to, CertificateStatus.REVOKED)

        # The school's seal: an organisation certificate on a hardware token at the school.
        seal_from = as_of - timedelta(days=60 + int(random() * 600))
        rows.append(
            (
                seq.next_id("signing_certificates"),
                None,
                school.id,
                SigningProvider.PKCS11.value,
                f"pkcs11:token=SEAL-{school.moet_code};object=seal",
                seq.certificate_serial(),
                f"CN={school.name}, L=Hà Nội, C=VN",
                issuer,
                seal_from,
                seal_from + timedelta(days=5 * 365),
                CertificateStatus.ACTIVE.value,
                seq.next_version(),
            )
        )


def chunks(p: Plan) -> Iterator[Chunk]:
    """The reference chunk, then one chunk per school, in id order."""
    yield reference_chunk(p)
    generator = _SchoolGenerator(p, _Sequences(p.seed))
    for school in p.schools:
        yield generator.chunk(school)


def generate(
    size: Size | str = Size.DEMO, *, seed: int = DEFAULT_SEED, as_of: date | None = None
) -> Iterator[Chunk]:
    """Plan ``size`` and stream its rows (see :func:`chunks`)."""
    return chunks(plan(size, seed=seed, as_of=as_of))


def table_rows(chunk_stream: Iterable[Chunk], table: str) -> Iterator[Row]:
    """Only ``table``'s rows of a chunk stream (tests and ad-hoc inspection)."""
    for chunk in chunk_stream:
        yield from chunk.get(table, ())


def as_dicts(table: str, rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Rows as column → value mappings, for ``insert(table)`` executemany."""
    columns = TABLES[table]
    return [dict(zip(columns, row, strict=True)) for row in rows]
