"""The transcript lifecycle: one state machine, in one place (RULES.md §4).

draft → ready (scores locked) → signed by the homeroom teacher → signed by the
principal → sealed with the school's organisation certificate → published to
the national transcript store. A draft may be regenerated freely; a ready
transcript may be reopened until the first signature; from the first
signature on it is immutable, and a change is a correction: a new version,
with a reason, signed again in the same order.
"""

from enum import StrEnum

from hub.domain.problems import Code, HubError
from hub.domain.signers import SIGNING_ORDER, SignerRole


class TranscriptState(StrEnum):
    DRAFT = "DRAFT"  # bản nháp: may be regenerated from the gradebook
    READY = "READY"  # đã khoá điểm, chờ ký
    SIGNED_BY_HOMEROOM = "SIGNED_BY_HOMEROOM"  # GVCN đã ký
    SIGNED_BY_PRINCIPAL = "SIGNED_BY_PRINCIPAL"  # Hiệu trưởng đã ký
    SEALED = "SEALED"  # đã ký số của trường (đóng dấu)
    PUBLISHED = "PUBLISHED"  # đã gửi kho học bạ số quốc gia

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def signed(self) -> bool:
        """Whether any signature is on it, which makes it immutable."""
        return self not in (TranscriptState.DRAFT, TranscriptState.READY)


_LABELS = {
    TranscriptState.DRAFT: "Bản nháp",
    TranscriptState.READY: "Đã khoá điểm, chờ ký",
    TranscriptState.SIGNED_BY_HOMEROOM: "Giáo viên chủ nhiệm đã ký",
    TranscriptState.SIGNED_BY_PRINCIPAL: "Hiệu trưởng đã ký",
    TranscriptState.SEALED: "Đã ký số của nhà trường",
    TranscriptState.PUBLISHED: "Đã gửi kho học bạ số",
}

#: After each signature, in SIGNING_ORDER, the transcript is in this state.
_AFTER_SIGNATURE = dict(
    zip(
        SIGNING_ORDER,
        (
            TranscriptState.SIGNED_BY_HOMEROOM,
            TranscriptState.SIGNED_BY_PRINCIPAL,
            TranscriptState.SEALED,
        ),
        strict=True,
    )
)
_BEFORE_SIGNATURE = {
    role: TranscriptState.READY if i == 0 else _AFTER_SIGNATURE[SIGNING_ORDER[i - 1]]
    for i, role in enumerate(SIGNING_ORDER)
}


def _refuse(state: TranscriptState, action: str) -> HubError:
    return HubError(Code.TRANSCRIPT_STATE, state=state.label, action=action)


def may_regenerate(state: TranscriptState) -> bool:
    """Only a draft is rebuilt from the gradebook; anything later is locked."""
    return state is TranscriptState.DRAFT


def mark_ready(
    state: TranscriptState, *, has_personal_id: bool, has_results: bool
) -> TranscriptState:
    """Lock the scores: what makes a transcript ready to be signed (RULES.md §4).

    Only a draft is locked. A transcript is keyed by the student's personal ID, and
    one without it cannot be signed (PERSONAL_ID_MISSING). A transcript records the
    year's results; one that holds no result at all — an empty gradebook — would
    have the three signatures certify nothing, so it is refused (TRANSCRIPT_EMPTY)
    until the vendor app has written the gradebook and the draft is rebuilt. What
    counts as a result is :attr:`hub.documents.content.TranscriptContent.has_results`.
    """
    if state is not TranscriptState.DRAFT:
        raise _refuse(state, "khoá điểm")
    if not has_personal_id:
        raise HubError(Code.PERSONAL_ID_MISSING)
    if not has_results:
        raise HubError(Code.TRANSCRIPT_EMPTY)
    return TranscriptState.READY


def reopen(state: TranscriptState) -> TranscriptState:
    """Unlock a ready transcript for more changes; impossible once signed."""
    if state is not TranscriptState.READY:
        raise _refuse(state, "mở khoá để sửa")
    return TranscriptState.DRAFT


def next_signer(state: TranscriptState) -> SignerRole | None:
    """Whose signature the transcript waits for, if any."""
    for role, before in _BEFORE_SIGNATURE.items():
        if before is state:
            return role
    return None


def awaits_signature(state: TranscriptState, role: SignerRole) -> bool:
    """Whether it is ``role``'s turn to sign (the order homeroom → principal → seal)."""
    return _BEFORE_SIGNATURE[role] is state


def state_awaiting(role: SignerRole) -> TranscriptState:
    """The state in which a transcript waits for ``role``'s signature."""
    return _BEFORE_SIGNATURE[role]


def require_turn(state: TranscriptState, role: SignerRole) -> None:
    """Refuse (SIGNING_ORDER, naming whom it waits for) unless it is ``role``'s turn."""
    if not awaits_signature(state, role):
        expected = next_signer(state)
        raise HubError(
            Code.SIGNING_ORDER,
            role=role.label,
            expected=expected.label if expected else "không ai (không ở trạng thái chờ ký)",
        )


def signed_by(state: TranscriptState) -> tuple[SignerRole, ...]:
    """The signatures a transcript in ``state`` carries, in signing order (none unsigned)."""
    if state is TranscriptState.PUBLISHED:
        return SIGNING_ORDER
    for count, role in enumerate(SIGNING_ORDER, start=1):
        if _AFTER_SIGNATURE[role] is state:
            return SIGNING_ORDER[:count]
    return ()


def sign(state: TranscriptState, role: SignerRole) -> TranscriptState:
    """Record ``role``'s signature: only in the order homeroom → principal → seal."""
    require_turn(state, role)
    return _AFTER_SIGNATURE[role]


def may_publish(state: TranscriptState) -> bool:
    """Whether the national transcript store's receipt publishes it: only a sealed
    transcript (all three signatures on it); a published one stays as it is."""
    return state is TranscriptState.SEALED


def awaits_publication(state: TranscriptState, *, is_current: bool) -> bool:
    """Whether the department sends it to the national transcript store (RULES.md §4):
    the current version, once all three signatures are on it. A version a correction
    replaced is kept and verifiable, but the store receives the correction instead.

    SQL twin: :func:`hub.db.queries.awaits_publication`.
    """
    return is_current and may_publish(state)


def publish(state: TranscriptState) -> TranscriptState:
    """Sent to the national transcript store: only when all three signatures are on it."""
    if not may_publish(state):
        raise _refuse(state, "gửi kho học bạ số")
    return TranscriptState.PUBLISHED


def may_correct(state: TranscriptState) -> bool:
    """A correction (new version) replaces a signed transcript; an unsigned one is edited."""
    return state.signed
