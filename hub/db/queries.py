"""SQL forms of domain rules, kept beside their pure twins in :mod:`hub.domain`."""

from datetime import datetime

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from hub.db.models import SigningCertificate
from hub.domain.enums import CertificateStatus


def certificate_valid_at(at: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.certificates.is_valid_at`; retired ones do not count."""
    return and_(
        SigningCertificate.status == CertificateStatus.ACTIVE,
        SigningCertificate.retired_at.is_(None),
        SigningCertificate.valid_from <= at,
        SigningCertificate.valid_to > at,
    )
