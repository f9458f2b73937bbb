"""SQL forms of domain rules, kept beside their pure twins in :mod:`hub.domain`."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import UnaryExpression, and_
from sqlalchemy.sql.elements import ColumnElement

from hub.db.models import SigningCertificate
from hub.domain.certificates import as_utc, is_valid_at
from hub.domain.enums import CertificateStatus

#: Which of an owner's valid certificates signs: the preferred one (the default a
#: provider migration set) first, then the one valid longest.
SIGNING_CERTIFICATE_ORDER: tuple[UnaryExpression[object], ...] = (
    SigningCertificate.preferred.desc(),
    SigningCertificate.valid_to.desc(),
)


def certificate_valid_at(at: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.certificates.is_valid_at`; retired ones do not count."""
    return and_(
        SigningCertificate.status == CertificateStatus.ACTIVE,
        SigningCertificate.retired_at.is_(None),
        SigningCertificate.valid_from <= at,
        SigningCertificate.valid_to > at,
    )


def default_certificate(
    rows: Sequence[SigningCertificate], at: datetime
) -> SigningCertificate | None:
    """The certificate an owner signs with, chosen among rows already loaded: the pure
    twin of :func:`certificate_valid_at` ordered by :data:`SIGNING_CERTIFICATE_ORDER`."""
    valid = [
        r
        for r in rows
        if r.retired_at is None and is_valid_at(r.status, r.valid_from, r.valid_to, at)
    ]
    return max(valid, key=lambda r: (r.preferred, as_utc(r.valid_to)), default=None)
