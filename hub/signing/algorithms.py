"""The signature algorithms the hub signs and verifies with, in every notation it meets.

A provider's key signs one way: RSA PKCS#1 v1.5 (what every Vietnamese provider
returns), RSASSA-PSS or ECDSA (what a CSC server may offer in a credential's
``key/algo``). The same choice is written differently in each place: an OID in a
CSC request, an algorithm identifier in a CMS ``SignerInfo`` (PAdES), a URI in an
XMLDSig ``SignatureMethod`` (XAdES); ECDSA values are DER ``Ecdsa-Sig-Value`` in
CMS but the bare ``r || s`` in XMLDSig (RFC 4050 §3.3, RFC 6931 §2.3.6). This module
is the one place that knows all of it, so the engines and readers ask it instead
of assuming RSA.

Every algorithm here hashes with SHA-256: the hub only ever asks for SHA-256
digests. PSS uses MGF1 with SHA-256 and a 32-byte salt, the parameters RFC 4055
§3.1 recommends and RFC 6931 §2.3.10 fixes for ``sha256-rsa-MGF1``.

The hub's **raw signature value** for ECDSA is the DER form, as CMS carries it and as
CSC servers answer; :func:`normalised_value` turns a bare ``r || s`` answer into it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import algos
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

#: What can sign or be verified here.
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

SHA256_DIGEST_SIZE = 32


class SignatureAlgorithm(StrEnum):
    """How a key turns a SHA-256 digest into a signature value."""

    RSA_PKCS1_SHA256 = "RSA_PKCS1_SHA256"
    RSA_PSS_SHA256 = "RSA_PSS_SHA256"
    ECDSA_SHA256 = "ECDSA_SHA256"


@dataclass(frozen=True, slots=True)
class _Notation:
    """One algorithm as XMLDSig, CMS and the CSC API write it."""

    xmldsig: str
    #: asn1crypto's name of the CMS SignedDigestAlgorithm.
    cms: str
    #: The OID the hub sends as a CSC ``signAlgo``.
    csc: str
    #: Every ``key/algo`` OID a CSC server may list for a key that signs this way.
    csc_offers: frozenset[str]


RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA_OID = "1.2.840.113549.1.1.11"
RSASSA_PSS_OID = "1.2.840.113549.1.1.10"
ECDSA_WITH_SHA256_OID = "1.2.840.10045.4.3.2"
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"

_NOTATIONS: dict[SignatureAlgorithm, _Notation] = {
    SignatureAlgorithm.RSA_PKCS1_SHA256: _Notation(
        xmldsig="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        cms="sha256_rsa",
        csc=RSA_ENCRYPTION_OID,
        csc_offers=frozenset({RSA_ENCRYPTION_OID, SHA256_WITH_RSA_OID}),
    ),
    SignatureAlgorithm.RSA_PSS_SHA256: _Notation(
        xmldsig="http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        cms="rsassa_pss",
        csc=RSASSA_PSS_OID,
        csc_offers=frozenset({RSASSA_PSS_OID}),
    ),
    SignatureAlgorithm.ECDSA_SHA256: _Notation(
        xmldsig="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        cms="sha256_ecdsa",
        csc=ECDSA_WITH_SHA256_OID,
        csc_offers=frozenset({ECDSA_WITH_SHA256_OID, EC_PUBLIC_KEY_OID}),
    ),
}

#: What the hub picks when a key could sign several ways: the widest-verified first.
PREFERENCE: tuple[SignatureAlgorithm, ...] = (
    SignatureAlgorithm.RSA_PKCS1_SHA256,
    SignatureAlgorithm.ECDSA_SHA256,
    SignatureAlgorithm.RSA_PSS_SHA256,
)


class UnsupportedAlgorithmError(ValueError):
    """The key or the document uses an algorithm the hub does not sign or verify with."""


def xmldsig_uri(algorithm: SignatureAlgorithm) -> str:
    """The ``ds:SignatureMethod`` ``Algorithm`` URI."""
    return _NOTATIONS[algorithm].xmldsig


def from_xmldsig_uri(uri: str) -> SignatureAlgorithm | None:
    """The algorithm a ``ds:SignatureMethod`` names (SHA-256 ones), or None."""
    return next((a for a, n in _NOTATIONS.items() if n.xmldsig == uri), None)


def csc_sign_algo(algorithm: SignatureAlgorithm) -> str:
    """The ``signAlgo`` OID of ``signatures/signHash``."""
    return _NOTATIONS[algorithm].csc


def csc_sign_algo_params(algorithm: SignatureAlgorithm) -> str | None:
    """``signAlgoParams``: base64 DER RSASSA-PSS-params for PSS, nothing otherwise."""
    if algorithm is not SignatureAlgorithm.RSA_PSS_SHA256:
        return None
    return base64.b64encode(_pss_parameters().dump()).decode("ascii")


def from_csc_offer(
    offered: list[str], public_key: object, preference: tuple[SignatureAlgorithm, ...] = PREFERENCE
) -> SignatureAlgorithm | None:
    """The first of ``preference`` a CSC credential's ``key/algo`` lists and its key can do.

    ``rsaEncryption`` alone (what many servers list) means PKCS#1 v1.5 with the
    separate hash algorithm; an EC key listed as ``ecPublicKey`` signs ECDSA.
    """
    for algorithm in preference:
        if _NOTATIONS[algorithm].csc_offers & set(offered) and _fits(algorithm, public_key):
            return algorithm
    return None


def for_key(public_key: object) -> SignatureAlgorithm:
    """What a key signs with when nothing else says: PKCS#1 v1.5 for RSA, ECDSA for EC."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return SignatureAlgorithm.RSA_PKCS1_SHA256
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return SignatureAlgorithm.ECDSA_SHA256
    raise UnsupportedAlgorithmError(f"unsupported key type {type(public_key).__name__}")


def _fits(algorithm: SignatureAlgorithm, public_key: object) -> bool:
    if algorithm is SignatureAlgorithm.ECDSA_SHA256:
        return isinstance(public_key, ec.EllipticCurvePublicKey)
    return isinstance(public_key, rsa.RSAPublicKey)


def checked_key(algorithm: SignatureAlgorithm, public_key: object) -> PublicKey:
    """``public_key`` if it can sign with ``algorithm``."""
    if not _fits(algorithm, public_key):
        raise UnsupportedAlgorithmError(
            f"a {type(public_key).__name__} cannot sign {algorithm.value}"
        )
    assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return public_key


def _pss_parameters() -> algos.RSASSAPSSParams:
    sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
    return algos.RSASSAPSSParams(
        {
            "hash_algorithm": sha256,
            "mask_gen_algorithm": algos.MaskGenAlgorithm(
                {"algorithm": "mgf1", "parameters": sha256}
            ),
            "salt_length": SHA256_DIGEST_SIZE,
        }
    )


def cms_algorithm(algorithm: SignatureAlgorithm) -> algos.SignedDigestAlgorithm:
    """The ``SignerInfo.signatureAlgorithm`` of a CMS signature (PSS with its parameters)."""
    if algorithm is SignatureAlgorithm.RSA_PSS_SHA256:
        return algos.SignedDigestAlgorithm(
            {"algorithm": "rsassa_pss", "parameters": _pss_parameters()}
        )
    return algos.SignedDigestAlgorithm({"algorithm": _NOTATIONS[algorithm].cms})


def from_cms_algorithm(identifier: algos.SignedDigestAlgorithm) -> SignatureAlgorithm | None:
    """The algorithm of a CMS ``SignerInfo`` if it is one of the hub's, with SHA-256."""
    try:
        kind, digest = identifier.signature_algo, identifier.hash_algo
    except ValueError:
        return None
    if digest != "sha256":
        return None
    if kind == "rsassa_pss":
        parameters = identifier["parameters"]
        if parameters["salt_length"].native != SHA256_DIGEST_SIZE or (
            parameters["mask_gen_algorithm"]["parameters"]["algorithm"].native != "sha256"
        ):
            return None
        return SignatureAlgorithm.RSA_PSS_SHA256
    return {
        "rsassa_pkcs1v15": SignatureAlgorithm.RSA_PKCS1_SHA256,
        "ecdsa": SignatureAlgorithm.ECDSA_SHA256,
    }.get(kind)


def padding_for(algorithm: SignatureAlgorithm, digest_size: int = 32) -> padding.AsymmetricPadding:
    """An RSA algorithm's padding (PSS: MGF1-SHA-256, salt the digest's length)."""
    if algorithm is SignatureAlgorithm.RSA_PSS_SHA256:
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=digest_size)
    return padding.PKCS1v15()


def verify(
    algorithm: SignatureAlgorithm,
    public_key: object,
    signature: bytes,
    data: bytes,
    *,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    prehashed: bool = False,
) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` (the hub's raw value: DER
    for ECDSA) is ``public_key``'s over ``data`` (a digest if ``prehashed``).

    ``hash_algorithm`` (default SHA-256) lets a reader check an RSA PKCS#1 v1.5
    signature made with SHA-384/512 by someone else.
    """
    key = checked_key(algorithm, public_key)
    digest_algorithm = hash_algorithm or hashes.SHA256()
    chosen: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(digest_algorithm) if prehashed else digest_algorithm
    )
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(chosen))
    else:
        key.verify(signature, data, padding_for(algorithm, digest_algorithm.digest_size), chosen)


def verifies(
    algorithm: SignatureAlgorithm, public_key: object, signature: bytes, digest: bytes
) -> bool:
    """Whether :func:`verify` accepts ``signature`` over a SHA-256 ``digest``."""
    try:
        verify(algorithm, public_key, signature, digest, prehashed=True)
    except (InvalidSignature, ValueError):
        return False
    return True


def _coordinate_size(public_key: ec.EllipticCurvePublicKey) -> int:
    return (public_key.curve.key_size + 7) // 8


def signature_size(algorithm: SignatureAlgorithm, public_key: object) -> int:
    """The largest signature value the key makes (ECDSA: the DER form's worst case)."""
    key = checked_key(algorithm, public_key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        # SEQUENCE { INTEGER r, INTEGER s }, each maybe one sign byte longer.
        return 2 * (_coordinate_size(key) + 1 + 3) + 4
    return (key.key_size + 7) // 8


def ecdsa_to_xmldsig(der: bytes, public_key: ec.EllipticCurvePublicKey) -> bytes:
    """A DER ``Ecdsa-Sig-Value`` as XMLDSig writes it: ``r || s``, each the curve's size."""
    r, s = utils.decode_dss_signature(der)
    size = _coordinate_size(public_key)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_from_xmldsig(raw: bytes) -> bytes:
    """XMLDSig's ``r || s`` as the DER ``Ecdsa-Sig-Value`` the hub keeps and verifies."""
    if not raw or len(raw) % 2:
        raise ValueError("an ECDSA r || s value has two halves of equal size")
    half = len(raw) // 2
    return utils.encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def to_xmldsig(algorithm: SignatureAlgorithm, signature: bytes, public_key: object) -> bytes:
    """The hub's raw value as it goes into ``ds:SignatureValue``."""
    if algorithm is SignatureAlgorithm.ECDSA_SHA256:
        key = checked_key(algorithm, public_key)
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return ecdsa_to_xmldsig(signature, key)
    return signature


def from_xmldsig(algorithm: SignatureAlgorithm, value: bytes) -> bytes:
    """A ``ds:SignatureValue`` as the hub's raw value (DER for ECDSA)."""
    if algorithm is SignatureAlgorithm.ECDSA_SHA256:
        return ecdsa_from_xmldsig(value)
    return value


def normalised_value(algorithm: SignatureAlgorithm, value: bytes) -> bytes:
    """A provider's answer as the hub's raw value: an ECDSA ``r || s`` becomes DER.

    Servers differ (the CSC spec does not say which); a DER value is a SEQUENCE that
    decodes, anything else of even length is taken as the two halves.
    """
    if algorithm is not SignatureAlgorithm.ECDSA_SHA256:
        return value
    try:
        utils.decode_dss_signature(value)
    except ValueError:
        return ecdsa_from_xmldsig(value)
    return value
