"""What a CSC credential asks for at credentials/authorize, in v1's and v2's words, and
which service authorization the adapter picks (hub.adapters.signing.csc.adapter)."""

import pytest

from hub.adapters.signing.base import SigningError
from hub.adapters.signing.csc import CscAccount, CscAdapter, OAuthClient
from hub.adapters.signing.csc.adapter import CredentialAuthorization, authorization_of
from hub.adapters.signing.csc.protocol import CredentialsInfoResponse, InfoResponse
from hub.domain.problems import Code

BASE = {"key": {"algo": ["1.2.840.113549.1.1.1"]}, "cert": {"certificates": []}}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"authMode": "implicit"}, CredentialAuthorization("implicit")),
        ({"authMode": "oauth2code"}, CredentialAuthorization("oauth2code")),
        ({"authMode": "explicit"}, CredentialAuthorization("explicit")),
        (
            {"authMode": "explicit", "PIN": {"presence": "true"}},
            CredentialAuthorization("explicit", pin="true"),
        ),
        (
            {"authMode": "explicit", "PIN": {"presence": "optional"}, "OTP": {"type": "online"}},
            CredentialAuthorization("explicit", pin="optional", otp="true", otp_online=True),
        ),
        (
            {"auth": {"mode": "explicit", "objects": [{"type": "Password", "id": "PIN"}]}},
            CredentialAuthorization("explicit", pin="true"),
        ),
        (
            {"auth": {"mode": "explicit", "objects": [{"type": "OTP", "id": "OTP"}]}},
            CredentialAuthorization("explicit", otp="true"),
        ),
        ({"auth": {"mode": "implicit"}}, CredentialAuthorization("implicit")),
        # A server that says nothing: the PIN if one is configured, as before authInfo.
        ({}, CredentialAuthorization("explicit", pin="optional")),
    ],
)
def test_authorization_of(answer: dict[str, object], expected: CredentialAuthorization) -> None:
    info = CredentialsInfoResponse.model_validate({**BASE, **answer})
    assert authorization_of(info) == expected


def info(*auth_types: str) -> InfoResponse:
    return InfoResponse(specs="1.0.4.0", name="x", authType=list(auth_types))


def adapter(**options: object) -> CscAdapter:
    return CscAdapter(base_url="https://csc.example/csc/v1", version="v1", **options)  # type: ignore[arg-type]


def test_without_configuration_the_first_offered_with_material() -> None:
    both = adapter(account=CscAccount("a", "b"), client=OAuthClient("c", "d"))
    assert both.choose_auth(info("basic", "oauth2client")) == "oauth2client"
    assert both.choose_auth(info("basic")) == "basic"
    assert adapter().choose_auth(info("external", "basic")) == "external"


def test_the_configured_choice_wins_or_nothing() -> None:
    chosen = adapter(auth="basic", account=CscAccount("a", "b"), client=OAuthClient("c", "d"))
    assert chosen.choose_auth(info("oauth2client", "basic")) == "basic"
    with pytest.raises(SigningError) as refused:
        chosen.choose_auth(info("oauth2client", "TLS"))
    assert refused.value.problem.code is Code.PROVIDER_AUTH_NOT_OFFERED


def test_a_configured_mode_needs_its_material() -> None:
    with pytest.raises(ValueError, match="oauth2client"):
        adapter(auth="oauth2client")
