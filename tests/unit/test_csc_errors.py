"""How a CSC server's 4xx answers become the hub's codes (hub.adapters.signing.csc.session)."""

import httpx
import pytest

from hub.adapters.signing.csc.session import signing_error
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

LOGIN = httpx.Request("POST", "https://csc.example/csc/v1/auth/login")


def answer(status: int, **body: str) -> httpx.Response:
    if body:
        return httpx.Response(status, json=body, request=LOGIN)
    return httpx.Response(status, text="Not Found", request=LOGIN)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_method_the_server_does_not_offer_is_a_protocol_failure(status: int) -> None:
    """Not bad credentials: e.g. auth/login on a server whose authType is external."""
    for login in (True, False):
        error = signing_error(SigningProvider.CSC, answer(status), login=login)
        assert error.problem.code is Code.PROVIDER_FAILURE, (status, login)
        assert f"HTTP {status}" in str(error.detail)


def test_refusals_at_login_are_the_hubs_credentials_or_an_unknown_user() -> None:
    refused = signing_error(SigningProvider.CSC, answer(401), login=True)
    assert refused.problem.code is Code.PROVIDER_BAD_CREDENTIALS
    spec = answer(400, error="invalid_request", error_description="Invalid userID")
    assert (
        signing_error(SigningProvider.CSC, spec, login=True).problem.code
        is Code.PROVIDER_USER_UNKNOWN
    )


def test_a_spec_error_body_on_404_keeps_its_meaning() -> None:
    """A server may answer 404 with the spec's body (an unknown credential)."""
    found = answer(404, error="invalid_request", error_description="Invalid parameter credentialID")
    assert signing_error(SigningProvider.CSC, found).problem.code is Code.CREDENTIAL_NOT_FOUND


def test_a_bare_404_of_a_listed_method_is_an_unknown_credential() -> None:
    """Servers without the spec's bodies say "no such credential" with a bare 404 to a
    method their ``info`` lists; for a method not listed it stays a protocol failure."""
    bare = answer(404)
    listed = signing_error(SigningProvider.CSC, bare, credential_id="c1", offered=True)
    assert listed.problem.code is Code.CREDENTIAL_NOT_FOUND
    unlisted = signing_error(SigningProvider.CSC, bare, credential_id="c1")
    assert unlisted.problem.code is Code.PROVIDER_FAILURE
    for status in (405, 501):
        offered = signing_error(
            SigningProvider.CSC, answer(status), credential_id="c1", offered=True
        )
        assert offered.problem.code is Code.PROVIDER_FAILURE
