"""SQL forms of domain rules, kept beside their pure twins in :mod:`hub.domain`.

Each twin is tested against its pure rule on the same rows
(``tests/integration/test_rule_twins.py``).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Select, UnaryExpression, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from hub.db.models import SigningCertificate, Transcript
from hub.domain.enums import CertificateStatus
from hub.domain.lifecycle import TranscriptState

#: Which of an owner's valid certificates signs: the preferred one first, then the one valid
#: longest, then the one registered last (:func:`hub.domain.certificates.signing_certificate`).
SIGNING_CERTIFICATE_ORDER: tuple[UnaryExpression[Any], ...] = (
    SigningCertificate.preferred.desc(),
    SigningCertificate.valid_to.desc(),
    SigningCertificate.id.desc(),
)


def certificate_valid_at(at: datetime) -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.certificates.is_valid_at`: active, in its validity
    period, and not retired by ``at``."""
    return and_(
        SigningCertificate.status == CertificateStatus.ACTIVE,
        SigningCertificate.valid_from <= at,
        SigningCertificate.valid_to > at,
        or_(SigningCertificate.retired_at.is_(None), SigningCertificate.retired_at > at),
    )


def signing_certificate_query(owner: Any, owner_id: int, at: datetime) -> Select[Any]:
    """SQL twin of :func:`hub.domain.certificates.signing_certificate`: the certificate the
    owner (``owner`` is ``SigningCertificate.staff_id`` or ``.school_id``) signs with."""
    return (
        select(SigningCertificate)
        .where(owner == owner_id, certificate_valid_at(at))
        .order_by(*SIGNING_CERTIFICATE_ORDER)
        .limit(1)
    )


def awaits_publication() -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.lifecycle.awaits_publication`: the current version, sealed."""
    return and_(
        Transcript.state == TranscriptState.SEALED.value,
        Transcript.is_current.is_(True),
    )
