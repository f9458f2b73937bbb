"""The rules every identity adapter follows (:mod:`hub.adapters.identity.base`): how a
callback is read, whether it answers the pending sign-in, what it says, and how a call
to the provider fails."""

import httpx
import pytest

from hub.adapters.identity.base import (
    IdentityError,
    Pending,
    authorization_code,
    call,
    callback_parameters,
    query_parameters,
)
from hub.domain.problems import Code

PENDING = Pending(state="s1", redirect_uri="https://hub.example/auth/callback")


def test_the_raw_query_keeps_plus_and_decodes_percent() -> None:
    params = query_parameters("code=ab+cd%2Bef/g==&state=x%20y&state=z&empty")
    assert params == {"code": ["ab+cd+ef/g=="], "state": ["x y", "z"], "empty": [""]}


def test_a_callback_of_this_sign_in_gives_its_parameters() -> None:
    parameters = callback_parameters("code=a+b&state=s1&encrypt_key=k%2B", PENDING)
    assert parameters == {"code": "a+b", "state": "s1", "encrypt_key": "k+"}
    assert authorization_code(parameters) == "a+b"


@pytest.mark.parametrize("query", ["code=c", "code=c&state=s2", "code=c&state=s1&state=s1"])
def test_a_state_missing_repeated_or_other_is_login_expired(query: str) -> None:
    with pytest.raises(IdentityError) as caught:
        callback_parameters(query, PENDING)
    assert caught.value.code is Code.LOGIN_EXPIRED


def test_the_state_is_checked_before_anything_else() -> None:
    with pytest.raises(IdentityError) as caught:
        callback_parameters("error=access_denied&code=c&code=d", PENDING)
    assert caught.value.code is Code.LOGIN_EXPIRED


def test_a_repeated_parameter_is_an_invalid_answer() -> None:
    with pytest.raises(IdentityError) as caught:
        callback_parameters("state=s1&code=c&code=d", PENDING)
    assert caught.value.code is Code.IDENTITY_ANSWER_INVALID


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ({"error": "access_denied", "code": "c"}, Code.LOGIN_CANCELLED),
        ({"error": "server_error"}, Code.IDENTITY_PROVIDER_UNAVAILABLE),
        ({"error": "temporarily_unavailable"}, Code.IDENTITY_PROVIDER_UNAVAILABLE),
        ({"error": "invalid_request"}, Code.IDENTITY_ANSWER_INVALID),
        ({}, Code.IDENTITY_ANSWER_INVALID),
        ({"code": ""}, Code.IDENTITY_ANSWER_INVALID),
    ],
)
def test_what_a_callback_without_a_usable_code_means(
    parameters: dict[str, str], code: Code
) -> None:
    with pytest.raises(IdentityError) as caught:
        authorization_code(parameters)
    assert caught.value.code is code


def answering(status: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(status)))


def failing(error: Exception) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("client", "code"),
    [
        (answering(500), Code.IDENTITY_PROVIDER_UNAVAILABLE),
        (answering(503), Code.IDENTITY_PROVIDER_UNAVAILABLE),
        (answering(429), Code.IDENTITY_PROVIDER_UNAVAILABLE),
        (failing(httpx.ReadTimeout("slow")), Code.IDENTITY_PROVIDER_UNAVAILABLE),
        (failing(httpx.ConnectError("refused")), Code.IDENTITY_PROVIDER_UNAVAILABLE),
        (failing(httpx.TooManyRedirects("loop")), Code.IDENTITY_ANSWER_INVALID),
    ],
)
async def test_a_failed_call(client: httpx.AsyncClient, code: Code) -> None:
    async with client:
        with pytest.raises(IdentityError) as caught:
            await call(client, "GET", "https://sso.example/token")
    assert caught.value.code is code


@pytest.mark.parametrize("status", [200, 400, 401])
async def test_any_other_answer_is_the_callers_to_read(status: int) -> None:
    async with answering(status) as client:
        response = await call(client, "GET", "https://sso.example/token")
    assert response.status_code == status
