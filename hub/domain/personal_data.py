"""The one personal-data policy: which outputs carry personal data, how each is masked.

Law 91/2025/QH15 on personal data protection and RULES.md §1 and §6: a client sees
a person's identifiers and contact details only when its purpose needs them. Every
field of the API that returns personal data is listed in :data:`FIELDS` with its
kind, and every output path (GraphQL nodes, JSON documents, change-feed keys,
exports) shows such a value through :func:`present`. A test walks the whole schema
and fails when a field that looks personal is missing here.

Kinds and their rules:

* ``PERSONAL_ID`` (mã định danh cá nhân): the last four digits only, unless the
  client holds ``personal-ids:read``.
* ``PHONE`` and ``EMAIL``: the last three digits / the first letter and the domain,
  unless the client holds ``contacts:read``.
* ``CERTIFICATE_SUBJECT``: a certificate's subject names the holder and may carry
  their personal ID (``CCCD:…``); 12-digit runs in it are masked like a personal ID.
* ``RECORD``: names, birth dates, sex, ethnicity — the record itself; shown to any
  client that may read the record (its scope and organisation already decided
  that), never masked.
* ``DOCUMENT``: a JSON document about a person (a transcript's content, a change's
  natural key); the keys in :data:`DOCUMENT_KEYS` inside it are masked by their kind.
* ``SIGNED_FILE``: a signed transcript file (XML, PDF). A signature covers the
  personal ID printed in it, so it cannot be masked: only clients holding
  ``personal-ids:read`` may download one.
* ``ECHO``: the caller's own input repeated in an answer (the key of a written row);
  it tells the caller nothing it did not send.
* ``NOT_PERSONAL``: a field that looks personal (a JSON document, a ``…Key``) but was
  checked and holds no personal data (job checkpoints: counts and versions).

Error messages follow ``ECHO``: they may repeat what the caller sent, never a stored
value (the problem codes of :mod:`hub.domain.problems` take their details from the
input).
"""

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    PERSONAL_ID = "PERSONAL_ID"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    CERTIFICATE_SUBJECT = "CERTIFICATE_SUBJECT"
    RECORD = "RECORD"
    DOCUMENT = "DOCUMENT"
    SIGNED_FILE = "SIGNED_FILE"
    ECHO = "ECHO"
    NOT_PERSONAL = "NOT_PERSONAL"


#: The scope that shows a kind unmasked (None: shown with the record, never masked).
UNMASKED_BY: dict[Kind, str | None] = {
    Kind.PERSONAL_ID: "personal-ids:read",
    Kind.PHONE: "contacts:read",
    Kind.EMAIL: "contacts:read",
    Kind.CERTIFICATE_SUBJECT: "personal-ids:read",
    Kind.RECORD: None,
    Kind.DOCUMENT: None,
    Kind.SIGNED_FILE: "personal-ids:read",
    Kind.ECHO: None,
    Kind.NOT_PERSONAL: None,
}

#: Every GraphQL field that returns personal data, as ``Type.field``.
FIELDS: dict[str, Kind] = {
    "Student.personalId": Kind.PERSONAL_ID,
    "Student.fullName": Kind.RECORD,
    "Student.birthDate": Kind.RECORD,
    "Student.sex": Kind.RECORD,
    "Student.ethnicity": Kind.RECORD,
    "Staff.personalId": Kind.PERSONAL_ID,
    "Staff.fullName": Kind.RECORD,
    "Staff.birthDate": Kind.RECORD,
    "Staff.sex": Kind.RECORD,
    "Staff.email": Kind.EMAIL,
    "Staff.phone": Kind.PHONE,
    "Guardian.personalId": Kind.PERSONAL_ID,
    "Guardian.fullName": Kind.RECORD,
    "Guardian.phone": Kind.PHONE,
    "Certificate.subject": Kind.CERTIFICATE_SUBJECT,
    "Transcript.results": Kind.DOCUMENT,
    "Change.naturalKey": Kind.DOCUMENT,
    "SyncDeadLetter.naturalKey": Kind.PERSONAL_ID,
    "SignatureCheck.personalId": Kind.PERSONAL_ID,
    "SignatureCheck.signerName": Kind.RECORD,
    "ExpiringCertificate.ownerName": Kind.RECORD,
    "PlannedTeacher.fullName": Kind.RECORD,
    "MigrationTeacher.fullName": Kind.RECORD,
    "MigrationStep.detail": Kind.DOCUMENT,
    "RowResult.key": Kind.ECHO,
    "SyncRun.checkpoint": Kind.NOT_PERSONAL,
    "AccessLogEntry.personalId": Kind.PERSONAL_ID,
    # The signed-in person's own page (issue 11). The person's own ID goes through
    # present(); the IDs of others on it (who consented, withdrew or read a child's
    # record) are always shown masked, whatever the app's scopes.
    "Person.fullName": Kind.RECORD,
    "Person.personalId": Kind.PERSONAL_ID,
    "PersonChild.fullName": Kind.RECORD,
    "PersonChild.birthDate": Kind.RECORD,
    "Consent.studentFullName": Kind.RECORD,
    "Consent.givenByPersonalId": Kind.PERSONAL_ID,
    "Consent.revokedByPersonalId": Kind.PERSONAL_ID,
    "ChildRead.personFullName": Kind.RECORD,
    "ChildRead.personalId": Kind.PERSONAL_ID,
}

#: Keys inside JSON documents that carry personal data, and their kind.
DOCUMENT_KEYS: dict[str, Kind] = {
    "personal_id": Kind.PERSONAL_ID,
    "personalId": Kind.PERSONAL_ID,
    "studentPersonalId": Kind.PERSONAL_ID,
    "guardianPersonalId": Kind.PERSONAL_ID,
    "guardianPhone": Kind.PHONE,
    "phone": Kind.PHONE,
    "email": Kind.EMAIL,
}

_DIGIT_RUN = re.compile(r"\d{12}")


def mask_personal_id(number: str) -> str:
    """Only the last four digits: enough to tell two pupils apart on a list."""
    return "•" * (len(number) - 4) + number[-4:] if len(number) > 4 else "•" * len(number)


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return "•" * max(len(digits) - 3, 0) + "".join(digits[-3:])


def mask_email(email: str) -> str:
    local, at, domain = email.partition("@")
    return f"{local[:1]}•••{at}{domain}" if at else "•••"


def _mask(kind: Kind, value: Any) -> Any:
    if kind is Kind.PERSONAL_ID:
        return mask_personal_id(str(value))
    if kind is Kind.PHONE:
        return mask_phone(str(value))
    if kind is Kind.EMAIL:
        return mask_email(str(value))
    if kind is Kind.CERTIFICATE_SUBJECT:
        return _DIGIT_RUN.sub(lambda m: mask_personal_id(m.group()), str(value))
    return value


def unmasked(scopes: Iterable[str], kind: Kind) -> bool:
    """Whether a client with ``scopes`` sees values of ``kind`` as they are."""
    scope = UNMASKED_BY[kind]
    return scope is None or scope in scopes


def present(scopes: frozenset[str], kind: Kind, value: Any) -> Any:
    """``value`` of ``kind`` as a client holding ``scopes`` may see it."""
    if value is None:
        return None
    if kind is Kind.DOCUMENT:
        return _present_document(scopes, value)
    return value if unmasked(scopes, kind) else _mask(kind, value)


def _present_document(scopes: frozenset[str], value: Any) -> Any:
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            kind = DOCUMENT_KEYS.get(key)
            if kind is not None and not isinstance(item, dict | list):
                shown[key] = present(scopes, kind, item)
            else:
                shown[key] = _present_document(scopes, item)
        return shown
    if isinstance(value, list):
        return [_present_document(scopes, item) for item in value]
    return value
