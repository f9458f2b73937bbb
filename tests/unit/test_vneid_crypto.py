"""VNeID's encrypted answers (``{"data", "key"}``) and encrypted codes: what the
simulator seals the adapter opens, in both AES modes, and damage is caught."""

import base64
from datetime import date
from functools import cache

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.adapters.identity.vneid import protocol
from hub.adapters.identity.vneid.protocol import AesMode, EnvelopeError, UserInfo

ANSWER = {"citizenPid": "001085012345", "fullName": "Nguyễn Thị Hoa", "accountLevel": 2}
MODES = list(AesMode)


@cache
def rp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sealed(mode: AesMode) -> dict[str, str]:
    return protocol.seal(ANSWER, rp_key().public_key(), mode).model_dump()


def body(envelope: dict[str, str]) -> bytes:
    return orjson.dumps(envelope)


def flip(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_round_trips(mode: AesMode) -> None:
    assert protocol.open_envelope(body(sealed(mode)), rp_key(), mode) == ANSWER


def test_ecb_has_no_iv_and_cbc_carries_a_fresh_one() -> None:
    key = bytes(32)
    plaintext = b"x" * 20
    ecb = protocol.aes_encrypt(plaintext, key, AesMode.ECB)
    cbc = protocol.aes_encrypt(plaintext, key, AesMode.CBC)
    assert len(ecb) == 32  # two blocks, PKCS#7-padded
    assert len(cbc) == 48  # the IV, then two blocks
    assert ecb == protocol.aes_encrypt(plaintext, key, AesMode.ECB)
    assert cbc[:16] != protocol.aes_encrypt(plaintext, key, AesMode.CBC)[:16]
    for mode, ciphertext in ((AesMode.ECB, ecb), (AesMode.CBC, cbc)):
        assert protocol.aes_decrypt(ciphertext, key, mode) == plaintext


@pytest.mark.parametrize("mode", MODES)
def test_an_encrypted_code_round_trips(mode: AesMode) -> None:
    aes_key = bytes(range(32))
    code = "q+Zl/3Xw8yD+0k9hT2c1bWf4RmE5aN7s"
    encrypted = protocol.encrypt_code(code, aes_key, mode)
    wrapped = protocol.wrap_key(aes_key, rp_key().public_key())
    assert protocol.unwrap_key(wrapped, rp_key()) == aes_key
    assert protocol.decrypt_code(encrypted, aes_key, mode) == code


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_for_another_key_does_not_open(mode: AesMode) -> None:
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(body(sealed(mode)), other_key(), mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_damaged_key_does_not_open(mode: AesMode) -> None:
    envelope = sealed(mode)
    envelope["key"] = flip(envelope["key"], 17)
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(body(envelope), rp_key(), mode)


@pytest.mark.parametrize("mode", MODES)
def test_damaged_data_does_not_open(mode: AesMode) -> None:
    envelope = sealed(mode)
    last = len(base64.b64decode(envelope["data"])) - 1
    envelope["data"] = flip(envelope["data"], last)
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(body(envelope), rp_key(), mode)


@pytest.mark.parametrize("mode", MODES)
def test_data_cut_short_does_not_open(mode: AesMode) -> None:
    envelope = sealed(mode)
    envelope["data"] = base64.b64encode(base64.b64decode(envelope["data"])[:-5]).decode()
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(body(envelope), rp_key(), mode)


def test_the_wrong_mode_does_not_open() -> None:
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(body(sealed(AesMode.CBC)), rp_key(), AesMode.ECB)


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>maintenance</html>",
        b"{}",
        b'{"data": "abc"}',
        b'{"data": "not base64!", "key": "not base64!"}',
        b"[]",
    ],
)
def test_what_is_not_an_envelope_is_refused(answer: bytes) -> None:
    with pytest.raises(EnvelopeError):
        protocol.open_envelope(answer, rp_key(), AesMode.ECB)


@pytest.mark.parametrize("written", ["05/09/2012", "2012-09-05"])
def test_userinfo_reads_both_birth_date_forms(written: str) -> None:
    info = UserInfo.model_validate({**ANSWER, "birthDate": written})
    assert info.birth_date == date(2012, 9, 5)
    assert info.account_level == 2


@pytest.mark.parametrize(
    "claims",
    [
        {**ANSWER, "citizenPid": "12345"},
        {**ANSWER, "citizenPid": 1085012345},  # a number has lost its leading zeros
        {**ANSWER, "citizenPid": "٠٠١٠٨٥٠١٢٣٤٥"},  # digits, but not ASCII ones
        {**ANSWER, "fullName": "  "},
        {**ANSWER, "birthDate": "31/02/2012"},
        {"fullName": "Nguyễn Thị Hoa"},
    ],
)
def test_userinfo_refuses_unusable_claims(claims: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        UserInfo.model_validate(claims)
