"""VNeID-style SSO on the wire, written down once for the adapter and the simulator.

There is no public VNeID developer document (``IDENTITY.md``); this is the flow
the open-source Keycloak extension written from "VNeID sample code" describes, an
OAuth2 authorization-code flow that departs from OpenID Connect:

- the authorization request carries ``response_type=code``, ``client_id``,
  ``redirect_uri``, ``scope`` and ``state``: no PKCE, no nonce, no ID token;
- the callback's ``code`` is standard base64, ``+`` included and not
  percent-encoded, so the query string is read raw
  (:func:`hub.adapters.identity.base.query_parameters`): a form decoder would turn
  ``+`` into a space. The code may come AES-encrypted with an ``encrypt_key``
  parameter beside it, which the relying party hands back to the token endpoint as
  it came;
- the token request is form-encoded (JSON is refused), with ``client_secret`` in
  the body (``client_secret_post``);
- the token and userinfo answers are :class:`Envelope` s: ``key`` is an AES key
  RSA-encrypted (PKCS#1 v1.5) to the relying party's public key, ``data`` the
  JSON answer AES-encrypted with it, in ECB (PKCS#7 padding, no IV) or CBC (the
  IV in the first 16 bytes) — the sources disagree, so the mode is configuration
  (:class:`AesMode`);
- who signed in comes from the userinfo answer (:class:`UserInfo`).

The envelope authenticates nothing (no MAC, and PKCS#1 v1.5 decryption with
implicit rejection yields random bytes rather than an error): the hub trusts it
because it reads it from the configured endpoint over TLS. What the helpers do
catch is an envelope not meant for the hub's key or damaged on the way, which
comes out as an AES key of the wrong length, bad padding or bytes that are not
JSON — :class:`EnvelopeError` in every case.
"""

from __future__ import annotations

import base64
import binascii
import os
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from hub.domain.personal_id import is_well_formed

#: The authorization request's parameters (``scope`` defaults to ``openid``).
RESPONSE_TYPE = "code"
#: The token request's grant.
GRANT_TYPE = "authorization_code"
#: The callback parameter carrying the code's RSA-wrapped AES key, when the code is encrypted.
ENCRYPT_KEY = "encrypt_key"
#: The only body the token endpoint takes.
FORM = "application/x-www-form-urlencoded"
#: The logout endpoint's parameter naming where to send the browser afterwards [inference].
LOGOUT_REDIRECT = "redirect_uri"
#: The AES key size the provider uses (AES-256); 128 and 192 bits are read too.
AES_KEY_BYTES = 32
AES_KEY_SIZES = frozenset({16, 24, 32})
BLOCK_BYTES = 16


class AesMode(StrEnum):
    """How ``data`` of an envelope (and an encrypted code) is AES-encrypted."""

    ECB = "ECB"  # PKCS#7 padding, no IV (the extension's code)
    CBC = "CBC"  # PKCS#7 padding, the IV in the first 16 bytes (an older note)


class EnvelopeError(ValueError):
    """Encrypted data the hub's key cannot open into what was expected."""


# --- base64 --------------------------------------------------------------------------------


def b64encode(raw: bytes) -> str:
    """Standard base64 with padding, as Java's ``Base64.getEncoder()`` writes it."""
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64; anything else is an :class:`EnvelopeError`."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise EnvelopeError("not base64") from error


# --- the encryption ------------------------------------------------------------------------


def _cipher(key: bytes, iv: bytes | None) -> Cipher[Any]:
    """AES with ``key``: CBC from ``iv``, or ECB without one (the provider's choice, not ours)."""
    if len(key) not in AES_KEY_SIZES:
        raise EnvelopeError(f"AES key of {len(key)} bytes")
    return Cipher(algorithms.AES(key), modes.ECB() if iv is None else modes.CBC(iv))


def aes_encrypt(plaintext: bytes, key: bytes, mode: AesMode) -> bytes:
    """``plaintext`` PKCS#7-padded and encrypted; in CBC a random IV comes first."""
    padder = symmetric_padding.PKCS7(BLOCK_BYTES * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    iv = os.urandom(BLOCK_BYTES) if mode is AesMode.CBC else None
    encryptor = _cipher(key, iv).encryptor()
    return (iv or b"") + encryptor.update(padded) + encryptor.finalize()


def aes_decrypt(ciphertext: bytes, key: bytes, mode: AesMode) -> bytes:
    """The plaintext of :func:`aes_encrypt`; wrong length or padding is an EnvelopeError."""
    iv = None
    if mode is AesMode.CBC:
        iv, ciphertext = ciphertext[:BLOCK_BYTES], ciphertext[BLOCK_BYTES:]
    if not ciphertext or len(ciphertext) % BLOCK_BYTES:
        raise EnvelopeError("ciphertext is not whole AES blocks")
    decryptor = _cipher(key, iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = symmetric_padding.PKCS7(BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise EnvelopeError("bad padding") from error


def wrap_key(aes_key: bytes, public_key: rsa.RSAPublicKey) -> str:
    """``aes_key`` RSA-encrypted (PKCS#1 v1.5) to ``public_key``, in base64."""
    return b64encode(public_key.encrypt(aes_key, padding.PKCS1v15()))


def unwrap_key(wrapped: str, private_key: rsa.RSAPrivateKey) -> bytes:
    """The AES key :func:`wrap_key` wrapped; one of no AES size is an EnvelopeError."""
    try:
        key = private_key.decrypt(b64decode(wrapped), padding.PKCS1v15())
    except ValueError as error:
        raise EnvelopeError("the key does not open with the relying party's key") from error
    if len(key) not in AES_KEY_SIZES:
        # Implicit rejection: a key not wrapped to us decrypts to random bytes.
        raise EnvelopeError("the key does not open with the relying party's key")
    return key


class Envelope(BaseModel):
    """An encrypted answer: ``{"data": <b64 AES ciphertext>, "key": <b64 wrapped key>}``."""

    model_config = ConfigDict(extra="ignore")

    data: str
    key: str


def seal(value: Any, public_key: rsa.RSAPublicKey, mode: AesMode) -> Envelope:
    """``value`` as JSON in an envelope only ``public_key`` 's owner opens (a fresh AES key)."""
    aes_key = os.urandom(AES_KEY_BYTES)
    data = aes_encrypt(orjson.dumps(value), aes_key, mode)
    return Envelope(data=b64encode(data), key=wrap_key(aes_key, public_key))


def open_envelope(body: bytes, private_key: rsa.RSAPrivateKey, mode: AesMode) -> Any:
    """The JSON value inside an envelope's bytes (the HTTP body), or EnvelopeError."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as error:
        raise EnvelopeError("not an encrypted answer") from error
    aes_key = unwrap_key(envelope.key, private_key)
    plaintext = aes_decrypt(b64decode(envelope.data), aes_key, mode)
    try:
        return orjson.loads(plaintext)
    except orjson.JSONDecodeError as error:
        raise EnvelopeError("the decrypted answer is not JSON") from error


def encrypt_code(code: str, aes_key: bytes, mode: AesMode) -> str:
    """An authorization code encrypted as the callback carries it (its ``encrypt_key``
    is ``aes_key`` wrapped by :func:`wrap_key`)."""
    return b64encode(aes_encrypt(code.encode(), aes_key, mode))


def decrypt_code(encrypted: str, aes_key: bytes, mode: AesMode) -> str:
    """The code :func:`encrypt_code` encrypted with ``aes_key``, or EnvelopeError."""
    try:
        return aes_decrypt(b64decode(encrypted), aes_key, mode).decode()
    except UnicodeDecodeError as error:
        raise EnvelopeError("the decrypted code is not text") from error


# --- the answers ---------------------------------------------------------------------------


def parse_birth_date(value: object) -> object:
    """``dd/mm/yyyy`` (what VNeID sends) or ISO ``yyyy-mm-dd``; empty is no date."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and "/" in value:
        try:
            return datetime.strptime(value, "%d/%m/%Y").date()
        except ValueError as error:
            raise ValueError("birthDate is not dd/mm/yyyy") from error
    return value  # pydantic reads ISO dates


def check_personal_id(value: str) -> str:
    """``value`` if it is 12 ASCII digits (:func:`hub.domain.personal_id.is_well_formed`)."""
    if not is_well_formed(value):
        raise ValueError("citizenPid is not a 12-digit personal ID")
    return value


def format_birth_date(value: date) -> str:
    """A birth date as VNeID writes it: ``dd/mm/yyyy``."""
    return value.strftime("%d/%m/%Y")


class TokenAnswer(BaseModel):
    """The token endpoint's answer, once decrypted."""

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None


class UserInfo(BaseModel):
    """The userinfo endpoint's answer, once decrypted: who signed in."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    #: The 12-digit personal ID (số định danh cá nhân); a number would have lost its
    #: leading zeros, so only a string is accepted.
    personal_id: Annotated[str, AfterValidator(check_personal_id)] = Field(
        alias="citizenPid", strict=True
    )
    full_name: str = Field(alias="fullName", min_length=1)
    birth_date: Annotated[date | None, BeforeValidator(parse_birth_date)] = Field(
        default=None, alias="birthDate"
    )
    account_type: str | int | None = Field(default=None, alias="accountType")
    #: The account level (Decree 69/2024): 1, or 2 (as with the ID card).
    account_level: int | None = Field(default=None, alias="accountLevel")
