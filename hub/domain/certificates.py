"""When a signing certificate counts as valid, and which one an owner signs with (RULES.md §5)."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from hub.domain.enums import CertificateStatus

#: Certificates expiring within this window are flagged for renewal.
EXPIRY_WARNING = timedelta(days=30)


class CertificateRecord(Protocol):
    """What the validity rule reads of a certificate (a row of ``signing_certificates``)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> CertificateStatus: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_to(self) -> datetime: ...
    @property
    def retired_at(self) -> datetime | None: ...
    @property
    def preferred(self) -> bool: ...


C = TypeVar("C", bound=CertificateRecord)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; the hub stores UTC everywhere."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_valid_at(certificate: CertificateRecord, at: datetime) -> bool:
    """Whether a signature made with ``certificate`` at ``at`` would count (RULES.md §5).

    A signature counts when it was made while the certificate was valid: the CA
    says it is in force (ACTIVE, neither suspended nor revoked) and ``at`` falls
    inside its validity period [valid_from, valid_to). On top of the law, the hub
    stops counting a certificate it retired — the old provider's certificate after
    a confirmed signing-provider migration, or the new one a rolled-back migration
    withdrew — from ``retired_at`` on, though the provider may still honour it: the
    hub will not sign with it, so no report may count it as cover.

    SQL twin: :func:`hub.db.queries.certificate_valid_at`.
    """
    return (
        certificate.status is CertificateStatus.ACTIVE
        and as_utc(certificate.valid_from) <= at < as_utc(certificate.valid_to)
        and (certificate.retired_at is None or at < as_utc(certificate.retired_at))
    )


def signing_certificate(certificates: Iterable[C], at: datetime) -> C | None:
    """The certificate an owner (a staff member, or a school for its seal) signs with at ``at``.

    Among the owner's certificates valid at ``at`` (:func:`is_valid_at`), the
    preferred one (the default a signing-provider migration set) first, then the
    one valid longest, then the one registered last; none when no certificate is valid.

    SQL twin: :func:`hub.db.queries.signing_certificate_query`.
    """
    valid = [c for c in certificates if is_valid_at(c, at)]
    return max(valid, key=lambda c: (c.preferred, as_utc(c.valid_to), c.id), default=None)


def expires_soon(valid_to: datetime, at: datetime) -> bool:
    return at <= as_utc(valid_to) < at + EXPIRY_WARNING
