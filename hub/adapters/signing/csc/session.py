"""The client side of any CSC-shaped API: token, error mapping, credentials, health probe.

Both the generic CSC adapter and Ban Cơ yếu's (an RSSP profile of the same API)
talk bearer-token JSON to ``credentials/*`` and ``signatures/*`` and get errors as
``{error, error_description}``; only how they log in differs, so that is the one
thing :class:`ProtocolSession` is given (a login may also give no token: a service
authorised outside the API, ``external``, or by the connection's client certificate).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

import httpx
from cryptography import x509
from pydantic import ValidationError

from hub.adapters.signing.base import Credential, ErrorTable, SigningError
from hub.adapters.signing.csc.protocol import (
    DESCRIPTION_LIMIT,
    CredentialsInfoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    Wire,
    WireError,
)
from hub.adapters.signing.http import ProviderHttp
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm

W = TypeVar("W", bound=Wire)

#: How long a signer has to confirm when the provider does not say (PROVIDERS.md: ~5 min).
CONFIRMATION_WINDOW = timedelta(minutes=5)

#: What a CSC server's refusals mean for the hub: its ``error`` word, and for servers
#: that say most things as ``invalid_request`` with a sentence ("Invalid parameter
#: credentialID", "The certificate is revoked") the words in ``error_description``.
#: Nothing found (None): the HTTP status decides (:func:`signing_error`).
ERRORS: ErrorTable[str] = ErrorTable(
    codes={
        WireError.INVALID_PIN: Code.PROVIDER_BAD_CREDENTIALS,
        WireError.INVALID_OTP: Code.SIGNER_OTP_WRONG,
        WireError.INVALID_GRANT: Code.PROVIDER_BAD_CREDENTIALS,
        WireError.INVALID_CLIENT: Code.PROVIDER_BAD_CREDENTIALS,
        WireError.UNAUTHORIZED_CLIENT: Code.PROVIDER_BAD_CREDENTIALS,
        WireError.INVALID_TOKEN: Code.PROVIDER_BAD_CREDENTIALS,
        WireError.INVALID_USER: Code.PROVIDER_USER_UNKNOWN,
        WireError.INVALID_CREDENTIAL: Code.CREDENTIAL_NOT_FOUND,
        WireError.CERTIFICATE_EXPIRED: Code.CERTIFICATE_EXPIRED,
        WireError.CERTIFICATE_REVOKED: Code.CERTIFICATE_REVOKED,
        WireError.QUOTA_EXCEEDED: Code.QUOTA_EXHAUSTED,
        WireError.ACCESS_DENIED: Code.SIGNER_REJECTED,
        WireError.EXPIRED_TOKEN: Code.SIGNER_NOT_CONFIRMED,
    },
    hints=(
        (("userid",), Code.PROVIDER_USER_UNKNOWN),
        (("unknown user",), Code.PROVIDER_USER_UNKNOWN),
        (("credentialid",), Code.CREDENTIAL_NOT_FOUND),
        (("revoked",), Code.CERTIFICATE_REVOKED),
        (("suspended",), Code.CERTIFICATE_REVOKED),
        (("expired", "certificate"), Code.CERTIFICATE_EXPIRED),
        (("quota",), Code.QUOTA_EXHAUSTED),
    ),
    default=None,
)


#: HTTP answers saying the server has no such method (RFC 9110 §15.5.5, §15.5.6, §15.6.2).
NOT_OFFERED = frozenset({404, 405, 501})


def signing_error(
    provider: SigningProvider,
    response: httpx.Response,
    *,
    user_id: str = "",
    credential_id: str = "",
    login: bool = False,
    offered: bool = False,
) -> SigningError:
    """The :class:`SigningError` for a 4xx answer.

    An answer without the spec's error body saying the server has no such method
    (404, 405, 501) is a protocol mismatch — the server does not offer what the hub
    asked, e.g. ``auth/login`` on a server that announced ``authType: ["external"]`` —
    never a refusal of the hub's credentials. Unless the server's ``info`` lists the
    method (``offered``): then a bare 404 about a credential says that credential does
    not exist, as servers that answer without the spec's body do. At login every
    other refusal but an unknown user is the hub's configuration (account password,
    relying-party key), whatever word the server chose for it.
    """
    try:
        answer = ErrorResponse.model_validate_json(response.content)
        error, description = answer.error, answer.error_description
    except ValidationError:
        error, description = "", response.text[:200]
    code = ERRORS.code(error, text=description)
    if not error and offered and credential_id and response.status_code == 404:
        code = Code.CREDENTIAL_NOT_FOUND
    elif not error and response.status_code in NOT_OFFERED:
        code = Code.PROVIDER_FAILURE
    elif login and code is not Code.PROVIDER_USER_UNKNOWN:
        code = Code.PROVIDER_BAD_CREDENTIALS
    elif code is None:
        unauthorised = response.status_code in (401, 403)
        code = Code.PROVIDER_BAD_CREDENTIALS if unauthorised else Code.SIGNING_FAILED
    detail = f"HTTP {response.status_code}"
    detail += f" {error}" if error else ""
    detail += f": {description}" if description else ""
    return SigningError(code, provider, detail, user=user_id, credential=credential_id)


def parse(
    provider: SigningProvider,
    response: httpx.Response,
    answer: type[W],
    *,
    user_id: str = "",
    credential_id: str = "",
    login: bool = False,
    offered: bool = False,
) -> W:
    """The answer as ``answer``, or the provider's refusal raised as a :class:`SigningError`."""
    if response.status_code >= 400:
        raise signing_error(
            provider,
            response,
            user_id=user_id,
            credential_id=credential_id,
            login=login,
            offered=offered,
        )
    try:
        return answer.model_validate_json(response.content or b"{}")
    except ValidationError as error:
        raise SigningError(
            Code.PROVIDER_FAILURE,
            provider,
            f"unexpected answer to {response.request.url.path}: {error.errors()[0]['msg']}",
            user=user_id,
            credential=credential_id,
        ) from error


class ProtocolSession:
    """Bearer-token calls: log in on first use, and once more when the token is refused.

    A login that gives no token (None) means calls go without ``Authorization``.
    """

    def __init__(self, http: ProviderHttp, login: Callable[[], Awaitable[str | None]]) -> None:
        self.http = http
        self.provider = http.provider
        self._login = login
        self._token: str | None = None
        self._logged_in = False
        #: The methods the server's ``info`` lists, once read (see :func:`signing_error`).
        self.methods: frozenset[str] = frozenset()

    async def call(
        self,
        path: str,
        request: Wire,
        answer: type[W],
        *,
        user_id: str = "",
        credential_id: str = "",
        token: str | None = None,
    ) -> W:
        """``path`` called with ``request``; ``token`` instead of the session's (a
        credential-scope token authorising ``signatures/signHash``)."""
        response = await self._post(path, request, token)
        if response.status_code == 401 and token is None:
            # Tokens expire (an hour, typically) and a poll may come from a new
            # process; a fresh login is the cure, and a second 401 is real.
            self._logged_in = False
            response = await self._post(path, request, token)
        return parse(
            self.provider,
            response,
            answer,
            user_id=user_id,
            credential_id=credential_id,
            offered=path in self.methods,
        )

    async def info(self) -> InfoResponse:
        """``info``, which needs no token and reads nothing of a user."""
        response = await self.http.post("info", json=InfoRequest().body())
        return parse(self.provider, response, InfoResponse)

    async def probe(self) -> None:
        """The health probe: :meth:`info` answers."""
        await self.info()

    async def _post(self, path: str, request: Wire, token: str | None) -> httpx.Response:
        if token is None:
            if not self._logged_in:
                self._token = await self._login()
                self._logged_in = True
            token = self._token
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.http.post(path, json=request.body(), headers=headers)


def credential_from_info(
    provider: SigningProvider,
    user_id: str,
    credential_id: str,
    info: CredentialsInfoResponse,
    preference: tuple[SignatureAlgorithm, ...] = algorithms.PREFERENCE,
) -> Credential:
    """A :class:`Credential` from ``credentials/info`` asked with ``certificates: chain``.

    It signs with the first algorithm of ``preference`` that ``key/algo`` offers and
    the certificate's key can make; a key offering none of them is refused here, before
    anything is prepared for signing.
    """
    try:
        certificates = [
            x509.load_der_x509_certificate(base64.b64decode(c)) for c in info.cert.certificates
        ]
    except (ValueError, binascii.Error) as error:
        raise SigningError(
            Code.PROVIDER_FAILURE,
            provider,
            f"unreadable certificate: {error}",
            user=user_id,
            credential=credential_id,
        ) from error
    if not certificates:
        raise SigningError(
            Code.PROVIDER_FAILURE,
            provider,
            "credentials/info returned no certificate",
            user=user_id,
            credential=credential_id,
        )
    algorithm = algorithms.from_csc_offer(info.key.algo, certificates[0].public_key(), preference)
    if algorithm is None:
        raise SigningError(
            Code.SIGNATURE_ALGORITHM_UNSUPPORTED,
            provider,
            ", ".join(info.key.algo) or "key/algo is empty",
            user=user_id,
            credential=credential_id,
        )
    if info.key.status == "disabled":
        status = "DISABLED"
    elif info.cert.status in (None, "valid"):
        status = "ACTIVE"
    else:
        status = info.cert.status.upper()
    return Credential(
        provider=provider,
        credential_id=credential_id,
        user_id=user_id,
        certificate=certificates[0],
        chain=tuple(certificates[1:]),
        max_batch=max(info.multisign, 1),
        status=status,
        signature_algorithm=algorithm,
    )


def phone_text(descriptions: Sequence[str]) -> str:
    """What the signer's phone shows for the whole batch."""
    return "; ".join(descriptions)[:DESCRIPTION_LIMIT]
