"""Who signs (issue 11): the person a caller acts for, never a name a program gives."""

import pytest

from hub.auth.access import Caller
from hub.domain.enums import OrgLevel
from hub.domain.people import Person
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole
from hub.signing.service import signer_of

TEACHER = Person(personal_id="001185100000", full_name="Lê Thị Chủ Nhiệm")
APP = Caller("vendor", frozenset({"transcripts:sign"}), OrgLevel.SCHOOL, frozenset({1}))
FOR_TEACHER = Caller(
    "vendor", frozenset({"transcripts:sign"}), OrgLevel.SCHOOL, frozenset({1}), person=TEACHER
)


@pytest.mark.parametrize("role", [SignerRole.HOMEROOM_TEACHER, SignerRole.PRINCIPAL])
def test_a_person_bound_caller_signs_as_that_person_only(role: SignerRole) -> None:
    assert signer_of(FOR_TEACHER, role, None, apps_may_name_signers=False) == TEACHER.personal_id
    assert (
        signer_of(FOR_TEACHER, role, TEACHER.personal_id, apps_may_name_signers=True)
        == TEACHER.personal_id
    )
    with pytest.raises(HubError) as refused:
        signer_of(FOR_TEACHER, role, "001075100001", apps_may_name_signers=True)
    assert refused.value.problem.code is Code.SIGNER_NOT_CALLER


@pytest.mark.parametrize("role", [SignerRole.HOMEROOM_TEACHER, SignerRole.PRINCIPAL])
def test_a_program_on_its_own_may_not_name_a_human_signer_in_production(role: SignerRole) -> None:
    with pytest.raises(HubError) as refused:
        signer_of(APP, role, TEACHER.personal_id, apps_may_name_signers=False)
    assert refused.value.problem.code is Code.PERSON_REQUIRED
    assert signer_of(APP, role, TEACHER.personal_id, apps_may_name_signers=True) == (
        TEACHER.personal_id
    )


def test_the_school_seal_is_a_machine_signature() -> None:
    for caller in (APP, FOR_TEACHER):
        assert signer_of(caller, SignerRole.SCHOOL_SEAL, None, apps_may_name_signers=False) is None
