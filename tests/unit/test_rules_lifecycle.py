"""The signing order, readiness and publishing have one home each (issue 10)."""

from dataclasses import fields, replace

import pytest

from hub.documents import samples
from hub.documents.content import PrimaryResults, SecondaryResults
from hub.domain import lifecycle
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, HubError
from hub.domain.signers import SIGNING_ORDER, SignerRole

S = TranscriptState


def _emptied(results):  # type: ignore[no-untyped-def]
    """The same results with nothing recorded: an empty gradebook."""
    if isinstance(results, SecondaryResults):
        subjects = tuple(
            replace(
                s, first_semester=None, second_semester=None, year=None, retest=None, final=None
            )
            for s in results.subjects
        )
    else:
        assert isinstance(results, PrimaryResults)
        subjects = tuple(replace(s, completion=None, test_score=None) for s in results.subjects)
    empty = {f.name: None for f in fields(results) if f.name not in ("subjects", "traits")}
    if isinstance(results, PrimaryResults):
        empty["traits"] = tuple(replace(t, level=None) for t in results.traits)
    return replace(results, subjects=subjects, **empty)


def test_a_transcript_without_results_is_refused_with_a_stable_code():
    with pytest.raises(HubError) as refused:
        lifecycle.mark_ready(S.DRAFT, has_personal_id=True, has_results=False)
    assert refused.value.problem.code is Code.TRANSCRIPT_EMPTY
    assert refused.value.problem.message_en


def test_a_missing_personal_id_is_named_before_missing_results():
    with pytest.raises(HubError) as refused:
        lifecycle.mark_ready(S.DRAFT, has_personal_id=False, has_results=False)
    assert refused.value.problem.code is Code.PERSONAL_ID_MISSING


def test_only_a_draft_is_marked_ready():
    with pytest.raises(HubError) as refused:
        lifecycle.mark_ready(S.READY, has_personal_id=True, has_results=True)
    assert refused.value.problem.code is Code.TRANSCRIPT_STATE


def test_what_counts_as_results():
    secondary, primary = samples.secondary(1), samples.primary(1)
    assert secondary.has_results and primary.has_results
    empty_secondary = replace(secondary, secondary=_emptied(secondary.secondary))
    empty_primary = replace(primary, primary=_emptied(primary.primary))
    assert not empty_secondary.has_results
    assert not empty_primary.has_results
    # One result is enough; absences or a comment alone are not a result.
    one = replace(
        empty_secondary,
        secondary=replace(
            empty_secondary.secondary,
            subjects=(
                replace(
                    empty_secondary.secondary.subjects[0],
                    first_semester=secondary.secondary.subjects[0].first_semester,
                ),
                *empty_secondary.secondary.subjects[1:],
            ),
        ),
    )
    assert one.has_results
    absences = replace(
        empty_secondary, secondary=replace(empty_secondary.secondary, half_days_absent=3)
    )
    assert not absences.has_results
    commented = replace(
        empty_primary,
        primary=replace(
            empty_primary.primary,
            subjects=tuple(replace(s, comment="Chăm chỉ") for s in empty_primary.primary.subjects),
        ),
    )
    assert not commented.has_results


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("role", list(SignerRole))
def test_the_turn_to_sign_is_decided_once(state, role):
    turn = lifecycle.awaits_signature(state, role)
    assert turn is (lifecycle.next_signer(state) is role)
    assert turn is (lifecycle.state_awaiting(role) is state)
    if turn:
        lifecycle.require_turn(state, role)
        assert lifecycle.signed_by(lifecycle.sign(state, role))[-1] is role
    else:
        with pytest.raises(HubError) as refused:
            lifecycle.require_turn(state, role)
        assert refused.value.problem.code is Code.SIGNING_ORDER


def test_the_signatures_a_state_carries_follow_the_order():
    assert lifecycle.signed_by(S.DRAFT) == lifecycle.signed_by(S.READY) == ()
    assert lifecycle.signed_by(S.SIGNED_BY_HOMEROOM) == SIGNING_ORDER[:1]
    assert lifecycle.signed_by(S.SIGNED_BY_PRINCIPAL) == SIGNING_ORDER[:2]
    assert lifecycle.signed_by(S.SEALED) == lifecycle.signed_by(S.PUBLISHED) == SIGNING_ORDER


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("is_current", [True, False])
def test_only_the_current_sealed_version_awaits_publication(state, is_current):
    assert lifecycle.awaits_publication(state, is_current=is_current) is (
        is_current and state is S.SEALED
    )
    assert lifecycle.may_publish(state) is (state is S.SEALED)
