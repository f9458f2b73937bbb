"""The signature algorithms in every notation (hub.signing.algorithms): real keys, no mocks."""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hub.adapters.signing.csc.simulator import sign_with
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
DIGEST = hashlib.sha256(b"hoc ba so").digest()


def sign(algorithm: SignatureAlgorithm) -> bytes:
    key = EC_KEY if algorithm is SignatureAlgorithm.ECDSA_SHA256 else RSA_KEY
    return sign_with(key, algorithm, DIGEST)


@pytest.mark.parametrize("algorithm", list(SignatureAlgorithm))
def test_every_notation_round_trips(algorithm: SignatureAlgorithm) -> None:
    assert algorithms.from_xmldsig_uri(algorithms.xmldsig_uri(algorithm)) is algorithm
    assert algorithms.from_cms_algorithm(algorithms.cms_algorithm(algorithm)) is algorithm


@pytest.mark.parametrize("algorithm", list(SignatureAlgorithm))
def test_a_value_verifies_with_its_own_algorithm_only(algorithm: SignatureAlgorithm) -> None:
    value = sign(algorithm)
    key = EC_KEY if algorithm is SignatureAlgorithm.ECDSA_SHA256 else RSA_KEY
    assert algorithms.verifies(algorithm, key.public_key(), value, DIGEST)
    assert len(value) <= algorithms.signature_size(algorithm, key.public_key())
    for other in set(SignatureAlgorithm) - {algorithm}:
        assert not algorithms.verifies(other, key.public_key(), value, DIGEST)


def test_ecdsa_der_and_xmldsig_forms() -> None:
    der = sign(SignatureAlgorithm.ECDSA_SHA256)
    raw = algorithms.ecdsa_to_xmldsig(der, EC_KEY.public_key())
    assert len(raw) == 64
    assert algorithms.ecdsa_from_xmldsig(raw) == der
    assert algorithms.normalised_value(SignatureAlgorithm.ECDSA_SHA256, raw) == der
    assert algorithms.normalised_value(SignatureAlgorithm.ECDSA_SHA256, der) == der
    with pytest.raises(ValueError):
        algorithms.ecdsa_from_xmldsig(raw[:-1])


@pytest.mark.parametrize(
    ("offered", "key", "preference", "expected"),
    [
        (["1.2.840.113549.1.1.1"], RSA_KEY, algorithms.PREFERENCE, "RSA_PKCS1_SHA256"),
        (["1.2.840.113549.1.1.11"], RSA_KEY, algorithms.PREFERENCE, "RSA_PKCS1_SHA256"),
        (["1.2.840.113549.1.1.10"], RSA_KEY, algorithms.PREFERENCE, "RSA_PSS_SHA256"),
        (["1.2.840.10045.4.3.2"], EC_KEY, algorithms.PREFERENCE, "ECDSA_SHA256"),
        (["1.2.840.10045.2.1"], EC_KEY, algorithms.PREFERENCE, "ECDSA_SHA256"),
        (
            ["1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10"],
            RSA_KEY,
            (SignatureAlgorithm.RSA_PSS_SHA256,),
            "RSA_PSS_SHA256",
        ),
        # An EC OID on an RSA certificate's key, a hash-only list: nothing usable.
        (["1.2.840.10045.4.3.2"], RSA_KEY, algorithms.PREFERENCE, None),
        (["1.2.840.10045.4.3.4"], EC_KEY, algorithms.PREFERENCE, None),
    ],
)
def test_the_algorithm_a_csc_key_offers(
    offered: list[str],
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    preference: tuple[SignatureAlgorithm, ...],
    expected: str | None,
) -> None:
    chosen = algorithms.from_csc_offer(offered, key.public_key(), preference)
    assert (chosen.value if chosen else None) == expected


def test_pss_parameters_travel_to_a_csc_server() -> None:
    assert algorithms.csc_sign_algo_params(SignatureAlgorithm.RSA_PKCS1_SHA256) is None
    assert algorithms.csc_sign_algo_params(SignatureAlgorithm.RSA_PSS_SHA256)
