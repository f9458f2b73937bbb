"""SQL forms of domain rules, kept beside their pure twins in :mod:`hub.domain`.

Each twin is tested against its pure rule on the same rows
(``tests/integration/test_rule_twins.py``).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ScalarSelect, Select, UnaryExpression, and_, exists, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from hub.db.models import Consent, SchoolYear, SigningCertificate, Student, Transcript
from hub.domain.certificates import as_utc
from hub.domain.consent import agreement_cutoff, day_in_vietnam
from hub.domain.enums import CertificateStatus
from hub.domain.lifecycle import TranscriptState

#: Which of an owner's valid certificates signs: the preferred one first, then the one valid
#: longest, then the one registered last (:func:`hub.domain.certificates.signing_certificate`).
SIGNING_CERTIFICATE_ORDER: tuple[UnaryExpression[Any], ...] = (
    SigningCertificate.preferred.desc(),
    SigningCertificate.valid_to.desc(),
    SigningCertificate.id.desc(),
)


def certificate_valid_at(at: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.certificates.is_valid_at`: active, in its validity
    period, and not retired by ``at`` (a time, or a parameter bound to one)."""
    return and_(
        SigningCertificate.status == CertificateStatus.ACTIVE,
        SigningCertificate.valid_from <= at,
        SigningCertificate.valid_to > at,
        or_(SigningCertificate.retired_at.is_(None), SigningCertificate.retired_at > at),
    )


def signing_certificate_query(
    owner: Any, owner_id: Any, at: datetime | ColumnElement[Any]
) -> Select[Any]:
    """SQL twin of :func:`hub.domain.certificates.signing_certificate`: the certificate the
    owner (``owner`` is ``SigningCertificate.staff_id`` or ``.school_id``) signs with."""
    return (
        select(SigningCertificate)
        .where(owner == owner_id, certificate_valid_at(at))
        .order_by(*SIGNING_CERTIFICATE_ORDER)
        .limit(1)
    )


def signing_certificate_id(
    owner: Any, owner_id: Any, at: datetime | ColumnElement[Any]
) -> ScalarSelect[Any]:
    """The id of :func:`signing_certificate_query`'s certificate, as a subquery: for a
    query that reads the owner and joins their certificate (``owner_id`` a column of it)."""
    return (
        signing_certificate_query(owner, owner_id, at)
        .with_only_columns(SigningCertificate.id)
        .scalar_subquery()
    )


def awaits_publication() -> ColumnElement[bool]:
    """SQL twin of :func:`hub.domain.lifecycle.awaits_publication`: the current version, sealed."""
    return and_(
        Transcript.state == TranscriptState.SEALED.value,
        Transcript.is_current.is_(True),
    )


class _YearListed(FunctionElement[bool]):
    """``documents`` (a consent's JSON) lists the school year ``code`` under
    ``schoolYears`` (:func:`hub.domain.consent.school_years_of`)."""

    type = Boolean()
    name = "year_listed"
    inherit_cache = True


@compiles(_YearListed, "postgresql")
def _year_listed_postgresql(element: _YearListed, compiler: SQLCompiler, **kw: Any) -> str:
    documents, code = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({documents} AS jsonb) -> 'schoolYears') @> to_jsonb(CAST({code} AS text))"


@compiles(_YearListed)
def _year_listed_sqlite(element: _YearListed, compiler: SQLCompiler, **kw: Any) -> str:
    documents, code = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({documents}, '$.schoolYears') AS listed "
        f"WHERE listed.value = {code})"
    )


def consents_in_force(recipient: str, at: datetime) -> Select[*tuple[Any, ...]]:
    """SQL twin of :func:`hub.domain.consent.is_valid`: ``(consent_id, student_id,
    school_year_id)`` of every consent letting ``recipient`` read a pupil's transcript
    of a school year at ``at`` — not revoked by then, in its period, the pupil's
    agreement given where their age asks it (born on or before the cutoff, or no
    birth date known).

    Fresh aliases each call, so the statement never correlates with the same tables
    of a statement it is nested in. Tested against its twin in
    ``tests/e2e/test_consents.py`` (the consent rows live with that module's family).
    """
    at = as_utc(at)  # SQLite compares the stored UTC wall time
    consent, pupil, year = aliased(Consent), aliased(Student), aliased(SchoolYear)
    cutoff = agreement_cutoff(day_in_vietnam(at))
    return (
        select(
            consent.id.label("consent_id"),
            consent.student_id.label("student_id"),
            year.id.label("school_year_id"),
        )
        .join(pupil, pupil.id == consent.student_id)
        .join(year, _YearListed(consent.documents, year.code))
        .where(
            consent.recipient == recipient,
            or_(consent.revoked_at.is_(None), consent.revoked_at > at),
            consent.valid_from <= at,
            consent.valid_until > at,
            or_(consent.pupil_agreed_at <= at, pupil.birth_date > cutoff),
        )
    )


def consent_in_force(
    recipient: str, at: datetime, *, student_id: Any, school_year_id: Any
) -> ColumnElement[bool]:
    """Whether a consent lets ``recipient`` read the transcript of ``school_year_id``
    of the pupil ``student_id`` at ``at`` (columns or values; :func:`consents_in_force`)."""
    found = consents_in_force(recipient, at).subquery()
    return exists().where(
        found.c.student_id == student_id, found.c.school_year_id == school_year_id
    )
