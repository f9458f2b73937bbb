"""Viettel-CA MySign's remote-signing API, written down once for the client and the simulator.

The hub logs in *per signer* (``ras/v1/login`` with its client and the signer's
MySign user name, no password: the signer consents on the phone), then lists the
signer's credentials, sends hashes (``signHash``) and polls the request
(``requests/status``). Field spellings are Viettel's and inconsistent on purpose:
``credential_id`` in listings, ``credentialID`` when signing; numbers such as
``status``, ``multisign`` and ``expires_in`` travel as strings (PROVIDERS.md).
"""

from __future__ import annotations

import base64
import re
from enum import IntEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from hub.domain.text import fold

SHA256_OID = "2.16.840.1.101.3.4.2.1"
RSA_OID = "1.2.840.113549.1.1.1"

#: A number Viettel writes as a string ("3600", "1"); read from either form.
NumberText = Annotated[int, PlainSerializer(str, return_type=str)]


class LoginCode(IntEnum):
    """Refusals of ``ras/v1/login``."""

    UNKNOWN_CLIENT = 58007
    UNKNOWN_USER = 58008
    BAD_CREDENTIALS = 59033
    BAD_CLIENT_SECRET = 86024


class RequestStatus(IntEnum):
    """``status`` of ``requests/status``; signHash refuses with the same numbers."""

    SUCCESS = 1
    WAITING = 4000
    SIGNING = 6000  # confirmed on the phone, the HSM is signing
    TIMEOUT = 4001
    REJECTED = 4002
    FAILED = 4004
    OUT_OF_QUOTA = 4005
    CERTIFICATE_INVALID = 13004  # expired or revoked
    INTERNAL_ERROR = 50000


class AsyncMode(IntEnum):
    """``async`` of signHash."""

    SYNC = 0  # block until the signer confirms (about 120 s at most)
    POLL = 1  # answer a transactionId at once
    POLL_TOO = 2  # the same, as other integrators' samples send it
    WEBHOOK = 3  # as POLL, and call the SP's webhook when done


class LoginRequest(BaseModel):
    client_id: str
    client_secret: str
    profile_id: str
    user_id: str  # MySign's user name, e.g. "CMT_001085012345"


class LoginAnswer(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: NumberText = 3600
    refresh_token: str = ""  # always empty: log in again instead


class Refusal(BaseModel):
    """An error answer. Login errors come as ``{code, message}``, signing errors as
    ``{error, error_description}``; both are read."""

    code: int | None = None
    message: str = ""
    error: int | None = None
    error_description: str = ""

    @property
    def number(self) -> int | None:
        return self.code if self.code is not None else self.error

    @property
    def text(self) -> str:
        return self.message or self.error_description


class CertificatesInfoRequest(BaseModel):
    client_id: str
    client_secret: str
    profile_id: str
    user_id: str
    certificates: str = "chain"
    certInfo: bool = True
    authInfo: bool = True


class MySignKey(BaseModel):
    status: str = "enabled"
    algo: list[str] = Field(default_factory=lambda: [RSA_OID])
    len: NumberText = 2048


class MySignCertificate(BaseModel):
    status: str  # "valid", "expired", "revoked" or "suspended"
    certificates: list[str]  # base64 DER: the signer's, then Viettel-CA's, then the root
    subjectDN: str = ""
    issuerDN: str = ""
    serialNumber: str = ""
    validFrom: str = ""  # yyyyMMddHHmmss+0000
    validTo: str = ""


class CredentialInfo(BaseModel):
    """One element of the ``certificates/info`` array."""

    credential_id: str  # snake case here, credentialID when signing
    description: str = ""
    key: MySignKey = Field(default_factory=MySignKey)
    cert: MySignCertificate
    authMode: str = "implicit"
    multisign: NumberText = 1  # hashes one confirmation may carry
    scal: NumberText = 2


class Document(BaseModel):
    document_id: str
    document_name: str  # see :func:`display`


class SignHashRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    client_id: str
    client_secret: str
    credentialID: str
    numSignatures: int  # = len(hash) = len(documents)
    description: str  # see :func:`display`
    documents: list[Document]
    hash: list[str]  # base64 of each SHA-256 digest
    hashAlgo: str = SHA256_OID
    signAlgo: str = RSA_OID
    async_mode: AsyncMode = Field(default=AsyncMode.POLL, alias="async")


class SignHashAnswer(BaseModel):
    transactionId: str | None = None  # async 1, 2, 3
    signatures: list[str] | None = None  # async 0


class StatusRequest(BaseModel):
    transactionId: str


class StatusAnswer(BaseModel):
    status: NumberText
    signatures: list[str] | None = None
    transactionId: str = ""


def display(text: str, limit: int = 72) -> str:
    """``text`` as MySign's phone screen takes it: base64 of plain ASCII.

    Viettel refuses Vietnamese there (integrators quote only letters, digits,
    ``_``, ``-`` and spaces), so the text is folded ("Học bạ" → "hoc ba") and
    anything else becomes a space. They quote both "text under 100 characters"
    and "base64 under 100 characters"; 72 characters of text make 96 of base64,
    which satisfies either reading.
    """
    plain = " ".join(re.sub(r"[^A-Za-z0-9_\- ]+", " ", fold(text)).split())
    return base64.b64encode(plain[:limit].strip().encode("ascii")).decode()


def read_display(value: str) -> str:
    """The text behind a ``description``/``document_name``; ValueError unless ASCII under 100."""
    text = base64.b64decode(value, validate=True).decode("ascii")
    if len(text) >= 100:
        raise ValueError("display text must be under 100 characters")
    return text
