"""What goes wrong talking to a national system, as stable codes with Vietnamese messages.

Shared by the sector database, the transcript store and the population database
(:mod:`hub.adapters.population`): each is a far side the hub does not control, and
the sync job decides from the code alone whether to wait and send again
(:attr:`FarSideError.retryable`) or to stop and tell staff.
"""

from __future__ import annotations

from enum import StrEnum


class System(StrEnum):
    """The far sides of the national sync."""

    SECTOR_DATABASE = "SECTOR_DATABASE"
    TRANSCRIPT_STORE = "TRANSCRIPT_STORE"
    POPULATION_DATABASE = "POPULATION_DATABASE"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    System.SECTOR_DATABASE: "Cơ sở dữ liệu ngành giáo dục (csdl.moet.gov.vn)",
    System.TRANSCRIPT_STORE: "Kho học bạ số quốc gia",
    System.POPULATION_DATABASE: "Cơ sở dữ liệu quốc gia về dân cư",
}


class FarSideCode(StrEnum):
    UNAVAILABLE = "NATIONAL_SYSTEM_UNAVAILABLE"  # no connection, no answer in time
    FAILURE = "NATIONAL_SYSTEM_FAILURE"  # 5xx, 429 or an answer not understood
    REFUSED = "NATIONAL_SYSTEM_REFUSED"  # 4xx: the batch itself is wrong; resending won't help
    #: 401 naming a signature refusal: the department's transport signature was missing,
    #: wrong or made with a certificate the far side does not accept; resending won't help.
    SIGNATURE_REFUSED = "NATIONAL_SIGNATURE_REFUSED"


MESSAGES = {
    FarSideCode.UNAVAILABLE: (
        "Không kết nối được {system}; dữ liệu chưa gửi được sẽ được tự động gửi lại."
    ),
    FarSideCode.FAILURE: (
        "{system} báo lỗi nội bộ ({detail}); dữ liệu chưa gửi được sẽ được tự động gửi lại."
    ),
    FarSideCode.REFUSED: (
        "{system} từ chối cả lô dữ liệu ({detail}); cần bộ phận kỹ thuật của Sở kiểm tra "
        "cấu hình kết nối trước khi đồng bộ lại."
    ),
    FarSideCode.SIGNATURE_REFUSED: (
        "{system} từ chối chữ ký số của Sở trên lô dữ liệu ({detail}); cần kiểm tra chứng thư "
        "số tổ chức của Sở và cấu hình ký (HUB_NATIONAL_SIGNER_…) trước khi đồng bộ lại."
    ),
}


class FarSideError(Exception):
    """A national system could not take a request; ``detail`` says what the hub saw."""

    def __init__(self, code: FarSideCode, system: System, detail: str = "") -> None:
        self.code = code
        self.system = system
        self.detail = detail
        self.message = MESSAGES[code].format(system=system.label, detail=detail[:120])
        super().__init__(f"{code.value} {system.value}: {detail}")

    @property
    def retryable(self) -> bool:
        """Whether the same request, sent again later, may succeed."""
        return self.code not in (FarSideCode.REFUSED, FarSideCode.SIGNATURE_REFUSED)
