"""When a bulk signing batch asks a provider for a chunk's answer (hub.jobs.signing)."""

from __future__ import annotations

import pytest

from hub.domain.signers import SignerRole
from hub.jobs.signing import FIRST_ASK_SECONDS, first_ask_delay, poll_delay


def test_the_seal_is_asked_at_once_its_token_signed_while_the_chunk_was_sent() -> None:
    assert first_ask_delay(SignerRole.SCHOOL_SEAL, poll_seconds=3.0) == 0.0


@pytest.mark.parametrize("role", [SignerRole.HOMEROOM_TEACHER, SignerRole.PRINCIPAL])
def test_a_person_is_first_asked_once_they_could_have_confirmed(role: SignerRole) -> None:
    assert first_ask_delay(role, poll_seconds=3.0) == FIRST_ASK_SECONDS > 0
    # never later than the asks that follow it
    assert first_ask_delay(role, poll_seconds=0.2) == 0.2


def test_later_asks_come_soon_at_first_then_every_poll_interval() -> None:
    assert [poll_delay(asks, poll_seconds=3.0) for asks in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
