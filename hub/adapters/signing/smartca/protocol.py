"""VNPT SmartCA's two remote-signing APIs, written down once for the client and the simulator.

**SP769** (the current API): every call is a JSON ``POST`` carrying the service
provider's ``sp_id``/``sp_password``; no token. A transaction carries several
hashes (``sign_files``) for one confirmation on the subscriber's phone, and is
polled by ``transaction_id`` or VNPT's ``tran_code``. The "TH" automation package
signs without the phone: the user's password and a TOTP code buy a ``sad`` that
``v2/signatures/confirm`` exchanges for the signatures.

**CSC-style gateway** (older): an OAuth2 password grant logs in *as the signer*,
then ``csc/…`` calls answer ``{code, message, content}``.

Everything quoted by integrators (PROVIDERS.md) is modelled as quoted. Where the
quotes are silent — how SP769 says "rejected", the gateway's refusal codes — the
values below are the simulator's reading, marked as such, and the adapter treats
anything it does not recognise conservatively.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from enum import IntEnum, StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

#: Where SP769 lives on VNPT's gateway (``https://gwsca.vnpt.vn/sca/sp769``).
SP769_PREFIX = "/sca/sp769"

#: What VNPT puts in ``file_type``; the hub always sends a hash, so the label is informative only.
FILE_TYPE = "pdf"
SIGN_TYPE = "hash"
#: How long a TH ``sad`` stays valid, as VNPT answers it (``expired_in``).
SAD_LIFETIME = 299

DataT = TypeVar("DataT")


# --- SP769 ------------------------------------------------------------------------------------


class Sp769Message(StrEnum):
    """The ``message`` of an SP769 answer: a status word or an error code."""

    SUCCESS = "SUCCESS"  # compared case-insensitively: get_certificate says "Success"
    WAITING = "sig_wait_for_user_confirm"
    # The next three are the simulator's words: integrators only quote "not SUCCESS
    # means not yet", so the adapter also gives up on its own after the 5-minute window.
    REJECTED = "sig_rejected_by_user"
    EXPIRED = "sig_transaction_expired"
    FAILED = "sig_signing_failed"
    BAD_REQUEST = "BAD_REQUEST"  # HTTP 400
    SP_CREDENTIAL_INVALID = "SP_CREDENTIAL_INVALID"  # HTTP 401
    USER_NOT_EXIST = "user not exist"  # HTTP 401, as integrators quote it
    CREDENTIAL_STATUS_INVALID = "CREDENTIAL_STATUS_INVALID"  # HTTP 403: expired or revoked
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"  # HTTP 403; the simulator's word for an empty package
    SERVER_INTERNAL_ERROR = "SERVER_INTERNAL_ERROR"  # HTTP 500


class CertStatusForm(StrEnum):
    """The three ways SP769 writes ``cert_status`` (PROVIDERS.md)."""

    VIETNAMESE = "VIETNAMESE"
    DIGIT = "DIGIT"
    WORD = "WORD"


#: ``cert_status`` as each form writes ACTIVE / REVOKED / EXPIRED. The digit form
#: only knows active ("1") or not ("0"), so a "0" needs the certificate's dates.
CERT_STATUS_TEXT: dict[CertStatusForm, dict[str, str]] = {
    CertStatusForm.VIETNAMESE: {
        "ACTIVE": "Đang hoạt động",
        "REVOKED": "Đã thu hồi",
        "EXPIRED": "Hết hạn",
    },
    CertStatusForm.DIGIT: {"ACTIVE": "1", "REVOKED": "0", "EXPIRED": "0"},
    CertStatusForm.WORD: {"ACTIVE": "ACTIVE", "REVOKED": "REVOKED", "EXPIRED": "EXPIRED"},
}


class Sp769Answer(BaseModel, Generic[DataT]):
    """Every SP769 answer: the HTTP status repeated, a message, and the data."""

    status_code: int
    message: str = ""
    data: DataT | None = None


class SpAuth(BaseModel):
    sp_id: str
    sp_password: str


class GetCertificateRequest(SpAuth):
    user_id: str  # the subscriber's CCCD/CMND/passport number or tax code
    serial_number: str | None = None
    transaction_id: str


class ChainData(BaseModel):
    ca_cert: str | None = None
    root_cert: str | None = None  # some answers leave the root out


class UserCertificate(BaseModel):
    service_type: str = "SMARTCA"  # or "ESEAL" for an organisation's seal
    cert_id: str
    cert_status: str
    serial_number: str
    cert_subject: str = ""
    cert_valid_from: str = ""
    cert_valid_to: str = ""
    cert_data: str  # base64 DER, sometimes with a trailing "\r\n"
    chain_data: ChainData = Field(default_factory=ChainData)


class UserCertificates(BaseModel):
    user_certificates: list[UserCertificate] = Field(default_factory=list)


class SignFile(BaseModel):
    file_type: str = FILE_TYPE
    data_to_be_signed: str  # lower-case hex of the SHA-256 digest
    doc_id: str
    sign_type: str = SIGN_TYPE


class SignRequest(SpAuth):
    user_id: str
    transaction_id: str  # the SP's own, unique
    transaction_desc: str = ""
    serial_number: str
    time_stamp: str  # yyyyMMddHHmmssZ
    sign_files: list[SignFile]


class AutomationSignRequest(SignRequest):
    """``v2/signatures/sign`` of the TH package: the user's password and a TOTP code."""

    password: str
    otp: str


class SignAccepted(BaseModel):
    transaction_id: str
    tran_code: str = ""
    sad: str | None = None  # TH only: the signature activation data
    expired_in: int | None = None  # TH only: seconds the sad stays valid (299)


class ConfirmRequest(SpAuth):
    user_id: str
    password: str
    transaction_id: str
    sad: str


class Sp769Signature(BaseModel):
    doc_id: str = ""
    signature_value: str
    timestamp_signature: str | None = None


class Sp769Signed(BaseModel):
    transaction_id: str = ""
    expired_in: int | None = None
    signatures: list[Sp769Signature] | None = None


def sp769_time_stamp(seconds: float | None = None) -> str:
    """``time_stamp`` as SP769 writes it: ``yyyyMMddHHmmssZ`` in UTC."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(seconds))


def totp(secret: str, at: float | None = None, *, step: int = 30, digits: int = 6) -> str:
    """The RFC 6238 code the TH package asks for (HMAC-SHA1, 30 s, 6 digits).

    ``secret`` is base32, as VNPT hands it out for authenticator apps.
    """
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


# --- CSC-style gateway ------------------------------------------------------------------------


class GatewayCode(IntEnum):
    """``code`` of a gateway answer. Only 0 is quoted; the refusals are the simulator's."""

    OK = 0
    BAD_REQUEST = 400
    UNAUTHORISED = 401  # the bearer token is missing or expired: log in again
    NOT_FOUND = 404
    KEY_AUTHORISATION_FAILED = 4003  # the key may not sign: certificate revoked or expired
    SIGNING_FAILED = 4004
    OUT_OF_QUOTA = 4005


class TranStatus(IntEnum):
    """``tranStatus`` of ``csc/credentials/gettraninfo`` (PROVIDERS.md)."""

    SUCCESS = 1
    WAITING = 4000
    EXPIRED = 4001  # nobody confirmed within 5 minutes
    REJECTED = 4002
    KEY_AUTHORISATION_FAILED = 4003
    SIGNING_FAILED = 4004


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = 3600


class OAuthError(BaseModel):
    error: str  # "invalid_client", "invalid_grant", "unsupported_grant_type" …
    error_description: str = ""


class GatewayAnswer(BaseModel, Generic[DataT]):
    code: int
    message: str = ""
    content: DataT | None = None


class CredentialInfoRequest(BaseModel):
    credentialId: str  # the gateway spells it with a lower-case d
    certificates: str = "chain"
    certInfo: bool = True


class CscKey(BaseModel):
    status: str = "enabled"
    algo: list[str] = Field(default_factory=list)
    len: int = 2048


class CscCertificate(BaseModel):
    status: str  # "valid", "expired", "revoked" or "suspended"
    certificates: list[str]  # base64 DER, end-entity first
    subjectDN: str = ""
    issuerDN: str = ""
    serialNumber: str = ""
    validFrom: str = ""
    validTo: str = ""


class GatewayCredential(BaseModel):
    key: CscKey = Field(default_factory=CscKey)
    cert: CscCertificate
    multisign: int = 1


class HashToSign(BaseModel):
    name: str
    hash: str  # base64 of the raw digest


class SignHashRequest(BaseModel):
    credentialId: str
    refTranId: str
    description: str
    datas: list[HashToSign]


class SignHashAccepted(BaseModel):
    tranId: str


class TranInfoRequest(BaseModel):
    tranId: str


class SignedDocument(BaseModel):
    name: str = ""
    sig: str


class TranInfo(BaseModel):
    tranId: str = ""
    tranStatus: int
    documents: list[SignedDocument] = Field(default_factory=list)
