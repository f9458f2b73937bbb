"""Who signs a transcript, and in which order (RULES.md §4)."""

from enum import StrEnum


class SignerRole(StrEnum):
    """Who signs a transcript, in signing order (RULES.md §4)."""

    HOMEROOM_TEACHER = "HOMEROOM_TEACHER"  # Giáo viên chủ nhiệm
    PRINCIPAL = "PRINCIPAL"  # Hiệu trưởng
    SCHOOL_SEAL = "SCHOOL_SEAL"  # Con dấu / chữ ký số của trường

    @property
    def label(self) -> str:
        return {
            "HOMEROOM_TEACHER": "Giáo viên chủ nhiệm",
            "PRINCIPAL": "Hiệu trưởng",
            "SCHOOL_SEAL": "Con dấu của trường",
        }[self.value]


#: The signing order: homeroom teacher → principal → school seal.
SIGNING_ORDER: tuple[SignerRole, ...] = (
    SignerRole.HOMEROOM_TEACHER,
    SignerRole.PRINCIPAL,
    SignerRole.SCHOOL_SEAL,
)
