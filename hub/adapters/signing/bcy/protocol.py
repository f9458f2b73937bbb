"""Ban Cơ yếu Chính phủ's remote signing on the wire: an ETSI TS 119 432 (RSSP) profile.

No public API document exists (PROVIDERS.md): integrators configure a REST service
in the RSSP style, and this module writes down the shape the hub speaks and the
simulator implements. It is the CSC v2 API with three differences:

- The relying party (the hub), not the signer, logs in: ``POST auth/login`` with
  ``Authorization: SSL2 <token>``, where the token is
  ``base64("<rp_id>:<timestamp>:<base64 signature>")``, the signature is RSA
  PKCS#1 v1.5 with SHA-256 over ``"<rp_id>:<timestamp>"`` by the key the relying
  party registered, and the timestamp is Unix seconds; the server refuses one more
  than :data:`MAX_SKEW` seconds from its clock. The answer is a bearer token for
  everything else, which then names the signer in ``userID``.
- The signer consents on the Ban Cơ yếu phone app, not with a PIN:
  ``credentials/authorize`` (the digests included, so the consent is for exactly
  these) answers at once with an ``authorizationID``, and
  ``credentials/authorize/status`` tells whether it is still ``PENDING`` or
  ``AUTHORIZED`` with the SAD. A refusal is the CSC error ``access_denied``, a
  request nobody answered in time ``expired_token``.
- Digests travel as ``documentDigests: {hashes, hashAlgorithmOID}``, as in RSSP.

``signatures/signHash`` with the SAD then answers with the signatures at once
(``operationMode: "S"``). Everything else (``info``, ``credentials/info``, errors
as ``{error, error_description}``) is CSC v2, so the models are shared.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

from hub.adapters.signing.csc.protocol import (
    RSA_OID,
    SHA256_OID,
    CredentialsInfoRequest,
    CredentialsListRequest,
    Wire,
    b64,
)

SSL2 = "SSL2"

#: How far a login's timestamp may be from the server's clock, in seconds.
MAX_SKEW = 300.0


class Ssl2Error(ValueError):
    """An ``SSL2`` Authorization header the server refuses; the message says why."""


def _signed_text(rp_id: str, timestamp: str) -> bytes:
    return f"{rp_id}:{timestamp}".encode()


def ssl2_authorization(rp_id: str, key: rsa.RSAPrivateKey, timestamp: int) -> str:
    """The ``Authorization`` header value proving the relying party at ``timestamp``."""
    signature = key.sign(_signed_text(rp_id, str(timestamp)), padding.PKCS1v15(), SHA256())
    token = f"{rp_id}:{timestamp}:{b64(signature)}"
    return f"{SSL2} {b64(token.encode())}"


def ssl2_relying_party(
    header: str, keys: Mapping[str, rsa.RSAPublicKey], *, now: float, max_skew: float = MAX_SKEW
) -> str:
    """The relying party an ``SSL2`` header proves, checked against its registered key."""
    scheme, _, value = header.partition(" ")
    if scheme != SSL2:
        raise Ssl2Error("SSL2 authorization required")
    try:
        rp_id, timestamp, encoded = base64.b64decode(value, validate=True).decode().rsplit(":", 2)
        signature = base64.b64decode(encoded, validate=True)
        moment = int(timestamp)
    except (ValueError, binascii.Error) as error:
        raise Ssl2Error("Malformed SSL2 authorization") from error
    key = keys.get(rp_id)
    if key is None:
        raise Ssl2Error(f"Unknown relying party {rp_id}")
    if abs(now - moment) > max_skew:
        raise Ssl2Error("Stale SSL2 timestamp: check the relying party's clock")
    try:
        key.verify(signature, _signed_text(rp_id, timestamp), padding.PKCS1v15(), SHA256())
    except InvalidSignature as error:
        raise Ssl2Error("SSL2 signature does not verify with the registered key") from error
    return rp_id


class UserCredentialsListRequest(CredentialsListRequest):
    userID: str


class UserCredentialsInfoRequest(CredentialsInfoRequest):
    userID: str


class DocumentDigests(Wire):
    hashes: list[str]
    hashAlgorithmOID: str = SHA256_OID


class AuthorizeRequest(Wire):
    userID: str
    credentialID: str
    numSignatures: int
    documentDigests: DocumentDigests
    #: Shown on the signer's phone.
    description: str | None = None


class PendingAuthorization(Wire):
    authorizationID: str
    #: Seconds the signer has to confirm.
    expiresIn: int


class AuthorizationStatusRequest(Wire):
    authorizationID: str


class AuthorizationStatus(Wire):
    status: Literal["PENDING", "AUTHORIZED"]
    SAD: str | None = None
    expiresIn: int | None = None


class SignHashRequest(Wire):
    credentialID: str
    SAD: str
    documentDigests: DocumentDigests
    signAlgo: str = RSA_OID
    operationMode: Literal["S"] = "S"
