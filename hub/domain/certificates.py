"""When a signing certificate counts as valid (RULES.md §5)."""

from datetime import UTC, datetime, timedelta

from hub.domain.enums import CertificateStatus

#: Certificates expiring within this window are flagged for renewal.
EXPIRY_WARNING = timedelta(days=30)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; the hub stores UTC everywhere."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_valid_at(
    status: CertificateStatus, valid_from: datetime, valid_to: datetime, at: datetime
) -> bool:
    """Active, and ``at`` falls inside its validity period [valid_from, valid_to)."""
    return status is CertificateStatus.ACTIVE and as_utc(valid_from) <= at < as_utc(valid_to)


def expires_soon(valid_to: datetime, at: datetime) -> bool:
    return at <= as_utc(valid_to) < at + EXPIRY_WARNING
