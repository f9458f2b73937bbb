"""Who a signing certificate names: a person by personal ID, a school by its ministry code.

Vietnamese CAs put the subject's identity in the ``UID`` attribute of the subject
name: ``CCCD:``/``CMND:`` (or MySign's ``CMT_``) and the personal ID for people,
``MNS:`` and the ministry school code for a school's seal. The hub reads them to
match a certificate to its own records (verification, a seal token's keys); the
demo PKI writes them the same way.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

#: How CAs prefix a person's ID in ``UID``.
PERSONAL_ID_PREFIXES = ("CCCD:", "CMND:", "CMT_")
#: How CAs prefix a school's ministry code in ``UID``.
SCHOOL_CODE_PREFIX = "MNS:"


def personal_id_of(certificate: x509.Certificate) -> str | None:
    """The 12-digit personal ID a person's certificate is bound to (``UID=CCCD:…``)."""
    for value in _uids(certificate):
        for prefix in PERSONAL_ID_PREFIXES:
            if value.startswith(prefix):
                return value.removeprefix(prefix)
    return None


def school_code_of(certificate: x509.Certificate) -> str | None:
    """The ministry school code a seal certificate is bound to (``UID=MNS:…``)."""
    for value in _uids(certificate):
        if value.startswith(SCHOOL_CODE_PREFIX):
            return value.removeprefix(SCHOOL_CODE_PREFIX)
    return None


def _uids(certificate: x509.Certificate) -> list[str]:
    return [
        str(attribute.value)
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    ]
