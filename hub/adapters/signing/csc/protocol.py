"""The Cloud Signature Consortium API on the wire, v1 (1.0.4.0) and v2 (2.0.0.x).

Written once for both ends: :class:`~hub.adapters.signing.csc.adapter.CscAdapter`
builds requests and reads answers with these models, the simulator reads the
requests and builds the answers with the same ones. Field names are the
specification's, verbatim (``credentialID``, ``SAD``, ``hashAlgorithmOID``…), so a
model reads like the spec's table. Every call is ``POST`` with a JSON body; errors
are ``{error, error_description}`` with a 4xx status.

Where v1 and v2 differ only in names (``hash``/``hashes``, ``hashAlgo``/
``hashAlgorithmOID``) each version has its own request model; answers that differ
only by optional parts share one model that accepts both forms. Ban Cơ yếu's
RSSP profile (``hub.adapters.signing.bcy``) reuses the answer models.

Error codes: the spec's own (``invalid_request``, ``invalid_pin``, ``invalid_otp``)
and OAuth 2.0's (``invalid_grant``, ``invalid_client``, ``invalid_token``,
``access_denied``, ``expired_token``); where neither names a case the hub must tell
apart (an expired certificate, an exhausted quota…) the simulator uses the codes in
:class:`WireError`, and the adapter also reads other servers' descriptions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hub.signing.algorithms import RSA_ENCRYPTION_OID

SHA256_OID = "2.16.840.1.101.3.4.2.1"
#: ``rsaEncryption``: with a separate hash algorithm, RSA PKCS#1 v1.5 over DigestInfo.
RSA_OID = RSA_ENCRYPTION_OID

#: The ``description`` a signer sees is at most this long (spec: 500 characters).
DESCRIPTION_LIMIT = 500

Version = Literal["v1", "v2"]
OperationMode = Literal["S", "A"]
#: How the hub authorises itself to the service (``info.authType``); ``TLS`` is a
#: client certificate on the connection.
ServiceAuth = Literal["external", "basic", "oauth2client", "oauth2code", "TLS"]
SERVICE_AUTHS: tuple[ServiceAuth, ...] = ("external", "basic", "oauth2client", "oauth2code", "TLS")
#: How a credential's use is authorised (``authMode``, v2 ``auth.mode``).
AuthMode = Literal["implicit", "explicit", "oauth2code"]


def b64(data: bytes) -> str:
    """Binary values (hashes, signatures, certificates) travel as standard base64."""
    return base64.b64encode(data).decode("ascii")


def totp(secret: str, at: float, *, digits: int = 6, step: int = 30) -> str:
    """An offline OTP (``OTP.type: offline``) as a TOTP device shows it: RFC 6238 with
    HMAC-SHA-1 over the base32 ``secret``, ``digits`` long, for the time ``at``."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(at // step).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


class WireError(StrEnum):
    """The ``error`` codes this hub's simulators send, and the adapters understand."""

    INVALID_REQUEST = "invalid_request"
    INVALID_PIN = "invalid_pin"
    INVALID_OTP = "invalid_otp"
    INVALID_GRANT = "invalid_grant"  # wrong account password
    INVALID_CLIENT = "invalid_client"  # relying party not recognised (BCY's SSL2 login)
    UNAUTHORIZED_CLIENT = "unauthorized_client"  # account may not act for that user
    INVALID_TOKEN = "invalid_token"  # access token missing, unknown or expired
    INVALID_USER = "invalid_user"
    INVALID_CREDENTIAL = "invalid_credential"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_REVOKED = "certificate_revoked"
    QUOTA_EXCEEDED = "quota_exceeded"
    ACCESS_DENIED = "access_denied"  # the signer said no
    EXPIRED_TOKEN = "expired_token"  # the signer did not answer in time


class Wire(BaseModel):
    """A JSON body: unknown fields are ignored, as servers add their own."""

    model_config = ConfigDict(extra="ignore")

    def body(self) -> dict[str, object]:
        """The JSON to send: optional fields left out rather than sent as null."""
        return self.model_dump(mode="json", exclude_none=True)


class ErrorResponse(Wire):
    error: str
    error_description: str = ""


class InfoRequest(Wire):
    lang: str | None = None


class InfoResponse(Wire):
    specs: str
    name: str
    logo: str = ""
    region: str = ""
    lang: str = ""
    description: str = ""
    authType: list[str] = []
    #: Base URI of the OAuth 2.0 endpoints (``oauth2/token``), if not the service's own.
    oauth2: str | None = None
    methods: list[str] = []


class TokenResponse(Wire):
    """``oauth2/token``: RFC 6749 §5.1."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_in: int = 3600


class LoginRequest(Wire):
    rememberMe: bool | None = None


class LoginResponse(Wire):
    access_token: str
    refresh_token: str | None = None
    expires_in: int = 3600


class CredentialsListRequest(Wire):
    #: Needed when the account is a service acting for many users.
    userID: str | None = None
    maxResults: int | None = None
    pageToken: str | None = None


class CredentialsListResponse(Wire):
    credentialIDs: list[str]
    nextPageToken: str | None = None


class CredentialsInfoRequest(Wire):
    credentialID: str
    certificates: Literal["none", "single", "chain"] = "single"
    certInfo: bool = False
    authInfo: bool = False


class KeyInfo(Wire):
    status: Literal["enabled", "disabled"] = "enabled"
    algo: list[str] = []
    len: int | None = None
    curve: str | None = None


class CertInfo(Wire):
    #: ``valid``, ``expired``, ``revoked`` or ``suspended``.
    status: str | None = None
    #: Base64 DER, end-entity first, then its issuers.
    certificates: list[str] = []
    issuerDN: str | None = None
    serialNumber: str | None = None
    subjectDN: str | None = None
    validFrom: str | None = None
    validTo: str | None = None


class PinInfo(Wire):
    """v1: whether ``credentials/authorize`` needs a PIN."""

    presence: Literal["true", "false", "optional"] = "true"
    format: Literal["A", "N"] = "N"
    label: str | None = None
    description: str | None = None


class OtpInfo(Wire):
    """v1: whether ``credentials/authorize`` needs an OTP; ``online`` ones are sent to the
    signer on ``credentials/sendOTP``, ``offline`` ones come from the signer's device."""

    presence: Literal["true", "false", "optional"] = "true"
    type: Literal["offline", "online"] = "offline"
    format: Literal["A", "N"] | None = None
    label: str | None = None
    description: str | None = None
    ID: str | None = None
    provider: str | None = None


class AuthObject(Wire):
    """v2: one thing ``credentials/authorize`` needs, e.g. ``{type: Password, id: PIN}``."""

    type: str
    id: str
    format: str | None = None
    label: str | None = None
    description: str | None = None


class AuthInfo(Wire):
    mode: AuthMode = "explicit"
    objects: list[AuthObject] = []


class CredentialsInfoResponse(Wire):
    """Both versions: v1 says ``authMode``/``PIN``, v2 says ``auth``."""

    description: str | None = None
    key: KeyInfo
    cert: CertInfo
    authMode: AuthMode | None = None
    PIN: PinInfo | None = None
    OTP: OtpInfo | None = None
    auth: AuthInfo | None = None
    SCAL: str = "1"
    #: How many hashes one authorisation may cover.
    multisign: int = 1
    lang: str | None = None


class AuthData(Wire):
    id: str
    value: str


class AuthorizeRequestV1(Wire):
    credentialID: str
    numSignatures: int
    hash: list[str] | None = None
    PIN: str | None = None
    OTP: str | None = None
    description: str | None = None


class AuthorizeRequestV2(Wire):
    """v2.0.0.x; servers take the PIN as ``authData`` or, like v1, as ``PIN``."""

    credentialID: str
    numSignatures: int
    hashes: list[str] | None = None
    hashAlgorithmOID: str | None = None
    authData: list[AuthData] | None = None
    PIN: str | None = None
    OTP: str | None = None
    description: str | None = None


class SendOtpRequest(Wire):
    credentialID: str
    clientData: str | None = None


class Empty(Wire):
    """An answer with nothing in it (``credentials/sendOTP``: 200 and no body, or ``{}``)."""


class AuthorizeResponse(Wire):
    #: Signature Activation Data: the signer's consent, bound to the hashes when sent.
    SAD: str
    expiresIn: int = 3600


class SignHashRequestV1(Wire):
    credentialID: str
    #: Absent when a credential-scope OAuth 2.0 token (``oauth2code``) authorises.
    SAD: str | None = None
    hash: list[str]
    hashAlgo: str | None = None
    signAlgo: str
    signAlgoParams: str | None = None


class SignHashRequestV2(Wire):
    credentialID: str
    SAD: str | None = None
    hashes: list[str]
    hashAlgorithmOID: str | None = None
    signAlgo: str
    signAlgoParams: str | None = None
    #: ``S`` answers with the signatures, ``A`` with a ``responseID`` to poll.
    operationMode: OperationMode = "S"


class SignHashResponse(Wire):
    signatures: list[str] | None = None
    responseID: str | None = None


class SignPollingRequest(Wire):
    responseID: str


class SignPollingResponse(Wire):
    """``PENDING`` until the signer has confirmed; then the signatures, in order."""

    status: Literal["PENDING", "SIGNED"] | None = None
    signatures: list[str] | None = None
