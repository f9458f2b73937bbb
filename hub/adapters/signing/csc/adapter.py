"""The hub's client for any Cloud Signature Consortium server, v1 (1.0.4) or v2 (2.0).

**Service authorization** (how the hub is let in) is chosen from what ``info``'s
``authType`` offers and what the providers file gives: ``basic`` (``auth/login``
with an account), ``oauth2client`` (``oauth2/token``, client-credentials grant),
``oauth2code``, ``TLS`` (a client certificate on the connection) or ``external``
(arranged outside the API: the calls carry no token). A configured ``auth`` wins
when the server offers it; without one, the first offered mode the file has the
material for. Nothing offered and configured is PROVIDER_AUTH_NOT_OFFERED.

``oauth2code`` needs a person at a browser, which a background job does not have;
so the hub takes the result of that flow, done once by an administrator: an
access token and a refresh token, and renews the access token at ``oauth2/token``
(refresh-token grant) when the server refuses it. A rotated refresh token is kept
in memory only: after a restart the configured one must still be valid.

``credentials/list`` names the user (``userID``) only when the service
authorization is not user-specific (``external``, ``oauth2client``, or an account
configured with ``acts_for_users``): the spec says it SHALL NOT otherwise.

**Credential authorization** follows ``credentials/info``'s ``authMode`` (v2:
``auth.mode``): ``implicit`` sends no factor; ``explicit`` sends the PIN and/or
the OTP the credential asks for — an ``online`` OTP is first requested with
``credentials/sendOTP`` and then read from the adapter's OTP source, an
``offline`` one is computed from the credential's TOTP secret (RFC 6238) when
configured; ``oauth2code`` skips ``credentials/authorize`` and sends
``signatures/signHash`` with a credential-scope token: the one configured for the
credential if there is one, else the signer's own (below). A PIN is sent only when
the credential asks for one (or says it is optional); a factor the credential needs
and the hub lacks is CREDENTIAL_AUTHORIZATION_MISSING, raised before anything is sent.

**The signer authorises at the provider** (``oauth2code`` with no configured token,
v1.0.4 §8.3, v2 §8.4): only the signer, in their browser, can consent, so
:meth:`CscAdapter.sign_hashes` returns a transaction waiting for them
(``data["awaiting"] = "oauth2code"``) whose ``authorize_url`` is the server's
``oauth2/authorize`` for these hashes with a random ``state``. The hub adds its own
``redirect_uri`` where it shows the link (:func:`with_redirect_uri`), since where the
signer comes back is the hub's web address, not this adapter's to know. The server
sends the signer back there with a ``code``; the poll that carries it
(``data["oauth2_code"]`` with ``data["redirect_uri"]``, given for that one poll and
never stored) exchanges it at ``oauth2/token`` for a token for these hashes and signs
at once. A code the server refuses (wrong, used, expired) is
SIGNER_AUTHORIZATION_REFUSED; the signer saying no at the provider
(``data["oauth2_error"]``) is SIGNER_REJECTED.

``signAlgo`` is the credential's :attr:`~hub.adapters.signing.base.Credential.signature_algorithm`,
chosen from its ``key/algo`` (:func:`hub.signing.algorithms.from_csc_offer`).

With ``operation_mode="S"`` (v1, and v2's default) the signatures come back at
once, so :meth:`CscAdapter.sign_hashes` returns a transaction that is already
signed: the signatures travel in its ``data``. With v2's ``operation_mode="A"``
the server asks the signer to confirm and answers with a ``responseID``, which
:meth:`CscAdapter.poll` asks ``signatures/signPolling`` about. Either way everything
a poll needs is in the :class:`Transaction`, so a job may poll from another
process with a new adapter.

``Transaction.data``: ``operation_mode`` (``S``/``A``; :data:`AWAITING_OTP`,
:data:`AWAITING_SIGNER` while the signer has something to give), ``user_id``,
``signature_algorithm``, and for ``S`` ``signatures`` (the raw values, base64,
space-separated, in digest order). For ``A`` the ``transaction_id`` is the
server's ``responseID``.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import uuid
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from urllib.parse import urlencode

import httpx
from pydantic import ValidationError

from hub.adapters.signing.base import (
    Credential,
    Health,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
    check_batch,
    outcome_of,
    signatures_of,
    utcnow,
)
from hub.adapters.signing.csc.protocol import (
    SHA256_OID,
    AuthData,
    AuthMode,
    AuthorizeRequestV1,
    AuthorizeRequestV2,
    AuthorizeResponse,
    CredentialsInfoRequest,
    CredentialsInfoResponse,
    CredentialsListRequest,
    CredentialsListResponse,
    Empty,
    ErrorResponse,
    InfoResponse,
    LoginRequest,
    LoginResponse,
    OperationMode,
    SendOtpRequest,
    ServiceAuth,
    SignHashRequestV1,
    SignHashRequestV2,
    SignHashResponse,
    SignPollingRequest,
    SignPollingResponse,
    TokenResponse,
    Version,
    WireError,
    b64,
    totp,
)
from hub.adapters.signing.csc.session import (
    CONFIRMATION_WINDOW,
    ProtocolSession,
    credential_from_info,
    parse,
    phone_text,
)
from hub.adapters.signing.http import (
    DEFAULT_TIMEOUT,
    ProviderHttp,
    probe_health,
    provider_transport,
)
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm

#: Where a credential's PIN (or credential-scope token) comes from: a mapping by
#: credential ID, or a function of it. ``None`` (or a missing key): none is known.
PinSource = Mapping[str, str] | Callable[[str], str | None]
#: The OTP a signer received after ``credentials/sendOTP``, by credential ID.
OtpSource = Callable[[str], Awaitable[str | None]]
#: A transaction's ``operation_mode`` while it waits for the OTP the signer received.
AWAITING_OTP = "OTP"
#: A transaction's ``operation_mode`` while the signer authorises at the provider.
AWAITING_SIGNER = "OAUTH2CODE"


class CscSessionAdapter(SigningAdapter):
    """What an adapter for the CSC API or a profile of it (Ban Cơ yếu's RSSP) shares:
    calls through a :class:`ProtocolSession` that logs in with :meth:`_login`, a
    credential read from ``credentials/info``, the signatures of an answer read for a
    transaction, and ``info`` as the health probe."""

    def __init__(
        self,
        *,
        provider: SigningProvider,
        base_url: str,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.provider = provider
        self._http = ProviderHttp(provider, base_url, timeout=timeout, transport=transport)
        self._session = ProtocolSession(self._http, self._login)

    @abstractmethod
    async def _login(self) -> str | None:
        """A bearer token for the session's calls (None: calls carry none)."""

    @abstractmethod
    def _info_request(self, user_id: str, credential_id: str) -> CredentialsInfoRequest:
        """The body of ``credentials/info`` for one credential, with its chain."""

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        info = await self._session.call(
            "credentials/info",
            self._info_request(user_id, credential_id),
            CredentialsInfoResponse,
            user_id=user_id,
            credential_id=credential_id,
        )
        return credential_from_info(self.provider, user_id, credential_id, info)

    def _opened(
        self,
        credential: Credential,
        transaction_id: str,
        digests: Sequence[bytes],
        expires_at: datetime,
        /,
        **data: str,
    ) -> Transaction:
        """The transaction for ``digests`` with ``credential``; its ``data``, what a poll
        from any process needs, always names the signer (``user_id``)."""
        return Transaction(
            provider=self.provider,
            transaction_id=transaction_id,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=expires_at,
            data={"user_id": credential.user_id, **data},
        )

    def _signed(self, transaction: Transaction, values: Sequence[str] | None) -> TransactionResult:
        """``transaction`` signed with the raw values of an answer, one per digest."""
        signatures = signatures_of(
            self.provider, values, transaction.count, credential_id=transaction.credential_id
        )
        return TransactionResult(TransactionState.SIGNED, signatures)

    async def health(self) -> Health:
        return await probe_health(self.provider, self._session.probe)

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True, slots=True)
class CscAccount:
    """An account for ``auth/login`` (``basic``): a service account, or the signer's own."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """The hub as an OAuth 2.0 client of the server (``oauth2client``, and to renew
    ``oauth2code`` tokens)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """The outcome of an authorization-code flow done outside the hub (``oauth2code``)."""

    access_token: str | None = None
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """The client certificate for ``TLS``: PEM files, and the CA the server's is checked
    against (None: the system's)."""

    certificate_file: str
    key_file: str
    ca_file: str | None = None

    def transport(self) -> httpx.AsyncBaseTransport:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.certificate_file, self.key_file)
        return provider_transport(verify=context)


Presence = Literal["true", "false", "optional"]


@dataclass(frozen=True, slots=True)
class CredentialAuthorization:
    """What ``credentials/authorize`` needs for one credential, from ``credentials/info``.

    ``otp_online`` None (v2, which does not say) means: online if the server offers
    ``credentials/sendOTP``.
    """

    mode: AuthMode
    pin: Presence = "false"
    otp: Presence = "false"
    otp_online: bool | None = None


def authorization_of(info: CredentialsInfoResponse) -> CredentialAuthorization:
    """The credential's authorization, in either version's words.

    A server that says nothing of it (no ``authMode``, no ``auth``) gets the PIN if
    one is configured — what servers did before ``authInfo`` — and nothing else.
    """
    if info.auth is not None:
        objects = info.auth.objects
        pin = any(o.id.upper() == "PIN" or o.type.lower() == "password" for o in objects)
        otp = any(o.id.upper() == "OTP" or o.type.lower() == "otp" for o in objects)
        return CredentialAuthorization(
            info.auth.mode, pin="true" if pin else "false", otp="true" if otp else "false"
        )
    if info.authMode is None:
        return CredentialAuthorization("explicit", pin="optional")
    if info.authMode != "explicit":
        return CredentialAuthorization(info.authMode)
    return CredentialAuthorization(
        "explicit",
        pin=info.PIN.presence if info.PIN is not None else "false",
        otp=info.OTP.presence if info.OTP is not None else "false",
        otp_online=info.OTP.type == "online" if info.OTP is not None else None,
    )


#: What the hub always calls; the service authorization and operation mode add theirs.
NEEDED_METHODS = (
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
)

#: Service authorizations that act for any user, so credentials/list names the user.
NOT_USER_SPECIFIC: frozenset[ServiceAuth] = frozenset({"external", "oauth2client"})


class CscAdapter(CscSessionAdapter):
    """Signs through a CSC server; ``base_url`` ends at the version, e.g. ``…/csc/v2``.

    ``auth`` is the configured service authorization (or several, in preference
    order); None: whichever the server offers that this adapter has the material for
    (``account``, ``client``, ``tokens``, ``client_certificate``), and ``external``.
    ``acts_for_users`` overrides whether that authorization names the user in
    ``credentials/list``. ``sign_algorithms`` is the preference among what a
    credential's key offers.
    """

    def __init__(
        self,
        *,
        base_url: str,
        account: CscAccount | None = None,
        pins: PinSource | None = None,
        otps: OtpSource | None = None,
        totp_secrets: Mapping[str, str] | None = None,
        credential_tokens: PinSource | None = None,
        auth: ServiceAuth | Sequence[ServiceAuth] | None = None,
        client: OAuthClient | None = None,
        tokens: OAuthTokens | None = None,
        client_certificate: ClientCertificate | None = None,
        acts_for_users: bool | None = None,
        sign_algorithms: tuple[SignatureAlgorithm, ...] = algorithms.PREFERENCE,
        version: Version = "v2",
        operation_mode: OperationMode = "S",
        provider: SigningProvider = SigningProvider.CSC,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if version == "v1" and operation_mode != "S":
            raise ValueError("CSC v1 has no asynchronous signHash")
        self.version = version
        self.operation_mode = operation_mode
        self.account = account
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.acts_for_users = acts_for_users
        self.sign_algorithms = sign_algorithms
        self._pins = pins or {}
        self._otps = otps
        self._totp_secrets = dict(totp_secrets or {})
        self._credential_tokens = credential_tokens or {}
        self._tokens = tokens or OAuthTokens()
        self._token_used = False
        self._tls = client_certificate is not None
        if client_certificate is not None and transport is None:
            transport = client_certificate.transport()
        material: dict[ServiceAuth, bool] = {
            "TLS": self._tls,
            "oauth2client": client is not None,
            "oauth2code": bool(self._tokens.access_token or self._tokens.refresh_token),
            "basic": account is not None,
            "external": True,
        }
        if auth is None:
            self.auth_choices = tuple(mode for mode, given in material.items() if given)
        else:
            self.auth_choices = (auth,) if isinstance(auth, str) else tuple(auth)
            lacking = [mode for mode in self.auth_choices if not material.get(mode, False)]
            if lacking:
                raise ValueError(f"CSC auth {', '.join(lacking)} configured without its material")
        self._info: InfoResponse | None = None
        self._service_auth: ServiceAuth | None = None
        self._authorizations: dict[str, CredentialAuthorization] = {}
        super().__init__(provider=provider, base_url=base_url, timeout=timeout, transport=transport)

    # --- service authorization ------------------------------------------------------------

    async def _server_info(self) -> InfoResponse:
        if self._info is None:
            self._remember(await self._session.info())
        assert self._info is not None
        return self._info

    def _remember(self, info: InfoResponse) -> None:
        self._info = info
        self._session.methods = frozenset(info.methods)

    def choose_auth(self, info: InfoResponse) -> ServiceAuth:
        """The configured service authorization the server offers, first one first.

        A server that lists no ``authType`` is taken to accept the first configured.
        """
        offered = {kind.lower() for kind in info.authType}
        for mode in self.auth_choices:
            if not offered or mode.lower() in offered:
                return mode
        raise SigningError(
            Code.PROVIDER_AUTH_NOT_OFFERED,
            self.provider,
            f"configured {', '.join(self.auth_choices)}; offered {', '.join(info.authType)}",
        )

    async def service_auth(self) -> ServiceAuth:
        """The service authorization in use (``info`` is read on first use)."""
        if self._service_auth is None:
            self._service_auth = self.choose_auth(await self._server_info())
        return self._service_auth

    def _user_specific(self, mode: ServiceAuth) -> bool:
        if self.acts_for_users is not None:
            return not self.acts_for_users
        return mode not in NOT_USER_SPECIFIC

    async def _login(self) -> str | None:
        mode = await self.service_auth()
        if mode == "basic":
            assert self.account is not None
            response = await self._http.post(
                "auth/login",
                json=LoginRequest().body(),
                auth=httpx.BasicAuth(self.account.username, self.account.password),
            )
            answer = parse(
                self.provider, response, LoginResponse, user_id=self.account.username, login=True
            )
            return answer.access_token
        if mode == "oauth2client":
            assert self.client is not None
            return await self._token_grant({"grant_type": "client_credentials"})
        if mode == "oauth2code":
            if self._tokens.access_token and not self._token_used:
                self._token_used = True
                return self._tokens.access_token
            if not self._tokens.refresh_token:
                raise SigningError(
                    Code.PROVIDER_BAD_CREDENTIALS,
                    self.provider,
                    "the oauth2code access token was refused and no refresh token is configured",
                )
            return await self._token_grant(
                {"grant_type": "refresh_token", "refresh_token": self._tokens.refresh_token}
            )
        return None  # external, TLS: the connection or an arrangement authorises

    async def _token_grant(self, form: dict[str, str]) -> str:
        """An access token from ``oauth2/token`` (RFC 6749 §4.4, §6), form-encoded."""
        info = await self._server_info()
        url = (info.oauth2 or self.base_url).rstrip("/") + "/oauth2/token"
        if self.client is not None:
            form |= {"client_id": self.client.client_id, "client_secret": self.client.client_secret}
        response = await self._http.post(url, data=form)
        answer = parse(self.provider, response, TokenResponse, login=True)
        if answer.refresh_token:
            self._tokens = OAuthTokens(answer.access_token, answer.refresh_token)
        return answer.access_token

    # --- credentials ------------------------------------------------------------------------

    async def list_credentials(self, user_id: str) -> list[Credential]:
        named = not self._user_specific(await self.service_auth())
        credential_ids: list[str] = []
        page: str | None = None
        while True:
            answer = await self._session.call(
                "credentials/list",
                CredentialsListRequest(userID=user_id if named else None, pageToken=page),
                CredentialsListResponse,
                user_id=user_id,
            )
            credential_ids += answer.credentialIDs
            page = answer.nextPageToken
            if not page:
                break
        usable: list[Credential] = []
        unusable: list[SigningError] = []
        for credential_id in credential_ids:
            try:
                usable.append(await self.credential(user_id, credential_id))
            except SigningError as error:
                if error.problem.code is not Code.SIGNATURE_ALGORITHM_UNSUPPORTED:
                    raise
                unusable.append(error)
        # A key the hub cannot sign with is left out, unless it is all there is: then
        # the user learns why.
        if unusable and not usable:
            raise unusable[0]
        return usable

    def _info_request(self, user_id: str, credential_id: str) -> CredentialsInfoRequest:
        # The chain and how to authorise; the certificate's own fields are read from
        # the certificate, so certInfo is not asked (servers may not implement it).
        return CredentialsInfoRequest(
            credentialID=credential_id, certificates="chain", certInfo=False, authInfo=True
        )

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        await self.service_auth()
        info = await self._session.call(
            "credentials/info",
            self._info_request(user_id, credential_id),
            CredentialsInfoResponse,
            user_id=user_id,
            credential_id=credential_id,
        )
        self._authorizations[credential_id] = authorization_of(info)
        return credential_from_info(
            self.provider, user_id, credential_id, info, self.sign_algorithms
        )

    # --- signing ----------------------------------------------------------------------------

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions, descriptions_required=False)
        hashes = [b64(digest) for digest in digests]
        authorization = await self._authorization(credential)
        if self._signer_types_the_otp(credential, authorization):
            # The signer reads the code off the SMS and gives it to the hub (the signing
            # page, completeTranscriptSignatures(otp:)); the poll that carries it signs.
            await self._send_otp(credential)
            return self._opened(
                credential,
                uuid.uuid4().hex,
                digests,
                utcnow() + CONFIRMATION_WINDOW,
                operation_mode=AWAITING_OTP,
                awaiting="otp",
                hashes=" ".join(hashes),
                description=phone_text(descriptions),
            )
        if self._signer_authorises(credential, authorization):
            # The signer consents in their browser (the signing page's link); the poll
            # that carries the code the server sent them back with signs.
            state = secrets.token_urlsafe(24)
            return self._opened(
                credential,
                uuid.uuid4().hex,
                digests,
                utcnow() + CONFIRMATION_WINDOW,
                operation_mode=AWAITING_SIGNER,
                awaiting="oauth2code",
                state=state,
                authorize_url=await self._authorize_url(credential, hashes, state),
                hashes=" ".join(hashes),
                description=phone_text(descriptions),
            )
        return await self._sign(credential, authorization, hashes, phone_text(descriptions))

    def _signer_authorises(
        self, credential: Credential, authorization: CredentialAuthorization
    ) -> bool:
        """An ``oauth2code`` credential with no configured token: the hub, as an OAuth
        client, sends the signer to consent (with no client, the token is missing)."""
        return (
            authorization.mode == "oauth2code"
            and self.client is not None
            and _lookup(self._credential_tokens, credential.credential_id) is None
        )

    async def _oauth2_url(self, endpoint: str) -> str:
        """An ``oauth2/…`` endpoint: under ``info``'s ``oauth2`` base, else the API's."""
        info = await self._server_info()
        return (info.oauth2 or self.base_url).rstrip("/") + "/oauth2/" + endpoint

    async def _authorize_url(
        self, credential: Credential, hashes: Sequence[str], state: str
    ) -> str:
        """``oauth2/authorize`` with ``scope=credential`` for exactly these hashes (the
        server binds the token to them), less the ``redirect_uri`` the hub adds."""
        assert self.client is not None
        listed = ",".join(base64.urlsafe_b64encode(base64.b64decode(h)).decode() for h in hashes)
        query = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "scope": "credential",
            "credentialID": credential.credential_id,
            "numSignatures": str(len(hashes)),
            "state": state,
        }
        if self.version == "v1":
            query["hash"] = listed
        else:
            query |= {"hashes": listed, "hashAlgorithmOID": SHA256_OID}
        return await self._oauth2_url("authorize") + "?" + urlencode(query)

    async def _exchange_code(self, credential: Credential, code: str, redirect_uri: str) -> str:
        """The credential-scope token for the code the signer came back with (RFC 6749
        §4.1.3); a code the server refuses as a grant is the signer's, not the hub's."""
        assert self.client is not None
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
        }
        response = await self._http.post(await self._oauth2_url("token"), data=form)
        if response.status_code in (400, 401):
            try:
                error = ErrorResponse.model_validate_json(response.content).error
            except ValidationError:
                error = ""
            if error == WireError.INVALID_GRANT:
                raise SigningError(
                    Code.SIGNER_AUTHORIZATION_REFUSED,
                    self.provider,
                    response.text[:200],
                    user=credential.user_id,
                    credential=credential.credential_id,
                )
        return parse(self.provider, response, TokenResponse, login=True).access_token

    async def _authorization(self, credential: Credential) -> CredentialAuthorization:
        authorization = self._authorizations.get(credential.credential_id)
        if authorization is None:
            await self.credential(credential.user_id, credential.credential_id)
            authorization = self._authorizations[credential.credential_id]
        return authorization

    def _signer_types_the_otp(
        self, credential: Credential, authorization: CredentialAuthorization
    ) -> bool:
        """An online OTP with no configured source: only the signer can give it."""
        if authorization.mode == "oauth2code" or authorization.otp != "true":
            return False
        if self._otps is not None:
            return False
        if credential.credential_id in self._totp_secrets and authorization.otp_online is not True:
            return False
        return self._otp_online(authorization)

    def _otp_online(self, authorization: CredentialAuthorization) -> bool:
        """Whether the credential's OTP is sent to the signer (v2 does not say: online if
        the server offers ``credentials/sendOTP``)."""
        if authorization.otp_online is not None:
            return authorization.otp_online
        return "credentials/sendOTP" in self._session.methods

    async def _sign(
        self,
        credential: Credential,
        authorization: CredentialAuthorization,
        hashes: list[str],
        description: str,
        *,
        otp: str | None = None,
        token: str | None = None,
    ) -> Transaction:
        """Authorise ``hashes`` (with ``otp``, when the signer gave it) and sign them;
        ``token``: the credential-scope token the signer's consent gave."""
        digests = [base64.b64decode(value) for value in hashes]
        sad: str | None = None
        # What the signer gave is for this one call: no answer to poll later.
        once = otp is not None or token is not None
        if token is None and authorization.mode == "oauth2code":
            token = self._factor(self._credential_tokens, credential, "oauth2code token")
        elif token is None:
            sad = await self._authorize(credential, authorization, hashes, description, otp=otp)
        algorithm = credential.signature_algorithm
        request: SignHashRequestV1 | SignHashRequestV2
        if self.version == "v1":
            request = SignHashRequestV1(
                credentialID=credential.credential_id,
                SAD=sad,
                hash=hashes,
                hashAlgo=SHA256_OID,
                signAlgo=algorithms.csc_sign_algo(algorithm),
                signAlgoParams=algorithms.csc_sign_algo_params(algorithm),
            )
        else:
            request = SignHashRequestV2(
                credentialID=credential.credential_id,
                SAD=sad,
                hashes=hashes,
                hashAlgorithmOID=SHA256_OID,
                signAlgo=algorithms.csc_sign_algo(algorithm),
                signAlgoParams=algorithms.csc_sign_algo_params(algorithm),
                operationMode="S" if once else self.operation_mode,
            )
        answer = await self._session.call(
            "signatures/signHash",
            request,
            SignHashResponse,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
            token=token,
        )
        if self.operation_mode == "A" and not once:
            if not answer.responseID:
                raise SigningError(
                    Code.PROVIDER_FAILURE,
                    self.provider,
                    "asynchronous signHash answered without a responseID",
                    credential=credential.credential_id,
                )
            expires_at = utcnow() + CONFIRMATION_WINDOW
            return self._opened(
                credential,
                answer.responseID,
                digests,
                expires_at,
                operation_mode="A",
                signature_algorithm=algorithm.value,
            )
        signatures = self._values(algorithm, answer.signatures, len(digests), credential)
        return self._opened(
            credential,
            uuid.uuid4().hex,
            digests,
            utcnow(),
            operation_mode="S",
            signature_algorithm=algorithm.value,
            signatures=" ".join(b64(signature) for signature in signatures),
        )

    def _values(
        self,
        algorithm: SignatureAlgorithm,
        values: Sequence[str] | None,
        count: int,
        credential: Credential | None = None,
        credential_id: str = "",
    ) -> tuple[bytes, ...]:
        """The answer's values as the hub's raw ones (ECDSA as DER, whatever was sent)."""
        credential_id = credential.credential_id if credential else credential_id
        raw = signatures_of(self.provider, values, count, credential_id=credential_id)
        try:
            return tuple(algorithms.normalised_value(algorithm, value) for value in raw)
        except ValueError as error:
            raise SigningError(
                Code.PROVIDER_FAILURE,
                self.provider,
                f"unreadable {algorithm.value} signature: {error}",
                credential=credential_id,
            ) from error

    def _factor(self, source: PinSource, credential: Credential, what: str) -> str:
        """A configured factor the credential needs, or CREDENTIAL_AUTHORIZATION_MISSING."""
        value = _lookup(source, credential.credential_id)
        if value is None:
            raise SigningError(
                Code.CREDENTIAL_AUTHORIZATION_MISSING,
                self.provider,
                what,
                user=credential.user_id,
                credential=credential.credential_id,
            )
        return value

    async def _otp(self, credential: Credential, authorization: CredentialAuthorization) -> str:
        """The OTP: an offline one from the credential's TOTP secret; an online one is sent
        to the signer first, then read from the OTP source."""
        secret = self._totp_secrets.get(credential.credential_id)
        if secret is not None and authorization.otp_online is not True:
            return totp(secret, utcnow().timestamp())
        if self._otp_online(authorization) and self._otps is not None:
            await self._send_otp(credential)
            otp = await self._otps(credential.credential_id)
            if otp is not None:
                return otp
        return self._factor({}, credential, "OTP")

    async def _send_otp(self, credential: Credential) -> None:
        """Have the server send the signer an OTP (an SMS, an app notification)."""
        await self._session.call(
            "credentials/sendOTP",
            SendOtpRequest(credentialID=credential.credential_id),
            Empty,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )

    async def _authorize(
        self,
        credential: Credential,
        authorization: CredentialAuthorization,
        hashes: list[str],
        description: str,
        *,
        otp: str | None = None,
    ) -> str:
        """The SAD for ``hashes``, with exactly the factors the credential asks for
        (``otp``: the one the signer typed, when it is theirs to give)."""
        pin: str | None = None
        if authorization.pin == "true":
            pin = self._factor(self._pins, credential, "PIN")
        elif authorization.pin == "optional":
            pin = _lookup(self._pins, credential.credential_id)
        if authorization.otp == "true" and otp is None:
            otp = await self._otp(credential, authorization)
        request: AuthorizeRequestV1 | AuthorizeRequestV2
        if self.version == "v1":
            request = AuthorizeRequestV1(
                credentialID=credential.credential_id,
                numSignatures=len(hashes),
                hash=hashes,
                PIN=pin,
                OTP=otp,
                description=description or None,
            )
        else:
            factors = [AuthData(id=i, value=v) for i, v in (("PIN", pin), ("OTP", otp)) if v]
            request = AuthorizeRequestV2(
                credentialID=credential.credential_id,
                numSignatures=len(hashes),
                hashes=hashes,
                hashAlgorithmOID=SHA256_OID,
                authData=factors or None,
                description=description or None,
            )
        answer = await self._session.call(
            "credentials/authorize",
            request,
            AuthorizeResponse,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        return answer.SAD

    async def poll(self, transaction: Transaction) -> TransactionResult:
        if transaction.data["operation_mode"] in (AWAITING_OTP, AWAITING_SIGNER):
            return await self._sign_when_the_signer_answers(transaction)
        algorithm = SignatureAlgorithm(
            transaction.data.get("signature_algorithm", SignatureAlgorithm.RSA_PKCS1_SHA256)
        )
        if transaction.data["operation_mode"] == "S":
            signatures = self._values(
                algorithm,
                transaction.data["signatures"].split(),
                transaction.count,
                credential_id=transaction.credential_id,
            )
            return TransactionResult(TransactionState.SIGNED, signatures)
        try:
            answer = await self._session.call(
                "signatures/signPolling",
                SignPollingRequest(responseID=transaction.transaction_id),
                SignPollingResponse,
                user_id=transaction.data["user_id"],
                credential_id=transaction.credential_id,
            )
        except SigningError as error:
            return outcome_of(error)
        if not answer.signatures:
            return TransactionResult(TransactionState.PENDING)
        signatures = self._values(
            algorithm, answer.signatures, transaction.count, credential_id=transaction.credential_id
        )
        return TransactionResult(TransactionState.SIGNED, signatures)

    async def _sign_when_the_signer_answers(self, transaction: Transaction) -> TransactionResult:
        """A transaction waiting for its signer: PENDING until the poll carries what they
        gave (put in ``data`` for that one poll, never stored) — the OTP the server sent
        them (``otp``), or the code they came back with from the provider's consent page
        (``oauth2_code`` and the ``redirect_uri`` it was sent to; ``oauth2_error`` when
        they said no) — then authorised and signed at once; a wrong code ends it as the
        server says."""
        data = transaction.data
        if data.get("oauth2_error"):
            return outcome_of(
                SigningError(
                    Code.SIGNER_REJECTED,
                    self.provider,
                    f"oauth2/authorize: {data['oauth2_error']}"[:200],
                    user=data["user_id"],
                    credential=transaction.credential_id,
                )
            )
        otp, code = data.get("otp"), data.get("oauth2_code")
        if not (otp or code):
            if utcnow() > transaction.expires_at:
                return TransactionResult(TransactionState.EXPIRED)
            return TransactionResult(TransactionState.PENDING)
        try:
            credential = await self.credential(data["user_id"], transaction.credential_id)
            token = (
                await self._exchange_code(credential, code, data.get("redirect_uri", ""))
                if code
                else None
            )
            signed = await self._sign(
                credential,
                await self._authorization(credential),
                data["hashes"].split(),
                data.get("description", ""),
                otp=otp,
                token=token,
            )
        except SigningError as error:
            return outcome_of(error)
        return await self.poll(signed)

    # --- health -----------------------------------------------------------------------------

    def needed_methods(self, mode: ServiceAuth) -> list[str]:
        """The methods ``info`` must list for the hub to sign with ``mode``."""
        needed = list(NEEDED_METHODS)
        if mode == "basic":
            needed.append("auth/login")
        if self.operation_mode == "A":
            needed.append("signatures/signPolling")
        return needed

    async def health(self) -> Health:
        return await probe_health(self.provider, self._probe)

    async def _probe(self) -> str | None:
        """``info`` answers, offers a configured authorization and lists what the hub calls."""
        info = await self._session.info()
        self._remember(info)
        try:
            mode = self.choose_auth(info)
        except SigningError as error:
            return error.detail
        missing = [m for m in self.needed_methods(mode) if m not in info.methods]
        return f"info does not list {', '.join(missing)}" if missing else None


def _lookup(source: PinSource, credential_id: str) -> str | None:
    if isinstance(source, Mapping):
        return source.get(credential_id)
    return source(credential_id)


def from_config(table: Mapping[str, Any]) -> CscAdapter:
    """The adapter from its providers-file table.

    ``url`` (ending at the version), ``version`` (``v1``/``v2``), ``operation_mode``
    (``S``/``A``); the service authorization: ``auth`` (one of ``external``, ``basic``,
    ``oauth2client``, ``oauth2code``, ``TLS``, or a list in preference order; default:
    any the table has material for), ``username``/``password`` (basic),
    ``client_id``/``client_secret`` (oauth2client, and renewing oauth2code tokens),
    ``access_token``/``refresh_token`` (oauth2code), ``client_certificate``/
    ``client_key``/``ca_file`` (TLS), ``acts_for_users`` (an account that acts for
    many users, so ``userID`` is sent); the credentials' authorization: ``pins``,
    ``totp_secrets`` (offline OTP) and ``credential_tokens`` (oauth2code), each by
    credential ID (an oauth2code credential with no token is authorised by its signer
    through ``client_id``, whose redirect URI registered at the server is the hub's
    public URL followed by ``/sign/authorized``); ``sign_algorithms`` (preference:
    ``RSA_PKCS1_SHA256``, ``RSA_PSS_SHA256``, ``ECDSA_SHA256``).
    """
    account = None
    if "username" in table:
        account = CscAccount(username=table["username"], password=table["password"])
    client = None
    if "client_id" in table:
        client = OAuthClient(table["client_id"], table["client_secret"])
    tokens = OAuthTokens(table.get("access_token"), table.get("refresh_token"))
    certificate = None
    if "client_certificate" in table:
        certificate = ClientCertificate(
            table["client_certificate"], table["client_key"], table.get("ca_file")
        )
    auth = table.get("auth")
    preference = tuple(SignatureAlgorithm(a) for a in table.get("sign_algorithms", ()))
    return CscAdapter(
        base_url=table["url"],
        account=account,
        pins=dict(table.get("pins", {})),
        totp_secrets=dict(table.get("totp_secrets", {})),
        credential_tokens=dict(table.get("credential_tokens", {})),
        auth=cast("ServiceAuth | list[ServiceAuth] | None", auth),
        client=client,
        tokens=tokens,
        client_certificate=certificate,
        acts_for_users=table.get("acts_for_users"),
        sign_algorithms=preference or algorithms.PREFERENCE,
        version=table.get("version", "v2"),
        operation_mode=table.get("operation_mode", "S"),
    )
