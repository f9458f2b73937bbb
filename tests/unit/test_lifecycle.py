"""The transcript state machine (RULES.md §4)."""

import pytest

from hub.domain.lifecycle import (
    TranscriptState,
    mark_ready,
    may_correct,
    may_regenerate,
    next_signer,
    publish,
    reopen,
    sign,
)
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole

S = TranscriptState


def test_the_whole_way_from_draft_to_published():
    state = mark_ready(S.DRAFT, has_personal_id=True, has_results=True)
    assert state is S.READY and next_signer(state) is SignerRole.HOMEROOM_TEACHER
    state = sign(state, SignerRole.HOMEROOM_TEACHER)
    assert next_signer(state) is SignerRole.PRINCIPAL
    state = sign(state, SignerRole.PRINCIPAL)
    assert next_signer(state) is SignerRole.SCHOOL_SEAL
    state = sign(state, SignerRole.SCHOOL_SEAL)
    assert state is S.SEALED and next_signer(state) is None
    assert publish(state) is S.PUBLISHED


def test_ready_is_refused_without_a_personal_id():
    with pytest.raises(HubError) as refused:
        mark_ready(S.DRAFT, has_personal_id=False, has_results=True)
    assert refused.value.problem.code is Code.PERSONAL_ID_MISSING


@pytest.mark.parametrize(
    ("state", "role"),
    [
        (S.DRAFT, SignerRole.HOMEROOM_TEACHER),
        (S.READY, SignerRole.PRINCIPAL),
        (S.READY, SignerRole.SCHOOL_SEAL),
        (S.SIGNED_BY_HOMEROOM, SignerRole.HOMEROOM_TEACHER),
        (S.SIGNED_BY_HOMEROOM, SignerRole.SCHOOL_SEAL),
        (S.SIGNED_BY_PRINCIPAL, SignerRole.PRINCIPAL),
        (S.SEALED, SignerRole.SCHOOL_SEAL),
        (S.PUBLISHED, SignerRole.HOMEROOM_TEACHER),
    ],
)
def test_signatures_only_in_order(state, role):
    with pytest.raises(HubError) as refused:
        sign(state, role)
    assert refused.value.problem.code is Code.SIGNING_ORDER


@pytest.mark.parametrize("state", list(S))
def test_only_drafts_regenerate_and_only_signed_ones_need_corrections(state):
    assert may_regenerate(state) is (state is S.DRAFT)
    assert may_correct(state) is (state not in (S.DRAFT, S.READY))


@pytest.mark.parametrize("state", [s for s in S if s is not S.READY])
def test_only_a_ready_transcript_reopens(state):
    with pytest.raises(HubError) as refused:
        reopen(state)
    assert refused.value.problem.code is Code.TRANSCRIPT_STATE
    assert refused.value.problem.message.startswith("Học bạ đang ở trạng thái")


@pytest.mark.parametrize("state", [s for s in S if s is not S.SEALED])
def test_publishing_needs_all_three_signatures(state):
    with pytest.raises(HubError):
        publish(state)
